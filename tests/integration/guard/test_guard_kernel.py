# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The management guard against the real kernel and a real sshd, in network namespaces.

Each test makes veth links in a fresh "VM" namespace (their peers in a "controller"
namespace), stacks bridges or macvlans, adds routes and rules, and builds a sysfs tree whose
NetVSCs are those links by name and ifindex; run_guard.py runs the guard in the VM namespace
(or over SSH) on that tree. Bond, VLAN, team and VRF links cannot be made on this kernel: the
unit tests cover them on simulated trees.
"""

from __future__ import annotations

import json
import os
import socket

import pytest

from ansible_collections.hyperv.netvsc.tests.fixtures import sysfs_tree

pytestmark = pytest.mark.root

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FREE = {"management": False, "carries_traffic": False, "reasons": []}


def vm(world, *lines):
    """Run each command line in the VM namespace."""
    for line in lines:
        world.vm(*line.split())


def free(name, *devices):
    return dict(FREE, devices=[name] + list(devices))


def test_bridge_port_under_the_default_route(world, guard):
    world.link("eth0", peer_addresses=["198.18.0.1/24"])
    world.link("eth1")
    vm(world, "ip link add br0 type bridge", "ip link set eth0 master br0", "ip link set br0 up",
       "ip addr add 198.18.0.2/24 dev br0", "ip route add default via 198.18.0.1")
    result = guard.local(guard.tree(["eth0", "eth1"]))
    assert result["eth0"] == {
        "management": True, "carries_traffic": True, "devices": ["eth0", "br0"],
        "reasons": ["eth0 is a port of bridge br0, which holds the IPv4 default route (table main)"]}
    assert result["eth1"] == free("eth1")


def test_macvlan_on_the_netvsc_holds_the_default_route(world, guard):
    world.link("eth2", peer_addresses=["198.18.2.1/24"])
    vm(world, "ip link add mv0 link eth2 type macvlan mode bridge", "ip link set mv0 up",
       "ip addr add 198.18.2.9/24 dev mv0", "ip route add default via 198.18.2.1")
    result = guard.local(guard.tree(["eth2"]))
    assert result["eth2"]["reasons"] == [
        "eth2 is the lower device of macvlan mv0, which holds the IPv4 default route (table main)"]
    assert result["eth2"]["devices"] == ["eth2", "mv0"]


def test_ipv6_only_default_route(world, guard):
    world.link("eth3", ["2001:db8:3::2/64"], ["2001:db8:3::1/64"])
    world.link("eth4")
    vm(world, "ip -6 route add default via 2001:db8:3::1 dev eth3")
    result = guard.local(guard.tree(["eth3", "eth4"]))
    assert result["eth3"]["reasons"] == ["eth3 holds the IPv6 default route (table main)"]
    assert result["eth4"] == free("eth4")  # link-local only: no traffic


def test_policy_routing_tables_count_when_a_rule_looks_them_up(world, guard):
    world.link("eth4", ["198.18.4.2/24"], ["198.18.4.1/24"])
    world.link("eth5", ["198.18.5.2/24"], ["198.18.5.1/24"])
    vm(world, "ip route add default via 198.18.4.1 table 100",
       "ip rule add from 198.18.4.2 lookup 100 pref 100",
       "ip route add default via 198.18.5.1 table 200")  # no rule looks table 200 up
    result = guard.local(guard.tree(["eth4", "eth5"]))
    assert result["eth4"]["reasons"] == ["eth4 holds the IPv4 default route (table 100)"]
    assert result["eth5"] == dict(free("eth5"), carries_traffic=True)
    vm(world, "ip rule add fwmark 7 lookup 200 pref 200")
    assert guard.local(guard.tree(["eth5"]))["eth5"]["reasons"] == [
        "eth5 holds the IPv4 default route (table 200)"]


def test_multipath_next_hops(world, guard):
    world.link("eth6", ["198.18.6.2/24"], ["198.18.6.1/24"])
    world.link("eth7", ["198.18.7.2/24"], ["198.18.7.1/24"])
    vm(world, "ip route add default nexthop via 198.18.6.1 dev eth6 nexthop via 198.18.7.1 dev eth7")
    result = guard.local(guard.tree(["eth6", "eth7"]))
    for name in ("eth6", "eth7"):
        assert result[name]["reasons"] == [
            "%s holds a next hop of the IPv4 default route (table main)" % name]


def routes_as_dumped(world, family=socket.AF_INET):
    """What _rtnetlink.default_routes() reads in the VM namespace (tables, oifs, nexthop ids)."""
    code = ("import json, sys; sys.path.insert(0, %r); from plugins.module_utils import _rtnetlink; "
            "print(json.dumps(_rtnetlink.default_routes(%d)))" % (REPO, family))
    return json.loads(world.vm("python3", "-c", code).stdout)


def test_nexthop_objects_without_compat_mode(world, guard):
    """With nexthop_compat_mode=0 a route names only its nexthop id; the guard asks for it."""
    world.link("eth8", ["198.18.8.2/24"], ["198.18.8.1/24"])
    world.link("eth9", ["198.18.9.2/24"], ["198.18.9.1/24"])
    vm(world, "sysctl -qw net.ipv4.nexthop_compat_mode=0",
       "ip nexthop add id 10 via 198.18.8.1 dev eth8", "ip nexthop add id 11 via 198.18.9.1 dev eth9",
       "ip nexthop add id 12 group 10/11",
       "ip route add default nhid 10 table 300", "ip rule add lookup 300 pref 300",
       "ip route add default nhid 12")
    assert sorted(map(tuple, (r[:1] + r[2:] for r in routes_as_dumped(world)))) == [(254, 12), (300, 10)]
    assert all(r[1] == [] for r in routes_as_dumped(world))  # no RTA_OIF: really nexthop objects
    result = guard.local(guard.tree(["eth8", "eth9"]))
    assert sorted(result["eth8"]["reasons"]) == [
        "eth8 holds a next hop of the IPv4 default route (table main)",
        "eth8 holds the IPv4 default route (table 300)"]
    assert result["eth9"]["reasons"] == ["eth9 holds a next hop of the IPv4 default route (table main)"]


def test_the_vf_itself_holds_the_default_route(world, guard):
    world.link("eth1")
    world.link("enP8193s1", ["198.18.1.2/24"], ["198.18.1.1/24"])
    vm(world, "ip route add default via 198.18.1.1")
    result = guard.local(guard.tree(["eth1"], vfs={"enP8193s1": "eth1"}))
    assert result["eth1"]["reasons"] == ["eth1's VF enP8193s1 holds the IPv4 default route (table main)"]
    assert result["eth1"]["devices"] == ["eth1", "enP8193s1"]


def test_l3mdev_rule_is_read(world):
    vm(world, "ip rule add l3mdev pref 1000")
    code = ("import sys, socket; sys.path.insert(0, %r); from plugins.module_utils import _rtnetlink; "
            "print(_rtnetlink.rule_tables(socket.AF_INET)[1])" % REPO)
    assert world.vm("python3", "-c", code).stdout.strip() == "True"


def test_a_tree_link_with_another_ifindex_is_not_this_kernels(world, guard, tmp_path):
    """The kernel's eth0 holds the default route, but the tree's eth0 has another ifindex."""
    world.link("eth0", ["198.18.0.2/24"], ["198.18.0.1/24"])
    vm(world, "ip route add default via 198.18.0.1")
    spec = world.netvsc_spec(["eth0"])
    spec["netvsc"][0]["ifindex"] += 50
    root = sysfs_tree.build(spec, str(tmp_path / "other"))
    assert guard.local(root)["eth0"] == free("eth0")
    assert guard.local(guard.tree(["eth0"]))["eth0"]["management"] is True


# ------------------------------------------------------------------------- a real sshd

CONNECTION = "eth1 holds 198.18.1.3, the local address of the SSH connection from 198.18.1.1 (%s)"


def ssh_vm(world, port=2222):
    """eth0 (default route) and eth1 (sshd's address is its secondary one) in the VM."""
    world.link("eth0", ["198.18.0.2/24"], ["198.18.0.1/24"])
    world.link("eth1", ["198.18.1.2/24", "198.18.1.3/24"], ["198.18.1.1/24"])
    world.link("eth2")
    vm(world, "ip route add default via 198.18.0.1")
    world.start_sshd("198.18.1.3", port=port)


def test_ssh_connection_found_without_ssh_connection_variable(world, guard):
    """Over a real connection to sshd on port 2222, with SSH_CONNECTION unset (sudo's
    env_reset): the guard finds the connection among sshd's sockets."""
    ssh_vm(world)
    root = guard.tree(["eth0", "eth1", "eth2"])
    result = guard.over_ssh(root)
    assert result["eth1"]["reasons"] == [CONNECTION % "sshd's socket"]
    assert result["eth0"]["reasons"] == ["eth0 holds the IPv4 default route (table main)"]
    assert result["eth2"] == free("eth2")
    assert guard.over_ssh(root, keep_ssh_connection=True)["eth1"]["reasons"] == [
        CONNECTION % "sshd's socket"]  # the same connection, named once


def test_held_connection_seen_from_outside_the_session(world, guard):
    """The guard is no descendant of sshd (a module run by another connection, a timer):
    the open connection is still found, and without it nothing is."""
    ssh_vm(world)
    root = guard.tree(["eth0", "eth1", "eth2"])
    assert guard.local(root)["eth1"] == dict(free("eth1"), carries_traffic=True)
    session = world.hold()
    assert guard.local(root)["eth1"]["reasons"] == [CONNECTION % "sshd's socket"]
    session.kill()


def test_ssh_connection_variable_alone(world, guard):
    ssh_vm(world)
    root = guard.tree(["eth0", "eth1", "eth2"])
    environ = {"SSH_CONNECTION": "198.18.1.1 40000 198.18.1.3 2222"}
    assert guard.local(root, environ)["eth1"]["reasons"] == [CONNECTION % "SSH_CONNECTION"]


def test_replies_routed_through_another_nic(world, guard):
    """The client (203.0.113.7 on the controller) reaches eth1's address; the VM's route
    back to it goes through eth0, which therefore carries the connection too."""
    world.link("eth0", ["198.18.0.2/24"], ["198.18.0.1/24"])
    world.link("eth1", ["198.18.1.2/24"], ["198.18.1.1/24"])
    world.controller("ip", "addr", "add", "203.0.113.7/32", "dev", "lo")
    vm(world, "ip route add 203.0.113.0/24 via 198.18.0.1")
    world.start_sshd("198.18.1.2", client_options={"BindAddress": "203.0.113.7"})
    result = guard.over_ssh(guard.tree(["eth0", "eth1"]))
    about = "the SSH connection from 203.0.113.7 (sshd's socket)"
    assert result["eth1"]["reasons"] == ["eth1 holds 198.18.1.2, the local address of " + about]
    assert result["eth0"]["reasons"] == ["eth0 carries the replies of " + about]
