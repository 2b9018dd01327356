# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of the hot-plug monitor: parsing, coalescing, publication, notifications.

Sysfs is replaced by Snapshot objects here (scan() has its own tests); real kernel uevents and
fixture trees are exercised in tests/integration/monitor/.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import socket
import threading
import time

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _monitor
from ansible_collections.hyperv.netvsc.plugins.module_utils._scan import Snapshot

MAC1, MAC2 = "00:0d:3a:03:1e:b1", "00:0d:3a:03:1e:b2"
GUID1, GUID2 = "000d3a03-1eb1-000d-3a03-1eb1000d3a03", "000d3a03-1eb2-000d-3a03-1eb2000d3a03"


# -- helpers ----------------------------------------------------------------------------------

def vf(name, pci, mac, kind="mlx5"):
    return {"name": name, "mac": mac, "pci_address": pci, "kind": kind, "driver": "mlx5_core",
            "master": None, "paired_by": "mac"}


def snapshot(*netvscs):
    """netvscs: (name, mac, guid, vf dict or None)."""
    interfaces = {}
    for name, mac, guid, the_vf in netvscs:
        interfaces[name or guid] = {"name": name, "mac": mac, "vmbus_id": guid, "vf": the_vf,
                                    "driver": "hv_netvsc"}
    return Snapshot(True, interfaces, [], {}, [])


def declare(config_dir, pair_id, mac, guid, name):
    data = {"driver": "hv_netvsc", "force": False, "format": 1, "id": pair_id,
            "netvsc": {"mac": mac, "name": name, "vmbus_id": guid}, "require_vf": False}
    with open(os.path.join(str(config_dir), pair_id + ".json"), "w") as handle:
        json.dump(data, handle)


class Scans:
    """Stands in for _scan.scan: returns whatever snapshot the test sets."""

    def __init__(self):
        self.current = snapshot()
        self.calls = []

    def __call__(self, root, known_macs=None, with_addresses=True):
        self.calls.append((root, dict(known_macs or {}), with_addresses))
        return self.current


@pytest.fixture
def env(tmp_path, monkeypatch):
    config, state = tmp_path / "pairs.d", tmp_path / "state"
    config.mkdir()
    scans = Scans()
    monkeypatch.setattr(_monitor, "scan", scans)
    stream = io.StringIO()
    log = _monitor.Log(verbose=True, stream=stream, journal=False)

    class Env:
        pass
    e = Env()
    e.config, e.state, e.scans, e.stream = config, state, scans, stream
    e.textfile = str(tmp_path / "metrics" / "netvsc.prom")
    os.mkdir(os.path.dirname(e.textfile))

    def make(resync=0, uevents=None, environ=None):
        publisher = _monitor.Publisher(str(state), e.textfile)
        return _monitor.Monitor("/fake/sys", str(config), publisher, log, resync_interval=resync,
                                uevents=uevents, environ=environ or {})
    e.make = make
    e.read = lambda name: (state / name).read_text()
    return e


# -- uevent parsing ---------------------------------------------------------------------------

KERNEL_ADD = (b"add@/devices/virtual/net/veth0\0ACTION=add\0DEVPATH=/devices/virtual/net/veth0\0"
              b"SUBSYSTEM=net\0INTERFACE=veth0\0IFINDEX=7\0SEQNUM=4242\0")


def test_parse_kernel_uevent():
    event = _monitor.parse_uevent(KERNEL_ADD)
    assert event == {"ACTION": "add", "DEVPATH": "/devices/virtual/net/veth0", "SUBSYSTEM": "net",
                     "INTERFACE": "veth0", "IFINDEX": "7", "SEQNUM": "4242"}
    assert _monitor.wants_rescan(event)


def test_parse_takes_action_from_header_when_missing():
    event = _monitor.parse_uevent(b"remove@/devices/pci0000:00/0000:00:02.0\0SUBSYSTEM=pci\0")
    assert event["ACTION"] == "remove" and event["DEVPATH"] == "/devices/pci0000:00/0000:00:02.0"
    assert _monitor.wants_rescan(event)


@pytest.mark.parametrize("data", [
    b"libudev\0\xfe\xed\xca\xfe" + KERNEL_ADD,  # udev's re-broadcast, binary header
    b"garbage without header\0SUBSYSTEM=net\0",
    b"",
])
def test_parse_ignores_udev_and_junk(data):
    assert _monitor.parse_uevent(data) is None


@pytest.mark.parametrize("action,subsystem,wanted", [
    ("add", "net", True), ("remove", "net", True), ("move", "net", True),
    ("add", "pci", True), ("remove", "pci", True), ("change", "net", False),
    ("bind", "pci", False), ("add", "queues", False), ("add", "block", False),
])
def test_wants_rescan(action, subsystem, wanted):
    assert _monitor.wants_rescan({"ACTION": action, "SUBSYSTEM": subsystem}) is wanted


# -- socket draining and coalescing -----------------------------------------------------------

def uevent_pair():
    reader, writer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    return _monitor.UeventSocket(reader), writer


def msg(action, subsystem, name="x"):
    return ("%s@/devices/%s\0ACTION=%s\0SUBSYSTEM=%s\0" % (action, name, action, subsystem)).encode()


def test_collect_burst_keeps_relevant_events_and_counts_all():
    uevents, writer = uevent_pair()
    for data in (msg("add", "net"), msg("add", "queues"), b"libudev\0junk", msg("remove", "pci")):
        writer.send(data)
    relevant, overflowed, total = uevents.collect_burst(quiet=0.001)
    assert [e["ACTION"] for e in relevant] == ["add", "remove"]
    assert total == 3 and not overflowed


def test_collect_burst_coalesces_a_spread_out_burst():
    uevents, writer = uevent_pair()

    def send():
        for i in range(10):
            writer.send(msg("add", "net", "v%d" % i))
            time.sleep(0.002)
    sender = threading.Thread(target=send)
    writer.send(msg("add", "pci"))
    sender.start()
    relevant = uevents.collect_burst(quiet=0.02, limit=2.0)[0]
    sender.join()
    assert len(relevant) == 11  # one rescan for the whole burst


def test_collect_burst_is_bounded_under_a_storm():
    uevents, writer = uevent_pair()
    stop = threading.Event()

    def storm():
        while not stop.is_set():
            try:
                writer.send(msg("add", "net"))
            except OSError:
                pass
            time.sleep(0.0005)
    sender = threading.Thread(target=storm)
    sender.start()
    try:
        start = time.monotonic()
        relevant = uevents.collect_burst(quiet=0.01, limit=0.05)[0]
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        sender.join()
    assert relevant and elapsed < 0.5


class OverflowingSocket:
    """recv() fails once with ENOBUFS, as a netlink socket does after the kernel drops events."""

    def __init__(self):
        self.calls = 0

    def setblocking(self, flag):
        pass

    def recv(self, size):
        self.calls += 1
        if self.calls == 1:
            raise OSError(errno.ENOBUFS, "No buffer space available")
        if self.calls == 2:
            return msg("add", "net")
        raise BlockingIOError()


def test_drain_reports_enobufs_and_keeps_reading():
    events, overflowed = _monitor.UeventSocket(OverflowingSocket()).drain()
    assert overflowed and len(events) == 1


def test_enobufs_triggers_a_resync(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    monitor = env.make(uevents=_monitor.UeventSocket(OverflowingSocket()))
    monitor.start()
    resyncs = monitor.counters["resyncs"]
    monitor.uevents.collect_burst = lambda: ([], True, 0)
    assert monitor._handle_uevents()
    assert monitor.counters["resyncs"] == resyncs + 1 and monitor.counters["overflows"] == 1
    assert "ENOBUFS" in env.stream.getvalue()


# -- publication and transitions --------------------------------------------------------------

def test_publishes_empty_file_then_one_line_then_empty(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    monitor = env.make()
    monitor.start()
    assert env.read("eth1.vf") == ""  # no VF: empty, never a placeholder

    env.scans.current = snapshot(("eth1", MAC1, GUID1, vf("enP1s2", "a2a3:00:02.0", MAC1)))
    monitor.rescan("uevent")
    assert env.read("eth1.vf") == "a2a3:00:02.0\n"

    env.scans.current = snapshot(("eth1", MAC1, GUID1, None))
    monitor.rescan("uevent")
    assert env.read("eth1.vf") == ""
    log = env.stream.getvalue()
    assert "VF enP1s2 arrived at a2a3:00:02.0" in log and "VF enP1s2 departed" in log


def test_move_to_new_pci_address_and_mana_argument(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    declare(env.config, "mana0", MAC2, GUID2, "eth2")
    env.scans.current = snapshot(("eth1", MAC1, GUID1, vf("enP1s2", "a2a3:00:02.0", MAC1)),
                                 ("eth2", MAC2, GUID2, vf("enP7s0", "7870:00:00.0", MAC2, "mana")))
    monitor = env.make()
    monitor.start()
    assert env.read("mana0.vf") == "7870:00:00.0,mac=%s\n" % MAC2
    changed_at = monitor.pairs["eth1"]["changed_at"]
    time.sleep(0.01)
    env.scans.current = snapshot(("eth1", MAC1, GUID1, vf("enP9s2", "b1b1:00:02.0", MAC1)),
                                 ("eth2", MAC2, GUID2, vf("enP7s0", "7870:00:00.0", MAC2, "mana")))
    monitor.rescan("uevent")
    assert env.read("eth1.vf") == "b1b1:00:02.0\n"
    state = json.loads(env.read("state.json"))
    pair = state["pairs"]["eth1"]
    assert pair["vf"] == "b1b1:00:02.0" and pair["vf_name"] == "enP9s2" and pair["changes"] == 2
    assert pair["changed_at"] > changed_at and pair["kind"] == "mlx5" and pair["netvsc"] == "eth1"
    assert state["pairs"]["mana0"]["changes"] == 1  # unchanged since its arrival at start
    assert state["format"] == 1 and state["counters"]["rescans"] == 2
    assert "moved from a2a3:00:02.0 to b1b1:00:02.0" in env.stream.getvalue()


@pytest.mark.parametrize("bad", [
    vf("enP1s2", "A2A3:00:02.0", MAC1),          # uppercase
    vf("enP1s2", "00:02.0", MAC1),               # no domain
    vf("enP1s2", None, MAC1),                    # unreadable
    vf("enP1s2", "a2a3:00:02.0\nrm -rf /", MAC1),
    vf("enP1s2", "7870:00:00.0", None, "mana"),  # MANA without a MAC
])
def test_only_strictly_valid_values_are_published(env, bad):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    env.scans.current = snapshot(("eth1", MAC1, GUID1, bad))
    monitor = env.make()
    monitor.start()
    assert env.read("eth1.vf") == ""
    assert json.loads(env.read("state.json"))["pairs"]["eth1"]["vf"] is None
    assert "not published" in env.stream.getvalue()


def test_netvsc_found_by_guid_when_netdev_is_gone(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    env.scans.current = snapshot((None, MAC1, GUID1, vf("enP1s2", "a2a3:00:02.0", MAC1)))
    monitor = env.make()
    monitor.start()
    assert env.read("eth1.vf") == "a2a3:00:02.0\n"
    assert env.scans.calls[0] == ("/fake/sys", {GUID1: MAC1}, False)


def test_identifies_netvsc_by_mac_not_name(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    env.scans.current = snapshot(("eth1", MAC2, GUID2, vf("x", "a2a3:00:02.0", MAC2)),
                                 ("renamed", MAC1, GUID1, vf("y", "b1b1:00:02.0", MAC1)))
    monitor = env.make()
    monitor.start()
    assert env.read("eth1.vf") == "b1b1:00:02.0\n"
    assert monitor.pairs["eth1"]["netvsc"] == "renamed"


def test_mac_of_one_netvsc_and_guid_of_another_publishes_nothing(env):
    declare(env.config, "eth1", MAC1, GUID2, "eth1")
    env.scans.current = snapshot(("eth1", MAC1, GUID1, vf("x", "a2a3:00:02.0", MAC1)),
                                 ("eth2", MAC2, GUID2, vf("y", "b1b1:00:02.0", MAC2)))
    monitor = env.make()
    monitor.start()
    assert env.read("eth1.vf") == ""
    assert "designates 2 NetVSCs: eth1 (by MAC), eth2 (by VMBus GUID)" in env.stream.getvalue()


def test_restart_carries_history_and_republishes(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    env.scans.current = snapshot(("eth1", MAC1, GUID1, vf("enP1s2", "a2a3:00:02.0", MAC1)))
    env.make().start()
    (env.state / "eth1.vf").write_text("stale:garbage\n")  # e.g. killed mid-way by hand
    again = env.make()
    again.start()
    assert env.read("eth1.vf") == "a2a3:00:02.0\n"
    assert again.pairs["eth1"]["changes"] == 1  # same VF as before the restart: no new change


def test_textfile_format(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    declare(env.config, "eth2", MAC2, GUID2, "eth2")
    env.scans.current = snapshot(("eth1", MAC1, GUID1, vf("enP1s2", "a2a3:00:02.0", MAC1)),
                                 ("eth2", MAC2, GUID2, None))
    monitor = env.make()
    monitor.start()
    text = open(env.textfile).read()
    assert text.endswith("\n")
    lines = text.splitlines()
    for name, kind in (("netvsc_vf_present", "gauge"), ("netvsc_vf_changes_total", "counter"),
                       ("netvsc_monitor_last_event_timestamp_seconds", "gauge"),
                       ("netvsc_monitor_resyncs_total", "counter")):
        assert "# TYPE %s %s" % (name, kind) in lines
        assert any(line.startswith("# HELP %s " % name) for line in lines)
    assert 'netvsc_vf_present{pair="eth1",netvsc="eth1"} 1' in lines
    assert 'netvsc_vf_present{pair="eth2",netvsc="eth2"} 0' in lines
    assert 'netvsc_vf_changes_total{pair="eth1",netvsc="eth1"} 1' in lines
    assert "netvsc_monitor_resyncs_total 1" in lines
    assert "netvsc_monitor_last_event_timestamp_seconds 0.000" in lines
    samples = [line for line in lines if not line.startswith("#")]
    assert all(len(line.rsplit(" ", 1)) == 2 for line in samples)


def test_textfile_label_escaping():
    text = _monitor.render_textfile({"a": {"netvsc": 'we"ird\\', "vf": None, "changes": 0, "status": "no_vf"}},
                                    {"resyncs": 0, "declaration_errors": 0, "errors": 0, "publish_errors": 0}, 0)
    assert 'netvsc_vf_present{pair="a",netvsc="we\\"ird\\\\"} 0' in text


# -- declarations -----------------------------------------------------------------------------

def test_malformed_declaration_is_skipped_and_reload_removes_undeclared(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    declare(env.config, "eth2", MAC2, GUID2, "eth2")
    (env.config / "broken.json").write_text("{not json")
    env.scans.current = snapshot(("eth1", MAC1, GUID1, vf("enP1s2", "a2a3:00:02.0", MAC1)),
                                 ("eth2", MAC2, GUID2, None))
    monitor = env.make()
    monitor.start()
    assert "skipping declaration" in env.stream.getvalue() and "broken.json" in env.stream.getvalue()
    assert env.read("eth1.vf") == "a2a3:00:02.0\n" and env.read("eth2.vf") == ""
    assert monitor.counters["declaration_errors"] == 1

    os.unlink(str(env.config / "eth2.json"))
    monitor.load_declarations()
    monitor.rescan("reload", resync=True)
    assert not (env.state / "eth2.vf").exists()
    assert set(json.loads(env.read("state.json"))["pairs"]) == {"eth1"}
    assert env.read("eth1.vf") == "a2a3:00:02.0\n"


def test_stale_vf_files_removed_at_start_but_not_other_files(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    env.state.mkdir()
    (env.state / "gone.vf").write_text("a2a3:00:02.0\n")
    (env.state / "README").write_text("keep")
    env.make().start()
    assert not (env.state / "gone.vf").exists() and (env.state / "README").exists()


# -- unwritable state dir ---------------------------------------------------------------------

def test_unwritable_state_dir_fails_before_writing(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = tmp_path / "pairs.d"
    config.mkdir()
    declare(config, "eth1", MAC1, GUID1, "eth1")
    code = _monitor.main(["--once", "--sysfs-root", str(tmp_path / "nosys"), "--config-dir",
                          str(config), "--state-dir", str(blocker / "state")])
    assert code == 1
    assert "cannot create state directory" in capsys.readouterr().err
    assert sorted(os.listdir(str(tmp_path))) == ["file", "pairs.d"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_state_dir_fails_with_no_partial_files(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    env.state.mkdir(mode=0o555)
    with pytest.raises(_monitor.MonitorError, match="not writable"):
        env.make().start()
    assert os.listdir(str(env.state)) == []


def test_once_cli_runs_a_real_scan_and_prints_what_changed(tmp_path, capsys):
    config = tmp_path / "pairs.d"
    config.mkdir()
    declare(config, "eth1", MAC1, GUID1, "eth1")
    state = tmp_path / "state"
    argv = ["--once", "--sysfs-root", str(tmp_path / "empty"), "--config-dir", str(config),
            "--state-dir", str(state)]
    assert _monitor.main(argv) == 0
    assert (state / "eth1.vf").read_text() == ""
    assert json.loads(capsys.readouterr().out) == {
        "published": ["eth1"], "removed": [], "status": "1 pair, 0 with VF"}
    assert _monitor.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["published"] == []
    (config / "eth1.json").unlink()
    assert _monitor.main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {
        "published": [], "removed": ["eth1"], "status": "0 pairs, 0 with VF"}
    assert not (state / "eth1.vf").exists()


# -- logging and systemd ----------------------------------------------------------------------

def test_log_levels_journal_and_plain():
    stream = io.StringIO()
    _monitor.Log(stream=stream, journal=True)("notice", "VF %s departed", "x")
    _monitor.Log(stream=stream, journal=False)("err", "boom")
    _monitor.Log(stream=stream, journal=False)("debug", "hidden")
    assert stream.getvalue() == "<5>VF x departed\nnetvsc-monitor err: boom\n"


@pytest.fixture
def notify_socket(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def test_sd_notify_path_and_abstract(notify_socket):
    sock, path = notify_socket
    assert _monitor.sd_notify("READY=1\nSTATUS=x", {"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=x"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = "netvsc-test-%d" % os.getpid()
    abstract.bind("\0" + name)
    abstract.settimeout(5)
    try:
        assert _monitor.sd_notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert abstract.recv(4096) == b"WATCHDOG=1"
    finally:
        abstract.close()
    assert not _monitor.sd_notify("READY=1", {})


def test_watchdog_interval():
    assert _monitor.watchdog_interval({"WATCHDOG_USEC": "2000000"}) == 1.0
    assert _monitor.watchdog_interval({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}) is None
    assert _monitor.watchdog_interval({"WATCHDOG_USEC": "2000000",
                                       "WATCHDOG_PID": str(os.getpid())}) == 1.0
    assert _monitor.watchdog_interval({}) is None


def test_loop_notifies_rescans_reloads_and_stops(env, notify_socket):
    sock, path = notify_socket
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    uevents, writer = uevent_pair()
    # Pings every 200 ms (half of WATCHDOG_USEC): soon enough to wait for one, rare enough
    # that a reader starved under load does not overflow the datagram queue
    # (net.unix.max_dgram_qlen is often 10, and sd_notify drops what does not fit).
    monitor = env.make(uevents=uevents, environ={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    monitor.start()
    received = []

    def wait_for(done):
        received.append(sock.recv(4096))
        while not done(received[-1]):
            received.append(sock.recv(4096))

    def drive():
        # A WATCHDOG=1 ping may come between any two messages, whenever its deadline passes
        # (a loaded machine makes that likely): each wait skips over them.
        try:
            wait_for(lambda m: m == b"WATCHDOG=1")  # READY=1 first, then the loop pings
            env.scans.current = snapshot(("eth1", MAC1, GUID1, vf("enP1s2", "a2a3:00:02.0", MAC1)))
            writer.send(msg("add", "net"))
            wait_for(lambda m: b"1 with VF" in m)
            declare(env.config, "eth2", MAC2, GUID2, "eth2")
            os.kill(os.getpid(), signal.SIGHUP)
            wait_for(lambda m: b"2 pairs" in m)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # never leave loop() waiting, even on a timeout
        wait_for(lambda m: m == b"STOPPING=1")
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    driver = threading.Thread(target=drive)
    driver.start()
    try:
        monitor.loop()
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(-1)
        driver.join(10)
    assert not driver.is_alive()
    # loop() has returned: nothing, not even a ping, may follow STOPPING=1.
    sock.setblocking(False)
    late = []
    while True:
        try:
            late.append(sock.recv(4096))
        except BlockingIOError:
            break
    assert received[-1] == b"STOPPING=1" and late == [], (received, late)
    # The watchdog is pinged (WATCHDOG_USEC asks for it), and always on its own...
    assert received.count(b"WATCHDOG=1") >= 1
    # ...so leaving the pings out gives the exact sequence of everything else.
    assert [m for m in received if m != b"WATCHDOG=1"] == [
        b"READY=1\nSTATUS=1 pair, 0 with VF",
        b"STATUS=1 pair, 1 with VF",  # the uevent's rescan
        b"RELOADING=1",  # SIGHUP: reloading...
        b"READY=1",  # ...done,
        b"STATUS=2 pairs, 1 with VF",  # with the new declaration
        b"STOPPING=1",  # SIGTERM
    ], received
    assert env.read("eth1.vf") == "a2a3:00:02.0\n" and env.read("eth2.vf") == ""
    assert monitor.last_event > 0


def test_leftover_temporary_files_are_removed_at_start(env):
    declare(env.config, "eth1", MAC1, GUID1, "eth1")
    env.state.mkdir()
    for name in (".eth1.vf.abc123", ".state.json.x1", ".probe.zz", ".keepme"):
        (env.state / name).write_text("partial")
    env.make().start()
    assert sorted(os.listdir(str(env.state))) == [".keepme", "eth1.vf", "state.json"]


def test_sd_notify_never_blocks_on_a_full_queue(notify_socket):
    _sock, path = notify_socket  # nobody reads it
    start = time.monotonic()
    results = [_monitor.sd_notify("STATUS=%d" % i, {"NOTIFY_SOCKET": path}) for i in range(2000)]
    assert time.monotonic() - start < 5
    assert results[0] and not results[-1]  # the queue filled up; later messages were dropped
