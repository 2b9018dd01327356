# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netvsc_facts through the real AnsibleModule entry point."""

from __future__ import annotations

import ast
import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _declarations
from ansible_collections.hyperv.netvsc.plugins.modules import netvsc_facts
from ansible_collections.hyperv.netvsc.tests.fixtures import os_tree
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import (
    CASES, build, case_known_macs, write_simulated_network)
from ansible_collections.hyperv.netvsc.tests.unit.plugins.modules.utils import run_module


@pytest.fixture
def cx5(tmp_path):
    root = build(CASES["cx5_4nic"], str(tmp_path / "sys"))
    write_simulated_network(CASES["cx5_4nic"], root)
    return root


def test_facts_shape_on_the_4nic_vm(capsys, cx5):
    result = run_module(netvsc_facts, capsys, {"sysfs_root": cx5})
    assert result["rc"] == 0 and result["changed"] is False
    assert set(result) <= {"ansible_facts", "changed", "rc", "invocation", "warnings"}
    facts = result["ansible_facts"]["netvsc"]
    assert facts["hyperv"] is True and facts["unpaired_vfs"] == []
    assert sorted(facts["interfaces"]) == ["eth0", "eth1", "eth2", "eth3"]
    eth0, eth1 = facts["interfaces"]["eth0"], facts["interfaces"]["eth1"]
    assert eth0["addresses"] == ["10.0.0.5/24"] and eth1["addresses"] == []
    assert eth1["vf"]["name"] == "enP41635s2"
    assert eth1["vf"]["pci_address"] == "a2a3:00:02.0"
    assert eth1["vf"]["paired_by"] == "kernel"


def test_check_mode_returns_the_same_facts(capsys, cx5):
    normal = run_module(netvsc_facts, capsys, {"sysfs_root": cx5})
    checked = run_module(netvsc_facts, capsys, {"sysfs_root": cx5}, check_mode=True)
    assert checked["ansible_facts"] == normal["ansible_facts"]


def test_filter_by_name_and_mac(capsys, cx5):
    result = run_module(netvsc_facts, capsys, {"sysfs_root": cx5, "interfaces": ["eth1", "00:0D:3A:03:18:C9"]})
    assert sorted(result["ansible_facts"]["netvsc"]["interfaces"]) == ["eth1", "eth2"]


@pytest.mark.parametrize("token, message", [
    ("enP41635s2", "enP41635s2 is the VF of eth1; pass eth1"),
    ("eth7", "unknown interface eth7; NetVSC interfaces on this host: eth0, eth1, eth2, eth3"),
])
def test_bad_filter_fails_with_a_helpful_message(capsys, cx5, token, message):
    result = run_module(netvsc_facts, capsys, {"sysfs_root": cx5, "interfaces": [token]})
    assert result["rc"] == 1 and result["failed"] is True
    assert result["msg"] == message
    assert "ansible_facts" not in result


def test_uio_bound_netvsc_pairs_through_its_declaration(capsys, tmp_path):
    root = build(CASES["uio_bound"], str(tmp_path / "sys"))
    ((guid, mac),) = list(case_known_macs(CASES["uio_bound"]).items())
    config_dir = tmp_path / "pairs.d"
    config_dir.mkdir()
    iface = {"mac": mac, "name": "eth1", "vmbus_id": guid}
    declaration = _declarations.build("dpdk0", iface, driver="uio_hv_generic")
    (config_dir / "dpdk0.json").write_text(_declarations.dumps(declaration))
    args = {"sysfs_root": root, "interfaces": [guid]}
    alone = run_module(netvsc_facts, capsys, dict(args, config_dir=str(tmp_path / "none")))
    assert alone["ansible_facts"]["netvsc"]["interfaces"][guid]["vf"] is None
    assert alone["ansible_facts"]["netvsc"]["declarations"] == {}
    declared = run_module(netvsc_facts, capsys, dict(args, config_dir=str(config_dir)))
    assert declared["ansible_facts"]["netvsc"]["declarations"] == {"dpdk0": declaration}
    uio = declared["ansible_facts"]["netvsc"]["interfaces"][guid]
    assert (uio["name"], uio["mac"], uio["driver"]) == (None, mac, "uio_hv_generic")
    assert uio["vf"]["paired_by"] == "mac"


def test_garbled_attributes_surface_as_warnings_that_name_the_host(capsys, tmp_path):
    root = build(CASES["garbage"], str(tmp_path / "sys"))
    result = run_module(netvsc_facts, capsys, {"sysfs_root": root})
    assert result["rc"] == 0
    assert any("garbled" in w or "cannot read" in w for w in result["warnings"])
    prefix = "%s (sysfs %s): " % (os.uname()[1], root)
    assert result["warnings"] and all(w.startswith(prefix) for w in result["warnings"])


def test_host_label_leaves_out_the_default_sysfs_root():
    assert netvsc_facts.host_label("/sys/") == os.uname()[1]


@pytest.mark.parametrize("case, other, bare", [
    ("gen1_legacy_nic", ["enp0s10"], []),
    ("hpc_infiniband", ["ib0"], []),
    ("mana_no_driver", [], ["7870:00:00.0"]),
    ("kvm_net_failover", ["ens11"], []),
])
def test_other_pci_nics_and_vf_functions_without_netdev(capsys, tmp_path, case, other, bare):
    root = build(CASES[case], str(tmp_path / "sys"))
    facts = run_module(netvsc_facts, capsys, {"sysfs_root": root})["ansible_facts"]["netvsc"]
    assert facts["unpaired_vfs"] == []
    assert [nic["name"] for nic in facts["other_pci_nics"]] == other
    assert [fn["pci_address"] for fn in facts["vf_functions_without_netdev"]] == bare


def test_this_machine_is_not_hyperv_and_does_not_crash(capsys):
    result = run_module(netvsc_facts, capsys, {})
    assert result["rc"] == 0
    assert result["ansible_facts"]["netvsc"]["hyperv"] is False


def test_readiness_reads_under_readiness_root(capsys, tmp_path):
    spec = dict(CASES["mana_shared_pci"], hugepages={"2048kB": {"nodes": [1024]}})
    sysfs = build(spec, str(tmp_path / "sys"))
    root = os_tree.build("debian12", str(tmp_path / "os"))
    facts = run_module(netvsc_facts, capsys, {"sysfs_root": sysfs, "readiness_root": root,
                                              "interfaces": ["eth1"]})["ansible_facts"]["netvsc"]
    readiness = facts["readiness"]
    assert sorted(readiness["pairings"]) == ["eth1"]
    assert readiness["pairings"]["eth1"]["reasons"][0] == (
        "MANA VF, but the installed DPDK 22.11.11 has no MANA PMD")
    assert readiness["kernel"]["release"] == "6.1.0-28-amd64"


def test_readiness_can_be_skipped_and_is_absent_off_hyperv(capsys, tmp_path):
    root = build(CASES["cx5_4nic"], str(tmp_path / "sys"))
    skipped = run_module(netvsc_facts, capsys, {"sysfs_root": root, "readiness": False})
    assert "readiness" not in skipped["ansible_facts"]["netvsc"]
    vmware = build(CASES["vmware_vmxnet3"], str(tmp_path / "vmware"))
    assert "readiness" not in run_module(netvsc_facts, capsys, {"sysfs_root": vmware})[
        "ansible_facts"]["netvsc"]


def _shipped_module_utils(module_file):
    """The collection's module_utils that AnsiballZ ships with module_file: the closure of its
    imports, found statically as ansible-core's recursive_finder does (function-level imports
    count too)."""
    plugins = os.path.dirname(os.path.dirname(module_file))
    absolute = "ansible_collections.hyperv.netvsc.plugins."
    found, todo = set(), [("modules", module_file)]
    while todo:
        package, path = todo.pop()
        with open(path) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:  # relative to plugins.<package>
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(parts + ([node.module] if node.module else []))
            elif (node.module or "").startswith(absolute):
                target = node.module[len(absolute):]
            else:
                continue
            if target.split(".")[0] != "module_utils":
                continue
            rest = target.split(".")[1:]
            for name in rest[:1] or [alias.name for alias in node.names]:
                util = os.path.join(plugins, "module_utils", name + ".py")
                if name not in found and os.path.exists(util):
                    found.add(name)
                    todo.append(("module_utils", util))
    return found


def test_netvsc_facts_ships_no_guard_code():
    """AnsiballZ compiles every shipped module_util on the controller and on the host on each
    run (the facts benchmark's goal against ping): the management guard's network state and
    sshd code stay out of netvsc_facts."""
    shipped = _shipped_module_utils(netvsc_facts.__file__)
    assert shipped == {"_declarations", "_identity", "_readiness", "_rtnetlink", "_scan",
                       "_simulated", "_trust"}
    assert "_netstate" in _shipped_module_utils(
        os.path.join(os.path.dirname(netvsc_facts.__file__), "netvsc_pair.py"))
