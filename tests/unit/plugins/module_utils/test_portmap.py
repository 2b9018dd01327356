# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_portmap: natural order and the port map, with the device names _devargs.render() gives."""

from __future__ import annotations

import json

from ansible_collections.hyperv.netvsc.plugins.module_utils import _devargs, _portmap

MAC1, MAC2, MAC3 = "00:0d:3a:03:1e:b1", "00:0d:3a:03:1e:b2", "60:45:bd:f3:fb:7b"
GUID1 = "000d3a03-1eb1-000d-3a03-1eb1000d3a03"
GUID3 = "f8615163-0000-1000-2000-6045bdf3fb7b"


def pair(pid, mac, name, driver="hv_netvsc", vmbus_id=None, vf=None):
    return {"id": pid, "mac": mac, "netvsc_name": name, "vmbus_id": vmbus_id, "driver": driver,
            "forced": False, "vf": vf}


def test_natural_key_sorts_interface_names_as_people_do():
    names = ["eth10", "eth2", "eth1", "enP2p0s2", "eth", "", "eth01", "eth1a", None]
    assert sorted(names, key=_portmap.natural_key) == [
        "", None, "enP2p0s2", "eth", "eth1", "eth01", "eth1a", "eth2", "eth10"]


def test_failsafe_map_in_argument_order():
    pairs = [pair("dpdk1", MAC2, "eth10"), pair("dpdk0", MAC1, "eth2", vmbus_id=GUID1)]
    rendered = _devargs.render(pairs, mode="failsafe")
    ports = _portmap.port_map(pairs, rendered)
    assert ports == [
        {"position": 0, "id": "dpdk1", "device": "net_failsafe_dpdk1", "mode": "failsafe",
         "netvsc": "eth10", "mac": MAC2, "vmbus_id": None},
        {"position": 1, "id": "dpdk0", "device": "net_failsafe_dpdk0", "mode": "failsafe",
         "netvsc": "eth2", "mac": MAC1, "vmbus_id": GUID1}]
    # fail-safe's vdev name is the device name: it leads the pairing's devargs
    assert all(rendered.devargs[p["id"]][0].startswith(p["device"] + ",") for p in ports)


def test_vdev_netvsc_devices_count_its_netvscs():
    pairs = [pair("b", MAC2, "eth2"), pair("a", MAC1, "eth1")]
    rendered = _devargs.render(pairs, mode="vdev_netvsc")
    assert rendered.devices == {"b": "net_failsafe_vsc0", "a": "net_failsafe_vsc1"}
    assert rendered.eal_args[1] == "net_vdev_netvsc0,iface=eth2"


def test_netvsc_pmd_devices_are_vmbus_guids_and_names_can_be_the_last_seen():
    pairs = [pair("m", MAC3, None, "uio_hv_generic", GUID3,
                  {"pci_address": "7870:00:00.0", "mac": MAC3, "kind": "mana"}),
             pair("p", MAC1, None, "uio_hv_generic", GUID1)]
    rendered = _devargs.render(pairs, mode="netvsc_pmd")
    ports = _portmap.port_map(pairs, rendered, {"m": "eth1", "p": "eth2"})
    assert [(p["device"], p["netvsc"], p["mode"]) for p in ports] == [
        (GUID3, "eth1", "netvsc_pmd"), (GUID1, "eth2", "netvsc_pmd")]


def test_auto_map_mixes_modes():
    pairs = [pair("f", MAC2, "eth2"), pair("p", MAC1, None, "uio_hv_generic", GUID1)]
    rendered = _devargs.render(pairs, mode="auto")
    assert [(p["device"], p["mode"]) for p in _portmap.port_map(pairs, rendered)] == [
        ("net_failsafe_f", "failsafe"), (GUID1, "netvsc_pmd")]
    assert rendered.reasons == {"f": "the NetVSC is declared with driver hv_netvsc",
                                "p": "the NetVSC is declared with driver uio_hv_generic"}


def test_format_map_is_stable_json():
    pairs = [pair("dpdk0", MAC1, "eth1", vmbus_id=GUID1)]
    ports = _portmap.port_map(pairs, _devargs.render(pairs))
    text = _portmap.format_map(ports)
    assert text.endswith("}\n") and text == _portmap.format_map(json.loads(text)["ports"])
    assert json.loads(text) == {"format": 1, "ports": ports}
    assert text.index('"device"') < text.index('"id"') < text.index('"mac"')  # keys sorted
