# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor fails closed: hostile declarations and state files, contained errors, withdrawal.

`--once` runs on the cx5_4nic fixture tree (real scan); the malformed-declaration suite of
tests/fixtures/declarations.py sits next to a valid pairing that must keep its VF. The running
monitor after SIGHUP, with real uevents, is in tests/integration/monitor/.
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _monitor, _scan
from ansible_collections.hyperv.netvsc.tests.fixtures.declarations import (
    GOOD, MALFORMED, NEEDS_ROOT, OTHER_GUID, OTHER_MAC, conflicting, write_good)
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import CASES, build

ETH1_VF = "a2a3:00:02.0\n"  # eth1's VF in cx5_4nic


class Host:
    def __init__(self, tmp_path):
        self.root = build(CASES["cx5_4nic"], str(tmp_path / "sys"))
        self.config = tmp_path / "pairs.d"
        self.config.mkdir()
        write_good(self.config)
        self.state = tmp_path / "state"
        self.textfile = tmp_path / "metrics" / "netvsc.prom"
        self.textfile.parent.mkdir()

    def argv(self, *extra):
        return ["--sysfs-root", self.root, "--config-dir", str(self.config), "--state-dir",
                str(self.state), "--textfile", str(self.textfile)] + list(extra)

    def once(self, capsys):
        code = _monitor.main(self.argv("--once"))
        out, err = capsys.readouterr()
        return code, (json.loads(out) if out else None), err

    def read(self, name):
        return (self.state / name).read_text()

    def state_json(self):
        return json.loads(self.read("state.json"))

    def metrics(self):
        return self.textfile.read_text().splitlines()


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


def declare_eth2(config):
    data = dict(GOOD, id="eth2", netvsc={"mac": OTHER_MAC, "name": "eth2", "vmbus_id": OTHER_GUID})
    (config / "eth2.json").write_text(json.dumps(data))


def plant(host, case):
    if case in NEEDS_ROOT and os.geteuid() != 0:
        pytest.skip("needs root to plant a file owned by another user")
    return MALFORMED[case](str(host.config))


# -- the malformed-declaration suite ---------------------------------------------------------

@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_once_skips_each_malformed_file_and_keeps_the_valid_pairing(host, capsys, case):
    fragment = plant(host, case)
    code, out, err = host.once(capsys)
    assert code == 0, err
    assert "Traceback" not in err
    assert host.read("dpdk0.vf") == ETH1_VF
    assert "skipping declaration" in err and fragment in err
    state = host.state_json()
    assert sorted(state["pairs"]) == ["dpdk0"]
    assert [msg for msg in state["invalid_declarations"].values() if fragment in msg]
    assert "netvsc_monitor_invalid_declarations 1" in host.metrics()
    assert out["status"] == "1 pair, 1 with VF, 1 invalid declaration"


def test_an_invalid_file_keeps_its_vf_file_empty_instead_of_removing_it(host, capsys):
    declare_eth2(host.config)
    assert host.once(capsys)[0] == 0
    assert host.read("eth2.vf").endswith(":00:02.0\n")
    (host.config / "eth2.json").write_text('{"format": 1, "id": "eth2"}')  # now broken
    code, out, _err = host.once(capsys)
    assert code == 0 and host.read("eth2.vf") == "" and out["published"] == ["eth2"]
    assert out["removed"] == [] and host.read("dpdk0.vf") == ETH1_VF


def test_a_conflicting_declaration_is_published_empty_and_reported(host, capsys):
    conflicting(str(host.config))
    code, _out, err = host.once(capsys)
    assert code == 0
    assert host.read("conflict.vf") == "" and host.read("dpdk0.vf") == ETH1_VF
    assert ("conflict: pairing conflict: MAC 00:0d:3a:03:1e:b1 and VMBus GUID "
            "000d3a03-18c9-000d-3a03-18c9000d3a03 designates 2 NetVSCs: eth1 (by MAC), eth2 (by VMBus GUID)") in err
    pair = host.state_json()["pairs"]["conflict"]
    assert pair["status"] == "conflicting" and pair["vf"] is None
    assert 'netvsc_pair_conflicting{pair="conflict",netvsc="eth1"} 1' in host.metrics()
    assert 'netvsc_pair_conflicting{pair="dpdk0",netvsc="eth1"} 0' in host.metrics()


def test_an_untrusted_config_dir_publishes_nothing(host, capsys):
    assert host.once(capsys)[0] == 0 and host.read("dpdk0.vf") == ETH1_VF
    os.chmod(str(host.config), 0o777)
    code, out, err = host.once(capsys)
    assert code == 0 and out["removed"] == ["dpdk0"]
    assert "writable by its group or by others" in err
    assert not (host.state / "dpdk0.vf").exists()


# -- the state directory ---------------------------------------------------------------------

def test_a_fifo_planted_as_a_vf_file_never_blocks_and_is_replaced(host, capsys):
    host.state.mkdir()
    os.mkfifo(str(host.state / "dpdk0.vf"))
    result = []
    runner = threading.Thread(target=lambda: result.append(host.once(capsys)))
    runner.daemon = True
    runner.start()
    runner.join(20)
    assert not runner.is_alive(), "the monitor blocked on a FIFO"
    assert result[0][0] == 0 and host.read("dpdk0.vf") == ETH1_VF


@pytest.mark.parametrize("target", ["/dev/zero", "/etc/hostname"])
def test_a_symlinked_state_json_is_not_read_and_is_replaced(host, capsys, target):
    host.state.mkdir()
    os.symlink(target, str(host.state / "state.json"))
    code, _out, err = host.once(capsys)
    assert code == 0
    assert "not carrying history from state.json" in err and "symbolic link" in err
    assert not os.path.islink(str(host.state / "state.json")) and host.state_json()["pairs"]


def test_a_huge_state_json_is_not_read(host, capsys):
    host.state.mkdir()
    (host.state / "state.json").write_text(" " * (_monitor.STATE_MAX_BYTES + 1))
    code, _out, err = host.once(capsys)
    assert code == 0 and "more than the" in err


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o1777])
def test_a_state_dir_others_may_write_is_refused_before_any_write(host, capsys, mode):
    host.state.mkdir()
    os.chmod(str(host.state), mode)
    (host.state / "dpdk0.vf").write_text("dead:00:02.0\n")
    code, out, err = host.once(capsys)
    assert code == 1 and out is None
    assert "refusing the state directory" in err and "writable by its group or by others" in err
    assert sorted(os.listdir(str(host.state))) == ["dpdk0.vf"]
    assert not host.textfile.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_a_state_dir_of_another_user_is_refused(host, capsys):
    host.state.mkdir()
    os.chown(str(host.state), 4242, 4242)
    code, _out, err = host.once(capsys)
    assert code == 1 and "is owned by uid 4242, not by root or uid 0" in err
    assert os.listdir(str(host.state)) == []


def test_leftover_temporary_files_are_removed_in_the_state_and_metrics_dirs(host, capsys):
    host.state.mkdir()
    leftovers = [host.state / ".dpdk0.vf.abc123", host.state / ".state.json.x1", host.state / ".probe.y",
                 host.textfile.parent / ".netvsc.prom.k2j3", host.textfile.parent / ".probe.z"]
    keep = [host.textfile.parent / ".other.prom.k2j3", host.textfile.parent / "node.prom"]
    for path in leftovers + keep:
        path.write_text("x")
    assert host.once(capsys)[0] == 0
    assert [p for p in leftovers if p.exists()] == []
    assert all(p.exists() for p in keep)


# -- containment -----------------------------------------------------------------------------

@pytest.fixture
def monitor(host, monkeypatch):
    stream = io.StringIO()
    log = _monitor.Log(verbose=True, stream=stream, journal=False)
    made = _monitor.Monitor(host.root, str(host.config), _monitor.Publisher(str(host.state)), log)
    made.stream = stream
    return made


def test_an_unexpected_error_in_one_pairing_is_contained(host, monitor, monkeypatch):
    declare_eth2(host.config)
    real = _monitor.decide

    def decide(declaration, snapshot):
        if declaration["id"] == "dpdk0":
            raise KeyError("surprise")
        return real(declaration, snapshot)
    monkeypatch.setattr(_monitor, "decide", decide)
    monitor.start()
    assert monitor.pairs["dpdk0"]["status"] == "error" and (host.state / "dpdk0.vf").read_text() == ""
    assert monitor.counters["errors"] == 1
    assert (host.state / "eth2.vf").read_text().endswith(":00:02.0\n")  # the others keep working
    logs = monitor.stream.getvalue()
    assert "unexpected error while deciding pairing dpdk0: KeyError: 'surprise' (at test_monitor_failclosed.py:" in logs
    assert "Traceback" not in logs


def test_a_scan_that_raises_publishes_no_vf_and_the_next_scan_recovers(host, monitor, monkeypatch):
    monitor.start()
    assert (host.state / "dpdk0.vf").read_text() == ETH1_VF

    def broken(*_args, **_kwargs):
        raise MemoryError("no memory")
    monkeypatch.setattr(_monitor, "scan", broken)
    monitor.rescan("uevent")
    assert (host.state / "dpdk0.vf").read_text() == ""
    assert "unexpected error while scanning" in monitor.stream.getvalue()
    monkeypatch.setattr(_monitor, "scan", _scan.scan)
    monitor.rescan("uevent")
    assert (host.state / "dpdk0.vf").read_text() == ETH1_VF


def test_a_vf_file_that_cannot_be_written_is_removed(host, monitor, monkeypatch):
    monitor.start()
    real = _monitor.write_atomic

    def failing(path, data, mode=0o644):
        if path.endswith("dpdk0.vf"):
            raise OSError(28, "No space left on device")
        return real(path, data, mode)
    monkeypatch.setattr(_monitor, "write_atomic", failing)
    monitor.withdraw()
    assert not (host.state / "dpdk0.vf").exists()  # a missing file reads as no VF
    assert "cannot write %s/dpdk0.vf: No space left on device" % host.state in monitor.stream.getvalue()


def test_old_addresses_are_withdrawn_before_the_first_scan(host, monitor, monkeypatch):
    host.state.mkdir()
    (host.state / "dpdk0.vf").write_text("dead:00:02.0\n")
    seen = []
    real = _monitor.scan

    def scan(*args, **kwargs):
        seen.append((host.state / "dpdk0.vf").read_text())
        raise RuntimeError("the first scan dies")
    monkeypatch.setattr(_monitor, "scan", scan)
    monitor.start()
    assert seen == [""] and (host.state / "dpdk0.vf").read_text() == ""
    monkeypatch.setattr(_monitor, "scan", real)


def test_signal_handlers_are_installed_before_the_first_publication(host, monkeypatch):
    handlers = []
    real = _monitor.Publisher.publish_pairs

    def publish(self, args):
        handlers.append(signal.getsignal(signal.SIGTERM))
        return real(self, args)
    monkeypatch.setattr(_monitor.Publisher, "publish_pairs", publish)
    previous = signal.getsignal(signal.SIGTERM)
    made = _monitor.Monitor(host.root, str(host.config), _monitor.Publisher(str(host.state)),
                            _monitor.Log(stream=io.StringIO(), journal=False), uevents=object())
    try:
        made.start()
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.set_wakeup_fd(-1)
    assert handlers and all(callable(h) and h not in (signal.SIG_DFL, signal.SIG_IGN) for h in handlers)


# -- withdrawal ------------------------------------------------------------------------------

def test_clear_withdraws_every_address_and_keeps_history(host, capsys):
    assert host.once(capsys)[0] == 0
    (host.state / "undeclared.vf").write_text("b1b1:00:02.0\n")
    assert _monitor.main(host.argv("--clear")) == 0
    assert host.read("dpdk0.vf") == "" and host.read("undeclared.vf") == ""
    pair = host.state_json()["pairs"]["dpdk0"]
    assert pair["vf"] is None and pair["status"] == "stopped" and pair["changes"] == 2
    assert 'netvsc_vf_present{pair="dpdk0",netvsc="eth1"} 0' in host.metrics()
    # the next start publishes again and counts the VF's return
    assert host.once(capsys)[0] == 0 and host.read("dpdk0.vf") == ETH1_VF
    assert host.state_json()["pairs"]["dpdk0"]["changes"] == 3


def test_clear_without_a_state_dir_creates_nothing(host):
    assert _monitor.main(host.argv("--clear")) == 0
    assert not host.state.exists()


def test_clear_refuses_an_untrusted_state_dir(host, capsys):
    host.state.mkdir()
    os.chmod(str(host.state), 0o777)
    (host.state / "dpdk0.vf").write_text("dead:00:02.0\n")
    assert _monitor.main(host.argv("--clear")) == 1
    assert "refusing the state directory" in capsys.readouterr().err
    assert host.read("dpdk0.vf") == "dead:00:02.0\n"  # not ours to touch
