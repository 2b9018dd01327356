# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness probes and verdicts on sysfs trees plus operating-system trees of real layouts."""

from __future__ import annotations

import copy
import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _readiness
from ansible_collections.hyperv.netvsc.plugins.module_utils._scan import scan
from ansible_collections.hyperv.netvsc.tests.fixtures import os_tree
from ansible_collections.hyperv.netvsc.tests.fixtures.cases import CASES
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import build

HUGE = {"2048kB": {"nodes": [1024]}}


@pytest.fixture
def host(tmp_path):
    """host(case, os preset or spec, **sysfs spec overrides) -> (interfaces, readiness)."""
    def make(case, system, **overrides):
        spec = dict(copy.deepcopy(CASES[case]), **overrides)
        sysfs = build(spec, str(tmp_path / "sys"))
        root = os_tree.build(system, str(tmp_path / "os"))
        interfaces = scan(sysfs, with_addresses=False).interfaces
        return interfaces, _readiness.readiness(interfaces, root, sysfs, machine="x86_64")
    return make


def test_mana_on_debian12_names_the_missing_pmd_and_kernel_module(host):
    _ifaces, found = host("mana_shared_pci", "debian12", hugepages=HUGE)
    eth1 = found["pairings"]["eth1"]
    assert eth1["ready"] is False
    assert eth1["reasons"] == [
        "MANA VF, but the installed DPDK 22.11.11 has no MANA PMD",
        "MANA VF, but kernel 6.1.0-28-amd64 has no mana_ib module (MANA RDMA needs kernel >= 6.2)",
    ]
    assert eth1["modes"] == ["netvsc_pmd"]
    assert "fail-safe over MANA is not supported: use the netvsc PMD" in eth1["warnings"]


def test_mana_on_debian12_backports_still_lacks_the_pmd(host):
    _ifaces, found = host("mana_shared_pci", "debian12_backports", hugepages=HUGE)
    assert found["pairings"]["eth1"]["reasons"] == [
        "MANA VF, but the installed DPDK 22.11.11 has no MANA PMD"]


def test_mana_on_debian13_is_ready_with_the_netvsc_pmd(host):
    _ifaces, found = host("mana_shared_pci", "debian13", hugepages=HUGE)
    eth1 = found["pairings"]["eth1"]
    assert (eth1["ready"], eth1["modes"], eth1["reasons"]) == (True, ["netvsc_pmd"], [])
    assert found["dpdk"]["version"] == "24.11.8" and found["dpdk"]["pmds"]["mana"] == "shared"
    assert found["dpdk"]["libdir"] == "/usr/lib/x86_64-linux-gnu"


def test_mlx5_on_debian12_is_ready_in_every_mode(host):
    _ifaces, found = host("cx5_4nic", "debian12", hugepages=HUGE)
    eth1 = found["pairings"]["eth1"]
    assert (eth1["ready"], eth1["modes"], eth1["reasons"], eth1["warnings"]) == (
        True, ["netvsc_pmd", "failsafe", "vdev_netvsc"], [], [])
    assert found["kernel"]["modules"]["mlx5_ib"] == "available"
    assert found["rdma_core"] == {"version": "44.0", "providers": {"mlx4": True, "mlx5": True, "mana": True}}


def test_no_hugepages_blocks_every_pairing(host):
    _ifaces, found = host("cx5_4nic", "debian12")
    assert all(v["ready"] is False for v in found["pairings"].values())
    assert found["pairings"]["eth1"]["reasons"] == [
        "no hugepages are reserved (nr_hugepages is 0 for 1048576kB, 2048kB)"]
    assert found["hugepages"]["sizes"]["2048kB"] == {"total": 0, "free": 0}


def test_every_hugepage_in_use_is_a_warning(host):
    _ifaces, found = host("cx5_4nic", "debian12", hugepages={"2048kB": {"nodes": [64], "free": [0]}})
    eth1 = found["pairings"]["eth1"]
    assert eth1["ready"] is True
    assert "every reserved hugepage is in use (2048kB: 64)" in eth1["warnings"]


def test_no_dpdk_and_no_uio_module(host):
    _ifaces, found = host("cx5_4nic", "no_dpdk", hugepages=HUGE)
    eth1 = found["pairings"]["eth1"]
    assert eth1["ready"] is False and eth1["modes"] == []
    assert eth1["reasons"][0].startswith("DPDK is not installed")
    assert found["kernel"]["modules"]["uio_hv_generic"] == "missing"
    assert found["dpdk"]["pmds"] == dict((name, None) for name in _readiness.PMDS)


def test_missing_master_pmds_are_named(host):
    system = copy.deepcopy(os_tree.PRESETS["debian12"])
    system["dpdk"]["pmds"] = ["mlx5"]
    system["modules"] = [m for m in system["modules"] if m != "uio_hv_generic"]
    _ifaces, found = host("cx5_4nic", system, hugepages=HUGE)
    assert found["pairings"]["eth1"]["reasons"] == [
        "no DPDK mode is usable: netvsc_pmd needs the netvsc PMD and the bus_vmbus PMD and the "
        "uio_hv_generic module; failsafe needs the failsafe PMD and the tap PMD; vdev_netvsc needs "
        "the vdev_netvsc PMD and the failsafe PMD and the tap PMD"]


def test_netvsc_pmd_unusable_but_failsafe_ok_is_a_warning(host):
    system = copy.deepcopy(os_tree.PRESETS["debian12"])
    system["modules"] = [m for m in system["modules"] if m != "uio_hv_generic"]
    _ifaces, found = host("cx5_4nic", system, hugepages=HUGE)
    eth1 = found["pairings"]["eth1"]
    assert (eth1["ready"], eth1["modes"]) == (True, ["failsafe", "vdev_netvsc"])
    assert eth1["warnings"] == [
        "the netvsc PMD mode, which Microsoft recommends, needs the uio_hv_generic module"]


def test_uio_bound_netvsc_only_has_the_netvsc_pmd_mode(host):
    ifaces, found = host("uio_bound", "debian12", hugepages=HUGE)
    (guid,) = [key for key, iface in ifaces.items() if iface["name"] is None]
    assert found["pairings"][guid]["modes"] == ["netvsc_pmd"]
    assert found["pairings"][guid]["warnings"] == [
        "no VF now: DPDK uses the synthetic path until the host offers one"]


def test_unreadable_modules_dep_warns_instead_of_guessing(host):
    system = dict(os_tree.PRESETS["debian12"], modules_dep=False)
    _ifaces, found = host("cx5_4nic", system, hugepages=HUGE)
    eth1 = found["pairings"]["eth1"]
    assert eth1["ready"] is True
    assert found["kernel"]["modules"]["mlx5_ib"] == "unknown"
    assert found["kernel"]["error"] == ("no readable modules.dep under /lib/modules/"
                                        "6.1.0-28-amd64 (No such file or directory)")
    assert "cannot tell whether kernel 6.1.0-28-amd64 has mlx5_ib: " + found["kernel"]["error"] in eth1["warnings"]


def test_loaded_and_builtin_modules(host):
    system = dict(os_tree.PRESETS["debian12"], builtin=["uio_hv_generic"])
    _ifaces, found = host("cx5_4nic", system, hugepages=HUGE, modules=["mlx5_ib", "mana_ib"])
    modules = found["kernel"]["modules"]
    assert (modules["uio_hv_generic"], modules["mlx5_ib"], modules["mana_ib"], modules["mlx4_ib"]) == (
        "builtin", "loaded", "loaded", "available")


def test_unknown_vf_family_is_a_warning(host):
    spec = copy.deepcopy(CASES["mlx4_old_kernel"])
    spec["vfs"][0].update(kind=None, vendor_id="0x1af4", device_id="0x10ff", driver="future_vf")
    _ifaces, found = host("mlx4_old_kernel", "debian12", hugepages=HUGE, vfs=spec["vfs"])
    eth1 = found["pairings"]["eth1"]
    assert eth1["ready"] is True
    assert "VF enP37134p0s2 (0x1af4:0x10ff) is of no known family: no DPDK PMD is checked for it" in eth1["warnings"]


def test_vf_on_a_numa_node_without_hugepages(host):
    vfs = copy.deepcopy(CASES["cx4lx"]["vfs"])
    vfs[0]["numa_node"] = 1
    _ifaces, found = host("cx4lx", "debian12", hugepages={"2048kB": {"nodes": [512, 0]}}, vfs=vfs)
    assert "the VF enP53091s1np0 is on NUMA node 1, which has no hugepages" in found["pairings"]["eth0"]["warnings"]
    assert found["hugepages"]["nodes"]["1"]["2048kB"] == {"total": 0, "free": 0}


def test_usr_local_dpdk_comes_first_and_the_other_is_named(tmp_path):
    root = str(tmp_path / "os")
    os_tree.build("debian12", root)
    os_tree._write_dpdk(root, {"version": "24.11.3", "abi": "25.0", "prefix": "usr/local",
                               "pmds": ["netvsc", "bus_vmbus", "mana", "mlx5"]})
    dpdk = _readiness.probe(root, str(tmp_path / "none"), "x86_64")["dpdk"]
    assert (dpdk["version"], dpdk["libdir"], dpdk["others"]) == (
        "24.11.3", "/usr/local/lib/x86_64-linux-gnu", ["/usr/lib/x86_64-linux-gnu"])
    assert dpdk["pmds"]["mana"] == "shared" and dpdk["pmds"]["failsafe"] is None


def test_version_from_the_abi_without_libdpdk_pc(tmp_path):
    root = os_tree.build({"release": "6.1.0-28-amd64", "dpdk": {
        "version": "x", "abi": "23.0", "pc": False, "pmds": ["netvsc"]}}, str(tmp_path / "os"))
    dpdk = _readiness.probe(root, str(tmp_path / "none"), "x86_64")["dpdk"]
    assert (dpdk["version"], dpdk["abi"], dpdk["pc"]) == ("22.11", "23.0", None)


def test_static_only_pmds_count_as_installed(tmp_path):
    root = str(tmp_path / "os")
    os_tree.build("debian12", root)
    pc = os.path.join(root, "usr/lib/x86_64-linux-gnu/pkgconfig/libdpdk.pc")
    with open(pc) as handle:
        text = handle.read()
    with open(pc, "w") as handle:
        handle.write(text.replace("-l:librte_eal.a", "-l:librte_net_mana.a -l:librte_eal.a"))
    pmds = _readiness.probe(root, str(tmp_path / "none"), "x86_64")["dpdk"]["pmds"]
    assert (pmds["mana"], pmds["mlx5"]) == ("static", "shared")


@pytest.mark.parametrize("name, garbage", [
    ("proc/sys/kernel/osrelease", None),
    ("usr/lib/x86_64-linux-gnu/pkgconfig/libdpdk.pc", b"\xff\xfe not a pc file"),
    ("lib/modules/6.1.0-28-amd64/modules.dep", b"\x00\x01"),
])
def test_hostile_files_never_raise(tmp_path, name, garbage):
    root = os_tree.build("debian12", str(tmp_path / "os"))
    path = os.path.join(root, name)
    os.unlink(path)
    if garbage is None:
        os.mkdir(path)  # a directory where the file should be
    else:
        with open(path, "wb") as handle:
            handle.write(garbage)
    sysfs = build(CASES["cx5_4nic"], str(tmp_path / "sys"))
    interfaces = scan(sysfs, with_addresses=False).interfaces
    found = _readiness.readiness(interfaces, root, sysfs, "x86_64")
    assert set(found["pairings"]) == set(interfaces)


def test_this_machine_does_not_raise():
    found = _readiness.probe()
    assert set(found) == {"kernel", "dpdk", "rdma_core", "hugepages"}
    assert found["kernel"]["release"] == os.uname()[2]
