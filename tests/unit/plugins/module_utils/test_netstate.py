# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The network state: the simulated-network file (what the fixture builder writes, what the
scanner takes addresses from) and the kernel view on this machine (unprivileged)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _netstate, _simulated
from ansible_collections.hyperv.netvsc.plugins.module_utils._scan import scan
from ansible_collections.hyperv.netvsc.tests.fixtures.cases import CASES
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import (
    SIMULATED_NETWORK, build, case_network, write_simulated_network)


@pytest.fixture
def tree(tmp_path):
    def make(case, simulated=True):
        root = build(CASES[case], str(tmp_path / "sys"))
        if simulated:
            write_simulated_network(CASES[case], root)
        return root
    return make


def test_builder_and_reader_agree_on_the_name():
    assert SIMULATED_NETWORK == _simulated.SIMULATED_NETWORK


def test_simulated_tree_gives_what_the_kernel_would(tree):
    root = tree("guard_stacked")
    state = _netstate.read(root)
    assert state.simulated is True
    eth1, br0 = state.links["eth1"], state.links["br0"]
    assert (eth1.ifindex, eth1.master, eth1.kind) == (3, "bond0", None)
    assert (state.links["bond0.10"].lower, state.links["bond0.10"].master) == ("bond0", "br0")
    assert (br0.kind, state.links["enP2561s1"].master) == ("bridge", "eth1")
    assert state.addresses["br0"] == ["10.1.0.4/24"] and state.addresses["lo"] == ["127.0.0.1/8", "::1/128"]
    assert state.routes == [_netstate.DefaultRoute(4, 254, ("br0",))]
    [ssh] = state.connections
    assert (ssh.connection.local, ssh.connection.remote, ssh.egress) == ("10.0.0.4", "203.0.113.7", ("eth0",))


def test_tree_links_follow_the_tree(tree):
    """Ifindexes, masters and lower devices come from the built tree (as sysfs shows them)."""
    root = tree("decoys")
    links = dict((link["name"], link) for link in case_network(CASES["decoys"], root)["links"])
    assert links["eth1.100"]["lower"] == "eth1" and links["eth1.100"]["kind"] == "vlan"
    assert links["veth0"]["lower"] == "veth1" and links["veth0"]["master"] == "br0"
    assert links["tap0"]["kind"] == "tun"
    for name, link in links.items():
        with open(os.path.join(root, "class", "net", name, "ifindex")) as handle:
            assert int(handle.read()) == link["ifindex"]


def test_scanner_takes_routed_addresses_from_the_file(tree):
    snap = scan(tree("cx4lx"))
    assert snap.interfaces["eth0"]["addresses"] == ["10.1.19.4/24"]  # fe80:: left out, as rtnetlink's


def test_scanner_warns_about_a_garbled_file_and_uses_no_addresses(tree):
    root = tree("cx5_4nic")
    with open(os.path.join(root, SIMULATED_NETWORK), "w") as handle:
        handle.write("{")
    snap = scan(root)
    assert snap.interfaces["eth0"]["addresses"] == []
    assert len(snap.warnings) == 1 and "is not valid JSON" in snap.warnings[0]
    assert snap.warnings[0].endswith("; no addresses used")


def test_file_larger_than_the_limit_is_refused(tree, monkeypatch):
    root = tree("cx5_4nic")
    monkeypatch.setattr(_simulated, "_MAX_FILE", 64)
    with pytest.raises(_netstate.Unreadable, match="is larger than 64 bytes"):
        _netstate.read(root)


def test_non_utf8_file_is_unreadable(tree):
    root = tree("cx5_4nic")
    with open(os.path.join(root, SIMULATED_NETWORK), "wb") as handle:
        handle.write(b'{"format": 1, "links": "\xff"}')
    with pytest.raises(_netstate.Unreadable, match="is not valid JSON"):
        _netstate.read(root)


def test_symlinked_file_is_followed(tree, tmp_path):
    """A tree may share one network file (the demo fleet does not, but nothing forbids it)."""
    root = tree("guard_bridge")
    target = tmp_path / "network.json"
    os.rename(os.path.join(root, SIMULATED_NETWORK), str(target))
    os.symlink(str(target), os.path.join(root, SIMULATED_NETWORK))
    assert _netstate.read(root).routes == [_netstate.DefaultRoute(4, 254, ("br0",))]


def test_dangling_symlink_is_unreadable_not_a_real_tree(tree):
    root = tree("guard_bridge", simulated=False)
    os.symlink("/nonexistent/network.json", os.path.join(root, SIMULATED_NETWORK))
    with pytest.raises(_netstate.Unreadable, match="No such file or directory"):
        _netstate.read(root)


@pytest.mark.parametrize("table, name", [(254, "main"), (253, "default"), (255, "local"), (100, "100")])
def test_table_names(table, name):
    assert _netstate.table_name(table) == name


def test_route_dst_forms(tree):
    root = tree("guard_bridge")
    path = os.path.join(root, SIMULATED_NETWORK)
    with open(path) as handle:
        data = json.load(handle)
    data["routes"] = [{"family": 4, "dst": "0.0.0.0/0", "table": "main", "dev": "eth1"},
                      {"family": 6, "dst": "::/0", "table": 254, "dev": "eth2"},
                      {"family": 4, "dst": "10.0.0.0/8", "table": "main", "dev": "eth0"}]
    with open(path, "w") as handle:
        json.dump(data, handle)
    assert [(r.family, r.devices) for r in _netstate.read(root).routes] == [(4, ("eth1",)), (6, ("eth2",))]


def test_kernel_view_of_this_machine(tree):
    """Unprivileged reads of this machine's kernel: the loopback is link 1 with 127.0.0.1."""
    state = _netstate.read(tree("cx5_4nic", simulated=False))
    assert state.simulated is False
    assert state.links["lo"].ifindex == 1
    assert "127.0.0.1/8" in state.addresses["lo"]
    for route in state.routes:
        assert route.family in (4, 6) and all(device in state.links for device in route.devices)
