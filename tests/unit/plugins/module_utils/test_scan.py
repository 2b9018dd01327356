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
    add_vf, build, case_known_macs, remove_vf, write_simulated_network)


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
    write_simulated_network(spec, root)
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


# ---------------------------------------------------------------------------- the VF rule


def other_pci(snapshot):
    """{name: (driver, vendor, device, link type, master)} of the other PCI NICs."""
    return dict((nic["name"], (nic["driver"], nic["vendor_id"], nic["device_id"],
                               nic["link_type"], nic["master"])) for nic in snapshot.other_pci_nics)


def test_gen1_legacy_network_adapter_is_another_pci_nic(tree):
    snap = scan(tree("gen1_legacy_nic"), with_addresses=False)
    assert snap.hyperv is True and snap.unpaired_vfs == []
    assert pairs(snap) == {"eth0": None}
    assert other_pci(snap) == {"enp0s10": ("tulip", "0x1011", "0x0009", "ether", None)}
    assert snap.other_pci_nics[0]["pci_address"] == "0000:00:0a.0"
    assert snap.warnings == []


def test_vmware_host_has_no_vf_candidates(tree):
    snap = scan(tree("vmware_vmxnet3"), with_addresses=False)
    assert (snap.hyperv, snap.interfaces, snap.unpaired_vfs) == (False, {}, [])
    assert other_pci(snap) == {"ens192": ("vmxnet3", "0x15ad", "0x07b0", "ether", None)}
    assert snap.vf_functions_without_netdev == []


def test_kvm_net_failover_primary_is_not_a_netvsc_vf(tree):
    """Its ids are a Hyper-V VF family's and it is enslaved, but there is no VMBus."""
    snap = scan(tree("kvm_net_failover"), with_addresses=False)
    assert (snap.hyperv, snap.interfaces, snap.unpaired_vfs) == (False, {}, [])
    assert other_pci(snap) == {"ens11": ("mlx5_core", "0x15b3", "0x1018", "ether", "ens10")}
    assert snap.others["ens10"] == snap.others["ens10nsby"] == "virtio_net"


def test_hyperv_dda_passthrough_nic_is_not_an_unpaired_vf(tree):
    snap = scan(tree("hyperv_dda_nic"), with_addresses=False)
    assert snap.unpaired_vfs == []
    assert pairs(snap)["eth1"] == ("enP53091s1", "cf63:00:02.0", "mlx5", "kernel")
    assert other_pci(snap) == {"enP4660s3": ("igb", "0x8086", "0x1521", "ether", None)}


def test_infiniband_vf_beside_the_ethernet_vf_stays_excluded(tree):
    snap = scan(tree("hpc_infiniband"), with_addresses=False)
    assert pairs(snap) == {"eth0": ("enP49709s1", "c22d:00:02.0", "mlx5", "kernel")}
    assert snap.unpaired_vfs == []
    ib0 = [nic for nic in snap.other_pci_nics if nic["name"] == "ib0"]
    assert ib0 == [{"name": "ib0", "mac": None, "link_type": "infiniband",
                    "pci_address": "0101:00:02.0", "driver": "mlx5_core", "vendor_id": "0x15b3",
                    "device_id": "0x101c", "master": None}]
    assert snap.warnings == [], "a 20-byte IPoIB address must not be read as a garbled MAC"


def test_mana_function_without_driver_is_reported_not_paired(tree):
    snap = scan(tree("mana_no_driver"), with_addresses=False)
    assert pairs(snap) == {"eth0": None, "eth1": None}
    assert snap.unpaired_vfs == [] and snap.other_pci_nics == []
    assert snap.vf_functions_without_netdev == [{
        "pci_address": "7870:00:00.0", "kind": "mana", "vendor_id": "0x1414",
        "device_id": "0x00ba", "driver": None}]
    assert snap.facts()["vf_functions_without_netdev"] == snap.vf_functions_without_netdev


def test_bound_functions_with_netdevs_are_not_listed_as_without_netdev(tree):
    snap = scan(tree("mana_shared_pci"), with_addresses=False)
    assert snap.vf_functions_without_netdev == []


@pytest.mark.parametrize("nic, vmbus, expected", [
    ({"kind": "mlx5", "mac": "00:0d:3a:00:00:09"}, True, True),           # (a) VF family ids
    ({"kind": "unknown", "mac": "00:0d:3a:00:00:01"}, True, True),        # (b) a NetVSC's MAC
    ({"kind": "unknown", "master": "eth0"}, True, True),                  # (c) kernel link
    ({"kind": "unknown", "mac": "00:50:56:00:00:01"}, True, False),       # emulated / DDA NIC
    ({"kind": "unknown", "master": "bond0"}, True, False),                # enslaved elsewhere
    ({"kind": "mlx5", "mac": "00:0d:3a:00:00:01", "master": "eth0"}, False, False),  # no VMBus
    ({"kind": "mlx5", "link_type": "infiniband"}, True, False),           # IPoIB
    ({"kind": "unknown", "link_type": "arphrd 776", "mac": None}, True, False),
    ({"kind": "unknown", "mac": None}, True, False),                      # garbled MAC
])
def test_vf_rule_table(nic, vmbus, expected):
    record = dict({"link_type": "ether", "master": None, "mac": None}, **nic)
    assert _scan.is_vf_candidate(record, vmbus, {"00:0d:3a:00:00:01"}, {"eth0"}) is expected


def test_unknown_ids_with_a_netvsc_mac_still_pair(tree):
    """A VF family this collection does not know yet pairs by MAC (hv_netvsc does too)."""
    spec = copy.deepcopy(CASES["mlx4_old_kernel"])
    spec["vfs"][0].update(kind=None, vendor_id="0x1af4", device_id="0x10ff", driver="future_vf")
    vf = [i["vf"] for i in scan(tree(spec), with_addresses=False).interfaces.values() if i["vf"]]
    assert [(v["kind"], v["paired_by"], v["driver"]) for v in vf] == [("unknown", "mac", "future_vf")]


# ------------------------------------------------------------------ why a VF is unpaired


def test_ambiguous_vfs_say_which_vfs_share_the_mac(tree):
    snap = scan(tree("ambiguous_macs"), with_addresses=False)
    reasons = set(vf["unpaired_reason"] for vf in snap.unpaired_vfs)
    assert reasons == {"2 VFs (enP12161s3, enP41635s2) and 1 NetVSC carry MAC 00:0d:3a:03:1e:b1"}
    assert snap.warnings == ["eth1: 2 VFs (enP12161s3, enP41635s2) and 1 NetVSC carry MAC "
                             "00:0d:3a:03:1e:b1; pairing none of them"]


def test_vf_of_an_unrecorded_uio_netvsc_says_no_netvsc_has_its_mac(tree):
    (vf,) = scan(tree("uio_bound"), with_addresses=False).unpaired_vfs
    assert vf["unpaired_reason"] == "no NetVSC carries its MAC 00:0d:3a:03:1e:b1"


def test_vf_enslaved_elsewhere_says_so(tree):
    spec = copy.deepcopy(CASES["cx4lx"])
    vf = spec["vfs"][0]
    del vf["master"]
    vf["mac"] = spec["netvsc"][0]["mac"]
    spec["virtual"] = [{"name": "br0", "kind": "bridge", "mac": vf["mac"],
                        "ports": ["enP53091s1np0"]}]
    snap = scan(tree(spec), with_addresses=False)
    (unpaired,) = snap.unpaired_vfs
    assert unpaired["unpaired_reason"] == "enslaved to br0, which is not a NetVSC"
    assert snap.interfaces["eth0"]["vf"] is None
