# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The failsafe role carries the pairings to a DPDK application (issue 13), on simulated hosts
(sandbox roots, services not managed; the same harness as test_role.py):

  ordered  cx5_4nic, netvsc_interfaces [eth3, eth1] (neither the ids' nor the names' order),
           failsafe, a DPDK unit: the EAL arguments in the listed order, the port map, the
           unit's drop-in
  auto     cx5_4nic, netvsc_mode auto on Debian 12 (DPDK 22.11 with the netvsc PMD): every
           pairing bound for the netvsc PMD, no monitor; back to failsafe installs it, auto
           again removes it through the manifest
  mana     cx5_4nic, failsafe; then its eth1 VF goes from mlx5 to MANA (a deallocate on Azure
           since 2026-05): fail-safe is refused with the reason, auto on Debian 13 switches to
           the netvsc PMD with the MANA arguments and links down before start

The tests run in file order. In a sandbox the binding writes the tree's driver attribute
files and the kernel does nothing: kernel_binds() rebuilds a host's tree as the kernel shows it
afterwards (sysfs_tree.rebound). Under real systemd (drop-in read, try-restart):
extensions/molecule/units.
"""

from __future__ import annotations

import json
import shutil

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils._units import DROPIN_NAME
from ansible_collections.hyperv.netvsc.tests.fixtures import os_tree, sysfs_tree
from ansible_collections.hyperv.netvsc.tests.integration.role.test_role import MAX_RERUN_MODULES, Fleet, _show

pytestmark = pytest.mark.usefixtures("collections_path")

ETH1, ETH3 = "000d3a031eb1", "000d3a0319f7"
ETH1_MAC = "00:0d:3a:03:1e:b1"
ETH1_GUID = "000d3a03-1eb1-000d-3a03-1eb1000d3a03"
HOSTS = {
    "ordered": {"case": "cx5_4nic", "vars": {
        "netvsc_interfaces": ["eth3", {"name": "eth1", "id": "dpdk1"}],
        "netvsc_dpdk_units": ["dpdk-app.service"]}},
    "auto": {"case": "cx5_4nic", "vars": {"netvsc_mode": "auto", "netvsc_interfaces": ["eth1", "eth2"]}},
    "mana": {"case": "cx5_4nic", "vars": {"netvsc_interfaces": ["eth1"],
                                          "netvsc_dpdk_units": ["dpdk-app.service"]}},
}
MONITOR = ["etc/systemd/system/netvsc-monitor.service", "usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz"]


def build_tree(fleet, host, spec):
    """(Re)build a host's simulated sysfs tree and network, with the driver attribute files
    the binding writes (the kernel's; sysfs_tree does not write them)."""
    root = fleet.base / host / "sys"
    shutil.rmtree(str(root), ignore_errors=True)
    sysfs_tree.build(spec, str(root))
    sysfs_tree.write_simulated_network(spec, str(root))
    for driver in ("hv_netvsc", "uio_hv_generic"):
        directory = root / "bus" / "vmbus" / "drivers" / driver
        directory.mkdir(parents=True, exist_ok=True)
        for attribute in ("bind", "unbind", "new_id"):
            (directory / attribute).touch()
    return root


def kernel_binds(fleet, host, names, vf_kind=None):
    """The tree as the kernel shows it once netvsc_pair bound these NetVSCs to uio_hv_generic."""
    build_tree(fleet, host, sysfs_tree.rebound(sysfs_tree.CASES[HOSTS[host]["case"]], names,
                                               vf_kind=vf_kind))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, collections_path):
    base = tmp_path_factory.mktemp("role-dpdk")
    fleet = Fleet(base, collections_path, HOSTS)
    inventory = json.loads(fleet.inventory.read_text())
    for name, system in (("auto", "debian12"), ("mana", "debian13")):
        inventory["all"]["hosts"][name]["netvsc_readiness_root"] = os_tree.build(system, str(base / name / "os"))
    fleet.inventory.write_text(json.dumps(inventory))
    for name, host in HOSTS.items():
        build_tree(fleet, name, sysfs_tree.CASES[host["case"]])
    return fleet


def read(fleet, host, rel):
    return (fleet.root(host) / rel).read_text()


def test_eal_arguments_in_the_listed_order_with_the_port_map(fleet):
    proc = fleet.run(limit="ordered")
    assert proc.returncode == 0, _show(proc)
    root = fleet.root("ordered")
    eal, ports_line = read(fleet, "ordered", "etc/netvsc/eal.env").splitlines()
    assert eal.index("net_failsafe_%s," % ETH3) < eal.index("net_failsafe_dpdk1,")
    assert ports_line == 'NETVSC_DPDK_PORTS="net_failsafe_%s net_failsafe_dpdk1"' % ETH3
    ports = json.loads(read(fleet, "ordered", "etc/netvsc/ports.map"))
    assert ports == {"format": 1, "ports": [
        {"position": 0, "id": ETH3, "device": "net_failsafe_" + ETH3, "mode": "failsafe",
         "netvsc": "eth3", "mac": "00:0d:3a:03:19:f7", "vmbus_id": "000d3a03-19f7-000d-3a03-19f7000d3a03"},
        {"position": 1, "id": "dpdk1", "device": "net_failsafe_dpdk1", "mode": "failsafe",
         "netvsc": "eth1", "mac": ETH1_MAC, "vmbus_id": ETH1_GUID}]}
    dropin = read(fleet, "ordered", "etc/systemd/system/dpdk-app.service.d/" + DROPIN_NAME)
    assert "EnvironmentFile=%s/etc/netvsc/eal.env\n" % root in dropin
    assert "After=netvsc-monitor.service\n" in dropin  # fail-safe reads the monitor's files
    again = fleet.run(limit="ordered")
    assert again.recap["ordered"]["changed"] == 0 and again.modules["ordered"] == 5, _show(again)
    # Listed the other way round, the ports follow.
    swapped = fleet.run(limit="ordered", extra={"netvsc_interfaces": [{"name": "eth1", "id": "dpdk1"}, "eth3"]})
    assert swapped.returncode == 0, _show(swapped)
    assert [p["id"] for p in json.loads(read(fleet, "ordered", "etc/netvsc/ports.map"))["ports"]] == ["dpdk1", ETH3]
    assert fleet.run(limit="ordered").returncode == 0


def test_a_dpdk_unit_no_longer_listed_loses_its_drop_in(fleet):
    dropin = fleet.root("ordered") / "etc/systemd/system/dpdk-app.service.d" / DROPIN_NAME
    proc = fleet.run(limit="ordered", extra={"netvsc_dpdk_units": []})
    assert proc.returncode == 0, _show(proc)
    assert not dropin.exists()
    # Its (now empty) directory stays recorded in the manifest: teardown removes it.
    manifest = json.loads(read(fleet, "ordered", "var/lib/hyperv-netvsc/manifest.json"))
    assert str(dropin.parent) in manifest["directories"] and str(dropin) not in manifest["files"]
    assert fleet.run(limit="ordered").returncode == 0 and dropin.exists()


def test_auto_binds_for_the_netvsc_pmd_and_runs_no_monitor(fleet):
    proc = fleet.run(limit="auto")
    assert proc.returncode == 0, _show(proc)
    for pair_id in (ETH1, "000d3a0318c9"):
        declaration = json.loads(read(fleet, "auto", "etc/netvsc/pairs.d/%s.json" % pair_id))
        assert declaration["driver"] == "uio_hv_generic"
    ports = json.loads(read(fleet, "auto", "etc/netvsc/ports.map"))["ports"]
    assert [(p["netvsc"], p["mode"], p["device"]) for p in ports] == [
        ("eth1", "netvsc_pmd", ETH1_GUID), ("eth2", "netvsc_pmd", "000d3a03-18c9-000d-3a03-18c9000d3a03")]
    assert read(fleet, "auto", "etc/netvsc/eal.env").startswith('NETVSC_EAL_ARGS="-a a2a3:00:02.0 -a ')
    files = fleet.files("auto")
    assert not [f for f in files if f in MONITOR or f.startswith("run/netvsc/")], files
    kernel_binds(fleet, "auto", ["eth1", "eth2"])
    again = fleet.run(limit="auto")
    assert again.recap["auto"]["changed"] == 0, _show(again)
    # netvsc_pair, netvsc_failsafe, netvsc_files (the monitor's absence): fewer than fail-safe's 5
    assert again.modules["auto"] == 3 <= MAX_RERUN_MODULES, again.modules
    ports = json.loads(read(fleet, "auto", "etc/netvsc/ports.map"))["ports"]
    assert [p["netvsc"] for p in ports] == ["eth1", "eth2"]  # the last names seen, no netdev now


def test_mlx5_to_mana_on_the_same_vm(fleet):
    """And the monitor, there while a pairing is fail-safe, goes with it (by the manifest)."""
    proc = fleet.run(limit="mana")
    assert proc.returncode == 0, _show(proc)
    assert "net_failsafe_%s," % ETH1 in read(fleet, "mana", "etc/netvsc/eal.env")
    files = fleet.files("mana")
    assert all(f in files for f in MONITOR) and "run/netvsc/%s.vf" % ETH1 in files
    user_file = fleet.root("mana") / "usr/local/lib/notes.txt"
    user_file.write_text("mine\n")
    sys_root = str(fleet.base / "mana" / "sys")
    sysfs_tree.remove_vf(sys_root, "enP41635s2")
    sysfs_tree.add_vf(sys_root, "eth1", {"kind": "mana", "domain": 0x7870})
    before = fleet.files("mana")

    stale = fleet.run(limit="mana")  # fail-safe asked for by name: no longer valid
    assert stale.recap["mana"]["failed"] == 1, _show(stale)
    assert ("mode failsafe is not valid for it: its VF 7870:00:00.0 is a MANA device (Azure moves "
            "VMs to MANA hardware after a deallocate)") in stale.stdout, _show(stale)
    assert fleet.files("mana") == before  # the EAL files still say what DPDK runs now

    switched = fleet.run(limit="mana", extra={"netvsc_mode": "auto"})
    assert switched.returncode == 0, _show(switched)
    assert json.loads(read(fleet, "mana", "etc/netvsc/pairs.d/%s.json" % ETH1))["driver"] == "uio_hv_generic"
    assert read(fleet, "mana", "etc/netvsc/eal.env").splitlines() == [
        'NETVSC_EAL_ARGS="--vdev 7870:00:00.0,mac=%s"' % ETH1_MAC, 'NETVSC_DPDK_PORTS="%s"' % ETH1_GUID]
    dropin = read(fleet, "mana", "etc/systemd/system/dpdk-app.service.d/" + DROPIN_NAME)
    assert "in %s) ip link set dev" % ETH1_MAC in dropin and "netvsc-monitor" not in dropin
    assert "uio_hv_generic/%s ||" % ETH1_GUID in dropin
    rule = read(fleet, "mana", "etc/udev/rules.d/90-hyperv-netvsc-vf-%s.rules" % ETH1)
    assert 'DRIVERS=="mana", RUN{builtin}+="kmod load mana_ib ib_uverbs"' in rule
    files = fleet.files("mana")
    assert not [f for f in files if f in MONITOR or f.startswith("run/netvsc/")], files
    assert not (fleet.root("mana") / "usr/local/lib/hyperv-netvsc").exists() and user_file.exists()
    manifest = json.loads(read(fleet, "mana", "var/lib/hyperv-netvsc/manifest.json"))
    assert not [p for p in manifest["files"] + manifest["directories"]
                if "netvsc-monitor" in p or "/run/netvsc" in p], manifest
    kernel_binds(fleet, "mana", ["eth1"], vf_kind="mana")
    again = fleet.run(limit="mana", extra={"netvsc_mode": "auto"})
    assert again.recap["mana"]["changed"] == 0, _show(again)
