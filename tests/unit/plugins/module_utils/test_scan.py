# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scanner on kernel-exact fixture trees: facts, the pairing rule, junk and races."""

from __future__ import annotations

import copy
import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _scan
from ansible_collections.hyperv.netvsc.plugins.module_utils._scan import InterfaceError, scan
from ansible_collections.hyperv.netvsc.tests.fixtures.cases import CASES, many
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import (
    add_vf, build, case_known_macs, remove_vf, write_simulated_addresses)


@pytest.fixture
def tree(tmp_path):
    """Build a case (by name or spec) and return its root."""
    def make(case):
        spec = CASES[case] if isinstance(case, str) else case
        return build(spec, str(tmp_path / "sys"))
    return make


def pairs(snapshot):
    """{netvsc: (vf name, pci address, kind, paired_by) or None}."""
    return dict((key, iface["vf"] and (iface["vf"]["name"], iface["vf"]["pci_address"],
                                       iface["vf"]["kind"], iface["vf"]["paired_by"]))
                for key, iface in snapshot.interfaces.items())


def test_cx5_4nic_pairs_every_netvsc_by_kernel_link(tree):
    snap = scan(tree("cx5_4nic"), with_addresses=False)
    assert snap.hyperv is True
    assert pairs(snap) == {
        "eth0": ("enP2969s1", "0b99:00:02.0", "mlx5", "kernel"),
        "eth1": ("enP41635s2", "a2a3:00:02.0", "mlx5", "kernel"),
        "eth2": ("enP12161s3", "2f81:00:02.0", "mlx5", "kernel"),
        "eth3": ("enP14549s4", "38d5:00:02.0", "mlx5", "kernel"),
    }
    eth1 = snap.interfaces["eth1"]
    assert eth1["mac"] == "00:0d:3a:03:1e:b1"
    assert eth1["vmbus_id"] == "000d3a03-1eb1-000d-3a03-1eb1000d3a03"
    assert eth1["driver"] == "hv_netvsc"
    assert (eth1["mtu"], eth1["operstate"]) == (1500, "up")
    vf = eth1["vf"]
    assert (vf["vendor_id"], vf["device_id"], vf["driver"], vf["master"]) == (
        "0x15b3", "0x1018", "mlx5_core", "eth1")
    assert vf["mac"] == eth1["mac"]
    assert snap.unpaired_vfs == [] and snap.warnings == []


def test_cx4lx_gen2_np0_name(tree):
    vf = scan(tree("cx4lx"), with_addresses=False).interfaces["eth0"]["vf"]
    assert (vf["name"], vf["pci_address"], vf["device_id"], vf["kind"]) == (
        "enP53091s1np0", "cf63:00:02.0", "0x1016", "mlx5")


def test_mana_vports_share_pci_and_pair_by_their_own_mac(tree):
    snap = scan(tree("mana_shared_pci"), with_addresses=False)
    vfs = [iface["vf"] for iface in snap.interfaces.values()]
    assert len(vfs) == 2 and all(vf["kind"] == "mana" for vf in vfs)
    assert set(vf["pci_address"] for vf in vfs) == {"7870:00:00.0"}
    for iface in snap.interfaces.values():
        assert iface["vf"]["mac"] == iface["mac"]


def test_mlx4_old_kernel_pairs_by_mac(tree):
    snap = scan(tree("mlx4_old_kernel"), with_addresses=False)
    (iface,) = [i for i in snap.interfaces.values() if i["vf"]]
    assert (iface["vf"]["kind"], iface["vf"]["paired_by"], iface["vf"]["master"]) == ("mlx4", "mac", None)


def test_vf_absent_during_servicing(tree):
    snap = scan(tree("vf_absent_servicing"), with_addresses=False)
    assert snap.interfaces["eth1"]["vf"] is None
    assert snap.unpaired_vfs == []


def test_uio_bound_netvsc_is_keyed_by_guid_and_pairs_with_recorded_mac(tree):
    spec = CASES["uio_bound"]
    root = tree("uio_bound")
    without = scan(root, with_addresses=False)
    (guid,) = [key for key, iface in without.interfaces.items() if iface["name"] is None]
    uio = without.interfaces[guid]
    assert (uio["vmbus_id"], uio["driver"], uio["mac"], uio["vf"]) == (guid, "uio_hv_generic", None, None)
    assert [vf["master"] for vf in without.unpaired_vfs] == [None]
    known = scan(root, known_macs=case_known_macs(spec), with_addresses=False)
    assert known.interfaces[guid]["vf"]["paired_by"] == "mac"
    assert known.unpaired_vfs == []


def test_ambiguous_macs_pair_none_and_warn(tree):
    snap = scan(tree("ambiguous_macs"), with_addresses=False)
    assert snap.interfaces["eth1"]["vf"] is None
    assert len(snap.unpaired_vfs) == 2
    assert any("pairing none" in w and "eth1" in w for w in snap.warnings)


def test_virtual_decoys_never_pair(tree):
    snap = scan(tree("decoys"), with_addresses=False)
    vf = snap.interfaces["eth1"]["vf"]
    assert vf["paired_by"] == "mac" and vf["pci_address"]
    assert snap.unpaired_vfs == []
    decoys = [name for name in snap.others if name not in ("lo",)]
    assert decoys and all(name not in snap.interfaces for name in decoys)


def test_two_netvsc_with_one_mac_pair_nothing(tree):
    spec = copy.deepcopy(CASES["mlx4_old_kernel"])
    (owner,) = [nv for nv in spec["netvsc"] if nv["mac"] == spec["vfs"][0]["mac"]]
    twin = dict(owner, name="eth9", guid="000d3a99-0000-000d-3a99-00000000d3a9")
    spec["netvsc"].append(twin)
    snap = scan(tree(spec), with_addresses=False)
    assert all(iface["vf"] is None for iface in snap.interfaces.values())
    assert snap.warnings


def test_vanishing_interface_is_skipped(tree):
    snap = scan(tree("vanishing"), with_addresses=False)
    assert "ghost0" not in snap.interfaces and "ghost0" not in snap.others
    assert any(iface["vf"] for iface in snap.interfaces.values())
    assert snap.warnings == []


def test_garbage_attributes_become_null_with_warnings(tree):
    snap = scan(tree("garbage"), with_addresses=False)
    nulls = [(key, field) for key, iface in snap.interfaces.items()
             for field in ("mac", "mtu", "ifindex", "operstate") if iface[field] is None]
    assert nulls, "the garbage case must null some attribute"
    for key, field in nulls:
        assert any(w.startswith(key + ":") for w in snap.warnings), (key, field, snap.warnings)


def test_kvm_host_is_not_hyperv(tree):
    snap = scan(tree("kvm_virtio"), with_addresses=False)
    assert snap.hyperv is False and snap.interfaces == {}
    with pytest.raises(InterfaceError, match="is not a NetVSC interface .driver virtio_net."):
        snap.lookup("eth0")


def test_lookup_by_name_mac_guid_and_helpful_errors(tree):
    snap = scan(tree("cx5_4nic"), with_addresses=False)
    assert snap.lookup("eth2")[0] == "eth2"
    assert snap.lookup("00:0D:3A:03:18:C9")[0] == "eth2"
    assert snap.lookup("{000D3A03-18C9-000D-3A03-18C9000D3A03}")[0] == "eth2"
    with pytest.raises(InterfaceError, match=r"^enP41635s2 is the VF of eth1; pass eth1$"):
        snap.lookup("enP41635s2")
    with pytest.raises(InterfaceError, match=r"unknown interface eth9; NetVSC interfaces on this host: eth0, eth1, eth2, eth3"):
        snap.lookup("eth9")


def test_hot_plug_mutators_move_the_vf_to_a_new_pci_address(tree):
    root = tree("cx5_4nic")
    remove_vf(root, "enP41635s2")
    assert scan(root, with_addresses=False).interfaces["eth1"]["vf"] is None
    add_vf(root, "eth1", {"kind": "mlx5", "pci_guid": "58878e11-b00c-4ea4-97af-07fb5274e86b",
                          "serial": 7, "master": "eth1"})
    vf = scan(root, with_addresses=False).interfaces["eth1"]["vf"]
    assert vf["pci_address"] == "b00c:00:02.0" and vf["paired_by"] == "kernel"


def test_simulated_addresses_replace_rtnetlink(tree):
    spec = CASES["cx5_4nic"]
    root = tree("cx5_4nic")
    write_simulated_addresses(spec, root)
    snap = scan(root)
    assert snap.interfaces["eth0"]["addresses"] == ["10.0.0.5/24"]
    assert snap.interfaces["eth1"]["addresses"] == []


def test_kernel_addresses_need_matching_name_and_ifindex(tree, monkeypatch):
    root = tree("cx5_4nic")
    eth1 = scan(root, with_addresses=False).interfaces["eth1"]
    kernel = {"eth0": (999, ["192.0.2.9/24"]), "eth1": (eth1["ifindex"], ["192.0.2.1/24"])}
    monkeypatch.setattr(_scan._rtnetlink, "addresses_by_name", lambda: kernel)
    snap = scan(root)
    assert snap.interfaces["eth0"]["addresses"] == []
    assert snap.interfaces["eth1"]["addresses"] == ["192.0.2.1/24"]


def test_scan_of_this_machine_does_not_raise():
    snap = scan("/sys")
    assert isinstance(snap.hyperv, bool)
    assert snap.facts()["interfaces"] == snap.interfaces


def test_1024_interfaces_all_pair(tree):
    snap = scan(tree(many(512)), with_addresses=False)
    assert len(snap.interfaces) == 512
    assert all(iface["vf"]["paired_by"] == "kernel" for iface in snap.interfaces.values())


class CountingMac(str):
    """A MAC that counts how often it is hashed or compared."""
    operations = 0

    def __hash__(self):
        CountingMac.operations += 1
        return str.__hash__(self)

    def __eq__(self, other):
        CountingMac.operations += 1
        return str.__eq__(self, other)


def test_pairing_cost_is_linear():
    """Pairing n masterless VFs costs O(n) MAC operations, not the n x m loop of vdev_netvsc."""
    def operations(n):
        macs = [CountingMac("00:0d:3a:00:%02x:%02x" % (i >> 8, i & 255)) for i in range(n)]
        netvscs = [{"name": "eth%d" % i, "mac": mac, "vmbus_id": "g%d" % i, "vf": None}
                   for i, mac in enumerate(macs)]
        vfs = [{"name": "vf%d" % i, "mac": mac, "master": None, "paired_by": None}
               for i, mac in enumerate(macs)]
        CountingMac.operations = 0
        assert _scan._pair(netvscs, vfs, []) == []
        assert all(nv["vf"]["paired_by"] == "mac" for nv in netvscs)
        return CountingMac.operations

    small, large = operations(100), operations(800)
    assert large <= 8 * small * 1.1, (small, large)


def test_root_env_is_untouched(tree):
    root = tree("cx5_4nic")
    before = sorted(os.walk(root))
    scan(root)
    assert sorted(os.walk(root)) == before
