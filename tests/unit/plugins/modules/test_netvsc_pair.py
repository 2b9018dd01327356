# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netvsc_pair through the real AnsibleModule entry point, on fixture sysfs trees.

Commands (modprobe, driverctl) are replaced at AnsibleModule.run_command/get_bin_path only;
sysfs writes land in the tree's plain bind/unbind/new_id files, which the tests read back.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _declarations, _binding, _vfpolicy
from ansible_collections.hyperv.netvsc.plugins.modules import netvsc_pair
from ansible_collections.hyperv.netvsc.tests.unit.plugins.modules.utils import run_module
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import (
    CASES, build, case_addresses, write_simulated_network)

ETH1_MAC = "00:0d:3a:03:1e:b1"
ETH1_GUID = "000d3a03-1eb1-000d-3a03-1eb1000d3a03"
ETH1_ID = "000d3a031eb1"
DRIVER_FILES = ("bind", "unbind", "new_id")


# -- harness ----------------------------------------------------------------------------------

@pytest.fixture
def commands(fake_commands):
    """The shared fake command runner (fixture fake_commands, tests/conftest.py)."""
    return fake_commands


@pytest.fixture
def real_system(monkeypatch, commands):
    """The fixture tree stands for the real /sys: driverctl and modprobe "run" (the doubles)."""
    init = _binding.Binder.__init__

    def as_real(self, *args, **kwargs):
        init(self, *args, **dict(kwargs, sandbox=False))

    monkeypatch.setattr(_binding.Binder, "__init__", as_real)
    return commands


def make_tree(tmp_path, case, addresses=True):
    """Build a case, its driver control files, and (opt-in) its simulated network."""
    root = tmp_path / "sys"
    build(CASES[case], str(root))
    for driver in ("hv_netvsc", "uio_hv_generic") if (root / "bus" / "vmbus").is_dir() else ():
        directory = root / "bus" / "vmbus" / "drivers" / driver
        directory.mkdir(parents=True, exist_ok=True)
        for name in DRIVER_FILES:
            path = directory / name
            if not path.exists():
                path.write_text("")
    if addresses:
        write_simulated_network(CASES[case], str(root))
    return root


class Env:
    def __init__(self, tmp_path, case="cx5_4nic", addresses=True):
        self.root = make_tree(tmp_path, case, addresses)
        self.config_dir = tmp_path / "etc" / "netvsc" / "pairs.d"
        self.udev_dir = tmp_path / "etc" / "udev" / "rules.d"
        self.network_dir = tmp_path / "etc" / "systemd" / "network"

    def args(self, **kwargs):
        args = dict(sysfs_root=str(self.root), config_dir=str(self.config_dir),
                    udev_rules_dir=str(self.udev_dir), network_dir=str(self.network_dir))
        args.update(kwargs)
        return args

    def rule_path(self, pair_id=ETH1_ID):
        return self.udev_dir / ("90-hyperv-netvsc-vf-%s.rules" % pair_id)

    def network_path(self, pair_id=ETH1_ID):
        return self.network_dir / ("01-hyperv-netvsc-vf-%s.network" % pair_id)

    def policy(self):
        """{file name: content} of the VF policy files in the temp dirs."""
        found = {}
        for directory, prefix in ((self.udev_dir, "90-"), (self.network_dir, "01-")):
            if directory.exists():
                found.update((p.name, p.read_text()) for p in directory.iterdir()
                             if p.name.startswith(prefix))
        return found

    def driver_file(self, driver, name):
        path = self.root / "bus" / "vmbus" / "drivers" / driver / name
        return path.read_text() if path.exists() else ""

    def written(self):
        """{driver/file: content} of every non-empty driver control file."""
        found = {}
        for driver in ("hv_netvsc", "uio_hv_generic"):
            for name in DRIVER_FILES:
                text = self.driver_file(driver, name)
                if text:
                    found["%s/%s" % (driver, name)] = text
        return found

    def declarations(self):
        if not self.config_dir.exists():
            return {}
        return dict((p.name, p.read_text()) for p in sorted(self.config_dir.iterdir()))


def run(capsys, args, check_mode=False, diff=False):
    return run_module(netvsc_pair, capsys, args, check_mode, diff)


@pytest.fixture
def env(tmp_path, commands):
    return Env(tmp_path)


# -- present ------------------------------------------------------------------------------------

def test_present_writes_declaration(env, capsys, commands):
    result = run(capsys, env.args(netvsc="eth1"))
    assert result["rc"] == 0, result
    assert result["changed"] is True
    path = env.config_dir / ("%s.json" % ETH1_ID)
    content = path.read_text()
    assert json.loads(content) == {
        "driver": "hv_netvsc", "force": False, "format": 1, "id": ETH1_ID,
        "netvsc": {"mac": ETH1_MAC, "name": "eth1", "vmbus_id": ETH1_GUID},
        "require_vf": False}
    assert content == _declarations.dumps(json.loads(content))
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert oct(env.config_dir.stat().st_mode & 0o777) == "0o755"
    pair = result["pair"]
    assert pair["id"] == ETH1_ID and pair["path"] == str(path)
    assert pair["declaration"]["netvsc"]["mac"] == ETH1_MAC
    assert pair["netvsc"]["name"] == "eth1" and pair["netvsc"]["driver"] == "hv_netvsc"
    assert pair["vf"]["name"] == "enP41635s2" and pair["vf"]["pci_address"] == "a2a3:00:02.0"
    assert pair["paired_by"] == "kernel"
    assert pair["persistence"] is None
    assert result["binding_steps"] == []
    assert commands.calls == []
    assert env.written() == {}


def test_present_by_mac_and_guid_and_custom_id(env, capsys):
    result = run(capsys, env.args(netvsc=ETH1_MAC.upper(), id="dpdk0"))
    assert result["rc"] == 0 and result["changed"] is True
    assert result["pair"]["path"] == str(env.config_dir / "dpdk0.json")
    again = run(capsys, env.args(netvsc="{%s}" % ETH1_GUID, id="dpdk0"))
    assert again["rc"] == 0 and again["changed"] is False
    assert list(env.declarations()) == ["dpdk0.json"]


def test_rerun_is_idempotent(env, capsys):
    first = run(capsys, env.args(netvsc="eth1", require_vf=True))
    before = env.declarations()
    second = run(capsys, env.args(netvsc="eth1", require_vf=True))
    assert first["changed"] is True
    assert second["rc"] == 0 and second["changed"] is False
    assert env.declarations() == before


def test_check_mode_reports_change_writes_nothing(env, capsys):
    result = run(capsys, env.args(netvsc="eth1"), check_mode=True)
    assert result["rc"] == 0 and result["changed"] is True
    assert not env.config_dir.exists()
    assert result["pair"]["declaration"]["id"] == ETH1_ID


def test_diff_shows_before_and_after(env, capsys):
    result = run(capsys, env.args(netvsc="eth1", id="dpdk0"), check_mode=True, diff=True)
    path = str(env.config_dir / "dpdk0.json")
    diff = result["diff"][0]  # then the VF policy files
    assert len(result["diff"]) == 3
    assert diff["before"] == "" and diff["before_header"] == path + " (absent)"
    assert diff["after_header"] == path
    assert json.loads(diff["after"])["id"] == "dpdk0"
    run(capsys, env.args(netvsc="eth1", id="dpdk0"))
    changed = run(capsys, env.args(netvsc="eth1", id="dpdk0", require_vf=True), diff=True)
    assert changed["changed"] is True
    assert '"require_vf": false' in changed["diff"]["before"]
    assert '"require_vf": true' in changed["diff"]["after"]
    assert changed["diff"]["before_header"] == path
    same = run(capsys, env.args(netvsc="eth1", id="dpdk0", require_vf=True), diff=True)
    assert same["changed"] is False and "diff" not in same


# -- refusals: nothing written ------------------------------------------------------------------

def assert_refused(env, result, message):
    assert result["rc"] == 1 and result.get("failed") is True, result
    assert message in result["msg"], result["msg"]
    assert env.written() == {}


def test_unknown_interface_lists_netvscs(env, capsys):
    result = run(capsys, env.args(netvsc="eth9"))
    assert_refused(env, result, "unknown interface eth9; NetVSC interfaces on this host: "
                                "eth0, eth1, eth2, eth3")
    assert not env.config_dir.exists()


def test_vf_passed_names_its_netvsc(env, capsys):
    result = run(capsys, env.args(netvsc="enP41635s2"))
    assert_refused(env, result, "enP41635s2 is the VF of eth1; pass eth1")
    assert not env.config_dir.exists()


def test_non_netvsc_refused(tmp_path, capsys, commands):
    env = Env(tmp_path, "decoys")
    result = run(capsys, env.args(netvsc="br0"))
    assert_refused(env, result, "br0 is not a NetVSC interface")


def test_not_hyperv(tmp_path, capsys, commands):
    env = Env(tmp_path, "kvm_virtio")
    result = run(capsys, env.args(netvsc="eth0"))
    assert_refused(env, result, "this host is not a Hyper-V/Azure guest (no VMBus in %s)" % env.root)
    assert not env.config_dir.exists()


def test_management_refused_unless_allowed_and_force_is_not_enough(env, capsys):
    for args in (dict(netvsc="eth0"), dict(netvsc="eth0", force=True)):
        result = run(capsys, env.args(**args))
        assert_refused(env, result, "Refusing eth0, nothing was changed: eth0 holds the IPv4 default "
                                    "route (table main); set allow_management: true on its item if "
                                    "you really mean it.")
        assert result["refused"] == [{"netvsc": "eth0", "reasons": [
            "eth0 holds the IPv4 default route (table main); set allow_management: true on its item "
            "if you really mean it"]}]
        assert not env.config_dir.exists()
    allowed = run(capsys, env.args(netvsc="eth0", allow_management=True))
    assert allowed["rc"] == 0 and allowed["changed"] is True
    assert allowed["pair"]["declaration"]["force"] is True


def test_require_vf_waits_and_says_how_long(tmp_path, capsys, commands, monkeypatch):
    env = Env(tmp_path, "vf_absent_servicing")
    clock = {"now": 100.0}
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(netvsc_pair.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(netvsc_pair.time, "sleep", sleep)
    result = run(capsys, env.args(netvsc="eth1", require_vf=True, wait_for_vf=3))
    assert_refused(env, result, "no VF is paired with eth1 after waiting 3.0 s (require_vf: true)")
    assert sleeps and all(s <= 0.5 for s in sleeps) and len(sleeps) == 6
    assert not env.config_dir.exists()


def test_require_vf_without_wait(tmp_path, capsys, commands):
    env = Env(tmp_path, "vf_absent_servicing")
    result = run(capsys, env.args(netvsc="eth1", require_vf=True))
    assert_refused(env, result, "no VF is paired with eth1 after waiting 0.0 s")


def test_missing_vf_is_a_warning_without_require(tmp_path, capsys, commands, monkeypatch):
    env = Env(tmp_path, "vf_absent_servicing")
    monkeypatch.setattr(netvsc_pair.time, "sleep", lambda s: None)
    clock = iter(float(i) for i in range(1000))
    monkeypatch.setattr(netvsc_pair.time, "monotonic", lambda: next(clock))
    result = run(capsys, env.args(netvsc="eth1", wait_for_vf=2))
    assert result["rc"] == 0 and result["changed"] is True
    assert result["pair"]["vf"] is None and result["pair"]["paired_by"] is None
    assert any("no VF is paired with eth1" in w for w in result["warnings"])


def test_wait_for_vf_sees_a_hot_added_vf(tmp_path, capsys, commands, monkeypatch):
    from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import add_vf
    env = Env(tmp_path, "vf_absent_servicing")
    clock = {"now": 0.0}

    def sleep(seconds):
        clock["now"] += seconds
        if clock["now"] >= 1.0 and not os.path.exists(str(env.root / "class/net/enP4660s2")):
            add_vf(str(env.root), "eth1", {"kind": "mlx5", "domain": 0x1234, "serial": 2,
                                           "name": "enP4660s2"})

    monkeypatch.setattr(netvsc_pair.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(netvsc_pair.time, "sleep", sleep)
    result = run(capsys, env.args(netvsc="eth1", require_vf=True, wait_for_vf=30))
    assert result["rc"] == 0, result
    assert result["pair"]["vf"]["name"] == "enP4660s2"
    assert clock["now"] < 2.0


def test_id_used_by_another_netvsc(env, capsys):
    run(capsys, env.args(netvsc="eth2", id="dpdk0"))
    before = env.declarations()
    result = run(capsys, env.args(netvsc="eth1", id="dpdk0"))
    assert_refused(env, result, "pairing id dpdk0 is declared for another NetVSC (MAC 00:0d:3a:03:18:c9, "
                                "VMBus 000d3a03-18c9-000d-3a03-18c9000d3a03); choose another id")
    assert env.declarations() == before


def test_netvsc_declared_under_another_id(env, capsys):
    run(capsys, env.args(netvsc="eth1", id="dpdk0"))
    result = run(capsys, env.args(netvsc="eth1", id="dpdk1"))
    assert_refused(env, result, "eth1 is already declared as pairing dpdk0; use id: dpdk0")
    assert list(env.declarations()) == ["dpdk0.json"]
    default = run(capsys, env.args(netvsc="eth1"))  # without an id, the declared one is kept
    assert default["rc"] == 0 and default["changed"] is False and default["pair"]["id"] == "dpdk0"


def test_bad_id(env, capsys):
    result = run(capsys, env.args(netvsc="eth1", id="Bad-Id"))
    assert_refused(env, result, "pairing id 'Bad-Id' must match ^[a-z0-9_]{1,32}$")


def test_broken_declaration_is_a_warning(env, capsys):
    env.config_dir.mkdir(parents=True)
    (env.config_dir / "junk.json").write_text("{not json")
    result = run(capsys, env.args(netvsc="eth1"))
    assert result["rc"] == 0
    assert any("junk.json: not valid JSON" in w for w in result["warnings"])


# -- absent -------------------------------------------------------------------------------------

def test_absent_removes_declaration(env, capsys):
    run(capsys, env.args(netvsc="eth1", id="dpdk0"))
    check = run(capsys, env.args(netvsc="eth1", state="absent"), check_mode=True, diff=True)
    assert check["changed"] is True and (env.config_dir / "dpdk0.json").exists()
    assert len(check["diff"]) == 3  # the VF policy files, then the declaration
    assert check["diff"][2]["after"] == "" and '"id": "dpdk0"' in check["diff"][2]["before"]
    result = run(capsys, env.args(netvsc="eth1", state="absent"))
    assert result["rc"] == 0 and result["changed"] is True
    assert result["pair"]["id"] == "dpdk0" and result["pair"]["declaration"] is None
    assert env.declarations() == {}
    again = run(capsys, env.args(netvsc="eth1", state="absent"))
    assert again["rc"] == 0 and again["changed"] is False


def test_absent_with_id_of_another_netvsc_refused(env, capsys):
    run(capsys, env.args(netvsc="eth2", id="dpdk0"))
    result = run(capsys, env.args(netvsc="eth1", id="dpdk0", state="absent"))
    assert_refused(env, result, "pairing dpdk0 (%s) declares MAC 00:0d:3a:03:18:c9" % (env.config_dir / "dpdk0.json"))
    assert list(env.declarations()) == ["dpdk0.json"]


def test_absent_unknown_interface(env, capsys):
    result = run(capsys, env.args(netvsc="eth9", state="absent"))
    assert_refused(env, result, "unknown interface eth9")


# -- uio_hv_generic binding ----------------------------------------------------------------------

def test_uio_binding_udev_persistence(env, capsys, real_system):
    commands = real_system
    check = run(capsys, env.args(netvsc="eth1", driver="uio_hv_generic"), check_mode=True, diff=True)
    assert check["changed"] is True and env.written() == {} and commands.calls == []
    assert not env.config_dir.exists() and not env.udev_dir.exists()
    assert len(check["diff"]) == 5  # declaration, VF policy rule and .network, driver, udev rule
    assert check["binding_steps"][0] == "modprobe uio_hv_generic"

    result = run(capsys, env.args(netvsc="eth1", driver="uio_hv_generic"))
    assert result["rc"] == 0, result
    assert commands.calls == [["/usr/sbin/modprobe", "uio_hv_generic"]]
    assert env.written() == {
        "uio_hv_generic/new_id": _binding.NETVSC_CLASS_GUID + "\n",
        "hv_netvsc/unbind": ETH1_GUID + "\n",
        "uio_hv_generic/bind": ETH1_GUID + "\n",
    }
    rule = env.udev_dir / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID)
    assert result["pair"]["persistence"] == str(rule)
    text = rule.read_text()
    assert text == _binding.udev_rule(ETH1_GUID, ETH1_ID)
    assert 'KERNEL=="%s"' % ETH1_GUID in text
    assert 'ATTR{driver_override}="uio_hv_generic"' in text
    assert 'RUN{builtin}+="kmod load uio_hv_generic"' in text
    assert oct(rule.stat().st_mode & 0o777) == "0o644"
    declaration = json.loads((env.config_dir / (ETH1_ID + ".json")).read_text())
    assert declaration["driver"] == "uio_hv_generic"
    assert declaration["netvsc"] == {"mac": ETH1_MAC, "name": "eth1", "vmbus_id": ETH1_GUID}


def test_uio_binding_driverctl_persistence(env, capsys, real_system):
    commands = real_system
    commands.binaries.add("driverctl")
    result = run(capsys, env.args(netvsc="eth1", driver="uio_hv_generic"))
    assert result["rc"] == 0, result
    assert commands.calls == [
        ["/usr/sbin/driverctl", "-b", "vmbus", "list-overrides"],
        ["/usr/sbin/modprobe", "uio_hv_generic"],
        ["/usr/sbin/driverctl", "-b", "vmbus", "set-override", ETH1_GUID, "uio_hv_generic"],
    ]
    assert result["pair"]["persistence"] == "driverctl"
    assert not (env.udev_dir / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID)).exists()
    assert env.written()["uio_hv_generic/bind"] == ETH1_GUID + "\n"


def test_uio_refused_on_netvsc_with_addresses(env, capsys, commands):
    result = run(capsys, env.args(netvsc="eth0", driver="uio_hv_generic", force=True))
    assert_refused(env, result, "eth0 holds the IPv4 default route")
    assert commands.calls == [] and not env.udev_dir.exists()


def uio_env(tmp_path, eth1_id=ETH1_ID, vf_policy=True):
    """uio_bound: eth1 already on uio_hv_generic (no netdev), declared earlier."""
    env = Env(tmp_path, "uio_bound")
    env.config_dir.mkdir(parents=True)
    declaration = _declarations.build(eth1_id, {"mac": ETH1_MAC, "name": "eth1",
                                                "vmbus_id": ETH1_GUID}, "uio_hv_generic")
    (env.config_dir / (eth1_id + ".json")).write_text(_declarations.dumps(declaration))
    env.udev_dir.mkdir(parents=True)
    (env.udev_dir / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID)).write_text(
        _binding.udev_rule(ETH1_GUID, eth1_id))
    if vf_policy:
        env.network_dir.mkdir(parents=True)
        env.rule_path(eth1_id).write_text(_vfpolicy.udev_rule(eth1_id, ETH1_MAC))
        env.network_path(eth1_id).write_text(_vfpolicy.network_file(eth1_id, ETH1_MAC))
    return env


def test_uio_already_bound_is_unchanged(tmp_path, capsys, commands):
    env = uio_env(tmp_path)
    before = env.declarations()
    for token in ("eth1", ETH1_MAC, ETH1_GUID):  # last seen name, MAC, GUID
        result = run(capsys, env.args(netvsc=token, driver="uio_hv_generic"))
        assert result["rc"] == 0, result
        assert result["changed"] is False, result
        assert result["binding_steps"] == []
        assert result["pair"]["netvsc"]["name"] is None
        assert result["pair"]["netvsc"]["driver"] == "uio_hv_generic"
        assert result["pair"]["netvsc"]["mac"] == ETH1_MAC  # from the declaration
        assert result["pair"]["vf"]["pci_address"] == "a2a3:00:02.0"
        assert result["pair"]["paired_by"] == "mac"
    assert env.declarations() == before
    assert env.written() == {} and commands.calls == []


def test_uio_bound_restores_missing_rule(tmp_path, capsys, commands):
    env = uio_env(tmp_path)
    rule = env.udev_dir / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID)
    rule.unlink()
    result = run(capsys, env.args(netvsc="eth1", driver="uio_hv_generic"))
    assert result["changed"] is True and rule.exists()
    assert result["binding_steps"] == ["write %s" % rule]
    assert env.written() == {}


def test_absent_restores_hv_netvsc(tmp_path, capsys, commands):
    env = uio_env(tmp_path)
    rule = env.udev_dir / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID)
    check = run(capsys, env.args(netvsc="eth1", state="absent"), check_mode=True)
    assert check["changed"] is True and rule.exists() and env.written() == {}
    result = run(capsys, env.args(netvsc="eth1", state="absent"))
    assert result["rc"] == 0 and result["changed"] is True, result
    assert env.written() == {
        "uio_hv_generic/unbind": ETH1_GUID + "\n",
        "hv_netvsc/bind": ETH1_GUID + "\n",
    }
    assert not rule.exists()
    assert env.declarations() == {} and env.policy() == {}
    assert commands.calls == []


def test_absent_removes_driverctl_override(tmp_path, capsys, real_system):
    commands = real_system
    env = uio_env(tmp_path)
    commands.binaries.add("driverctl")
    commands.outputs["list-overrides"] = "%s uio_hv_generic\n" % ETH1_GUID
    result = run(capsys, env.args(netvsc=ETH1_GUID, state="absent"))
    assert result["rc"] == 0 and result["changed"] is True, result
    assert ["/usr/sbin/driverctl", "-b", "vmbus", "unset-override", ETH1_GUID] in commands.calls
    assert env.written()["hv_netvsc/bind"] == ETH1_GUID + "\n"


def test_present_hv_netvsc_rebinds_from_uio(tmp_path, capsys, commands):
    env = uio_env(tmp_path)
    result = run(capsys, env.args(netvsc="eth1", driver="hv_netvsc"))
    assert result["rc"] == 0 and result["changed"] is True, result
    assert env.written() == {
        "uio_hv_generic/unbind": ETH1_GUID + "\n",
        "hv_netvsc/bind": ETH1_GUID + "\n",
    }
    assert json.loads((env.config_dir / (ETH1_ID + ".json")).read_text())["driver"] == "hv_netvsc"


def test_binding_failure_is_reported(env, capsys, commands):
    (env.root / "bus/vmbus/drivers/uio_hv_generic/new_id").unlink()
    result = run(capsys, env.args(netvsc="eth1", driver="uio_hv_generic"))
    assert result["rc"] == 1
    assert "cannot open" in result["msg"] and "new_id" in result["msg"]
    assert "rerun the task" in result["msg"]
    assert "Traceback" not in json.dumps(result)


# -- VF policy files ------------------------------------------------------------------------------

def test_present_writes_vf_policy(env, capsys):
    result = run(capsys, env.args(netvsc="eth1"))
    assert result["rc"] == 0 and result["changed"] is True, result
    rule, network = env.rule_path(), env.network_path()
    assert result["vf_policy"] == {"udev_rule": str(rule), "network": str(network)}
    assert rule.read_text() == _vfpolicy.udev_rule(ETH1_ID, ETH1_MAC)
    assert network.read_text() == _vfpolicy.network_file(ETH1_ID, ETH1_MAC)
    assert 'ATTR{address}=="%s", ENV{NETVSC_VF_UNMANAGED}="1"' % ETH1_MAC in rule.read_text()
    assert "MACAddress=%s\n" % ETH1_MAC in network.read_text()
    for path in (rule, network):
        assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert oct(env.network_dir.stat().st_mode & 0o777) == "0o755"
    before = env.policy()
    again = run(capsys, env.args(netvsc="eth1"))
    assert again["rc"] == 0 and again["changed"] is False, again
    assert again["vf_policy"] == result["vf_policy"] and env.policy() == before


def test_vf_policy_check_mode_and_diff(env, capsys):
    result = run(capsys, env.args(netvsc="eth1", id="dpdk0"), check_mode=True, diff=True)
    assert result["rc"] == 0 and result["changed"] is True
    assert not env.udev_dir.exists() and not env.network_dir.exists()
    rule, network = str(env.rule_path("dpdk0")), str(env.network_path("dpdk0"))
    assert result["vf_policy"] == {"udev_rule": rule, "network": network}
    assert result["diff"][1:] == [
        {"before_header": rule + " (absent)", "after_header": rule, "before": "",
         "after": _vfpolicy.udev_rule("dpdk0", ETH1_MAC)},
        {"before_header": network + " (absent)", "after_header": network, "before": "",
         "after": _vfpolicy.network_file("dpdk0", ETH1_MAC)},
    ]


def test_vf_policy_only_change_is_reported(env, capsys):
    run(capsys, env.args(netvsc="eth1"))
    env.network_path().unlink()
    result = run(capsys, env.args(netvsc="eth1"), diff=True)
    assert result["changed"] is True and env.network_path().exists()
    assert result["diff"]["before"] == "" and result["diff"]["after_header"] == str(env.network_path())


def test_vf_policy_options_off_remove_files(env, capsys):
    run(capsys, env.args(netvsc="eth1"))
    managed = run(capsys, env.args(netvsc="eth1", vf_unmanaged=False), diff=True)
    assert managed["changed"] is True
    assert managed["vf_policy"] == {"udev_rule": str(env.rule_path()), "network": None}
    assert not env.network_path().exists()
    assert env.rule_path().read_text() == _vfpolicy.udev_rule(ETH1_ID, ETH1_MAC, unmanaged=False)
    assert [d["after"] for d in managed["diff"]] == [env.rule_path().read_text(), ""]
    off = run(capsys, env.args(netvsc="eth1", vf_unmanaged=False, vf_modules=False))
    assert off["changed"] is True and off["vf_policy"] == {"udev_rule": None, "network": None}
    assert env.policy() == {}
    again = run(capsys, env.args(netvsc="eth1", vf_unmanaged=False, vf_modules=False))
    assert again["changed"] is False


def test_absent_removes_vf_policy(env, capsys):
    run(capsys, env.args(netvsc="eth1"))
    assert len(env.policy()) == 2
    check = run(capsys, env.args(netvsc="eth1", state="absent"), check_mode=True)
    assert check["changed"] is True and len(env.policy()) == 2
    result = run(capsys, env.args(netvsc="eth1", state="absent"))
    assert result["rc"] == 0 and result["changed"] is True
    assert result["vf_policy"] == {"udev_rule": None, "network": None}
    assert env.policy() == {} and env.declarations() == {}


def test_absent_removes_vf_policy_of_a_netvsc_gone(env, capsys):
    """A NetVSC that is not on the host now (NIC removed): found by its declaration."""
    mac, guid = "00:0d:3a:aa:bb:cc", "000d3aaa-bbcc-000d-3aaa-bbcc000d3aaa"
    env.config_dir.mkdir(parents=True)
    declaration = _declarations.build("gone", {"mac": mac, "name": "eth7", "vmbus_id": guid})
    (env.config_dir / "gone.json").write_text(_declarations.dumps(declaration))
    for path, text in _vfpolicy.files("gone", mac, str(env.udev_dir), str(env.network_dir)).values():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    result = run(capsys, env.args(netvsc=mac, state="absent"))
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["pair"]["netvsc"] is None
    assert env.policy() == {} and env.declarations() == {}


def test_uio_bound_netvsc_gets_vf_policy_from_declared_mac(tmp_path, capsys, commands):
    env = uio_env(tmp_path, vf_policy=False)
    result = run(capsys, env.args(netvsc=ETH1_GUID, driver="uio_hv_generic"))
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["pair"]["netvsc"]["name"] is None  # no netdev, the MAC is the declaration's
    assert result["binding_steps"] == []
    assert env.policy() == {
        env.rule_path().name: _vfpolicy.udev_rule(ETH1_ID, ETH1_MAC),
        env.network_path().name: _vfpolicy.network_file(ETH1_ID, ETH1_MAC)}
    assert env.written() == {}


def test_uio_bound_netvsc_without_a_recorded_mac_is_refused(tmp_path, capsys, commands):
    """Bound to uio_hv_generic before any declaration: no netdev, so no MAC to pair or render."""
    env = Env(tmp_path, "uio_bound")
    for args in (dict(netvsc=ETH1_GUID, driver="uio_hv_generic"),
                 dict(netvsc=ETH1_GUID, id=ETH1_ID, driver="uio_hv_generic")):
        result = run(capsys, env.args(**args))
        assert result["rc"] == 1 and result["failed"] is True, result
        assert result["msg"].startswith("Refusing %s, nothing was changed: the MAC of %s is unknown: it is "
                                        "bound to uio_hv_generic and has no netdev" % (ETH1_GUID, ETH1_GUID))
        assert "echo %s > /sys/bus/vmbus/drivers/uio_hv_generic/unbind" % ETH1_GUID in result["msg"]
    assert not env.config_dir.exists() and env.policy() == {} and env.written() == {}
    assert [call for call in commands.calls if call[-1] != "list-overrides"] == []


def test_vf_policy_path_in_the_way_is_refused_before_any_change(env, capsys):
    env.network_dir.parent.mkdir(parents=True)
    env.network_dir.write_text("")  # a file where the directory should be
    result = run(capsys, env.args(netvsc="eth1"))
    assert result["rc"] == 1
    assert result["msg"] == "%s exists and is not a directory; nothing was changed" % env.network_dir
    assert env.declarations() == {} and not env.udev_dir.exists()
    assert "Traceback" not in json.dumps(result)


def test_a_sandbox_runs_no_command(env, capsys, commands):
    """sysfs_root is a fixture tree: modprobe and driverctl (installed) are not run; the
    binding persists with the udev rule below udev_rules_dir."""
    commands.binaries.add("driverctl")
    result = run(capsys, env.args(netvsc="eth1", driver="uio_hv_generic"))
    assert result["rc"] == 0, result
    assert commands.calls == []
    assert result["binding_steps"][0] == "modprobe uio_hv_generic (not run: sysfs_root %s is not /sys)" % env.root
    assert result["pair"]["persistence"] == str(env.udev_dir / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID))
    back = run(capsys, env.args(netvsc="eth1", state="absent"))
    assert back["rc"] == 0 and back["changed"] and commands.calls == []


def test_case_addresses_match_simulated_file(env):
    data = json.loads((env.root / ".netvsc-simulated-network.json").read_text())
    assert data["addresses"] == dict(case_addresses(CASES["cx5_4nic"]), lo=["127.0.0.1/8", "::1/128"])
