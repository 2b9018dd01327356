# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The management guard on fixture trees with their simulated network, and on a fake kernel.

The real kernel (bridges, macvlan, routes, rules, a real sshd in a network namespace) is
tested in tests/integration/guard (nox session guard).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _guard, _rtnetlink, _sshd
from ansible_collections.hyperv.netvsc.plugins.module_utils._guard import Verdict, assess
from ansible_collections.hyperv.netvsc.plugins.module_utils._scan import scan
from ansible_collections.hyperv.netvsc.tests.fixtures.cases import CASES, ETH1_VF
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import (
    SIMULATED_NETWORK, build, case_known_macs, write_simulated_network)

ETH2_FREE = Verdict(False, False, (), ("eth2", "enP2562s2"))


def ssh_on_eth0(found_by="sshd's socket"):
    return ("eth0 holds 10.0.0.4, the local address of the SSH connection from 203.0.113.7 (%s)"
            % found_by)


SSH_ON_ETH0 = ssh_on_eth0()


@pytest.fixture
def host(tmp_path):
    """host(case or spec, simulated=True) -> (root, snapshot) of a freshly built tree."""
    count = [0]

    def make(case, simulated=True):
        spec = CASES[case] if isinstance(case, str) else case
        count[0] += 1
        root = build(spec, str(tmp_path / ("sys%d" % count[0])))
        if simulated:
            write_simulated_network(spec, root)
        return root, scan(root, known_macs=case_known_macs(spec))
    return make


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """built(case, environ=None) -> the verdicts on a named case's tree, built once per module."""
    trees = {}

    def judge(case, environ=None):
        if case not in trees:
            root = build(CASES[case], str(tmp_path_factory.mktemp(case) / "sys"))
            write_simulated_network(CASES[case], root)
            trees[case] = root, scan(root, known_macs=case_known_macs(CASES[case]))
        root, snap = trees[case]
        result = assess(snap, root, environ)
        assert sorted(result) == sorted(snap.interfaces)
        return result
    return judge


def verdicts(host, case, environ=None):
    root, snap = host(case)
    return assess(snap, root, environ)


def spec_with(case, **changes):
    """A deep copy of a case with top-level keys replaced."""
    spec = copy.deepcopy(CASES[case])
    spec.update(copy.deepcopy(changes))
    return spec


# ------------------------------------------------------------------------------ topologies

TOPOLOGIES = {
    "guard_bridge": "eth1 is a port of bridge br0, which holds the IPv4 default route (table main)",
    "guard_vlan": "eth1 is the lower device of VLAN eth1.100, which holds the IPv4 default route "
                  "(table main)",
    "guard_bond": "eth1 is a port of bond bond0, which holds the IPv4 default route (table main)",
    "guard_macvlan": "eth1 is the lower device of macvlan mv0, which holds the IPv4 default route "
                     "(table main)",
    "guard_vf_address": "eth1's VF %s holds the IPv4 default route (table main)" % ETH1_VF,
    "guard_ipv6_only": "eth1 holds the IPv6 default route (table main)",
    "guard_policy": "eth1 holds the IPv4 default route (table 100)",
    "guard_ssh_secondary": "eth1 holds 10.1.0.5, the local address of the SSH connection from "
                           "198.51.100.7 (sshd's socket)",
    "guard_vrf": "eth1 is a port of VRF vrf0, which holds the IPv4 default route (table 10)",
    "guard_multipath": "eth1 holds a next hop of the IPv4 default route (table main)",
    "guard_stacked": "eth1 is a port of bond bond0, which is the lower device of VLAN bond0.10, "
                     "which is a port of bridge br0, which holds the IPv4 default route (table main)",
}


@pytest.mark.parametrize("case", sorted(TOPOLOGIES))
def test_topology_makes_eth1_management_and_leaves_eth2_alone(built, case):
    result = built(case)
    assert sorted(result) == ["eth0", "eth1", "eth2"]
    assert result["eth1"].management is True
    assert result["eth1"].reasons == (TOPOLOGIES[case],)
    assert result["eth1"].carries_traffic is True
    assert result["eth0"].management is True and SSH_ON_ETH0 in result["eth0"].reasons
    if case != "guard_policy":  # there eth2 has an address and an unused default route
        assert result["eth2"] == ETH2_FREE


def test_devices_are_the_netvsc_its_vf_and_every_upper_device(built):
    result = built("guard_stacked")
    assert result["eth1"].devices == ("eth1", ETH1_VF, "bond0", "bond0.10", "br0")


def test_bond_over_netvsc_and_masterless_vf_names_the_bond_once(built):
    result = built("guard_bond")["eth1"]
    assert "bond0" in result.devices
    assert len(result.reasons) == 1  # reached from eth1 and from its VF, reported once


def test_default_route_in_a_table_no_rule_looks_up_is_not_management(built):
    result = built("guard_policy")
    assert result["eth2"] == Verdict(False, True, (), ("eth2", "enP2562s2"))


def test_a_rule_for_the_table_makes_it_management(host):
    spec = spec_with("guard_policy", rules=[{"family": 4, "table": 100}, {"family": 4, "table": 200}])
    result = verdicts(host, spec)
    assert result["eth2"].reasons == ("eth2 holds the IPv4 default route (table 200)",)


def test_an_ipv6_rule_does_not_make_an_ipv4_table_used(host):
    spec = spec_with("guard_policy", rules=[{"family": 6, "table": 100}])
    assert verdicts(host, spec)["eth1"].management is False


def test_vrf_table_counts_only_when_an_l3mdev_rule_looks_it_up(host):
    spec = spec_with("guard_vrf", rules=[])
    assert verdicts(host, spec)["eth1"].management is False


def test_link_local_only_is_no_traffic(built):
    assert built("guard_ipv6_only")["eth2"] == ETH2_FREE


def test_vf_with_an_address_but_no_route_carries_traffic_only(host):
    spec = spec_with("guard_vf_address", routes=[])
    assert verdicts(host, spec)["eth1"] == Verdict(False, True, (), ("eth1", ETH1_VF))


def test_blackhole_default_route_is_no_route(host):
    spec = spec_with("guard_bridge", routes=[{"dev": "br0", "type": "blackhole"}])
    assert verdicts(host, spec)["eth1"].management is False


def test_uio_bound_netvsc_is_judged_by_its_vf(host):
    """No netdev (uio_hv_generic): the VF paired by MAC is all there is to look at."""
    spec = spec_with("uio_bound", routes=[{"dev": "enP41635s2"}])
    spec["vfs"][1]["name"] = "enP41635s2"
    result = verdicts(host, spec)
    guid = "000d3a03-1eb1-000d-3a03-1eb1000d3a03"
    assert result[guid].reasons == (
        "%s's VF enP41635s2 holds the IPv4 default route (table main)" % guid,)
    assert result[guid].devices == ("enP41635s2",)


def hide_netdevs(root, *names):
    """Move netdevs out of the tree's network namespace: sysfs tags each net/ entry with its
    namespace, so the VMBus (PCI) device stays and its net/ directory lists nothing."""
    for name in names:
        link = os.path.join(root, "class", "net", name)
        target = os.path.realpath(link)
        os.unlink(link)
        for below in sorted(os.listdir(target)):
            path = os.path.join(target, below)
            os.unlink(path) if os.path.islink(path) or not os.path.isdir(path) else shutil.rmtree(path)
        os.rmdir(target)


def test_a_netvsc_whose_netdev_is_in_another_network_namespace_is_management(tmp_path):
    """eth2 still bound to hv_netvsc, its netdev (and VF) moved into a container's namespace:
    this namespace cannot see what it carries, so it is not free to take."""
    spec = CASES["guard_bridge"]
    root = build(spec, str(tmp_path / "sys"))
    hide_netdevs(root, "eth2", "enP2562s2")
    write_simulated_network(spec, root)
    known = case_known_macs(spec)
    guid = "000d3a5e-0002-000d-3a5e-0002000d3a5e"
    known[guid] = "00:0d:3a:5e:00:02"  # a declaration recorded it
    snap = scan(root, known_macs=known)
    assert snap.interfaces[guid]["driver"] == "hv_netvsc" and snap.interfaces[guid]["name"] is None
    result = assess(snap, root)[guid]
    assert result.management is True and result.carries_traffic is True
    assert result.reasons == (
        "%s is bound to hv_netvsc but its netdev is not in this network namespace (or not "
        "registered yet): the guard cannot see what it carries" % guid,)


def test_open_vswitch_bridge_uplink_is_management(host):
    """OVN-Kubernetes / OpenShift (ARO) br-ex: the kernel enslaves eth1 to the datapath
    ovs-system, while the bridge's internal port br-ex, which holds the address and the default
    route, has no master and no lower device: only the datapath joins them."""
    spec = spec_with("guard_bridge", routes=[{"dev": "br-ex"}], virtual=[
        {"name": "ovs-system", "kind": "openvswitch", "ports": ["eth1"]},
        {"name": "br-ex", "kind": "openvswitch", "addresses": ["10.1.0.4/24"]}])
    result = verdicts(host, spec)
    assert result["eth1"].management is True and result["eth1"].carries_traffic is True
    assert result["eth1"].reasons == (
        "eth1 is a port of Open vSwitch ovs-system, which is in one Open vSwitch datapath with "
        "Open vSwitch br-ex, which holds the IPv4 default route (table main)",)
    assert result["eth2"] == ETH2_FREE


def test_every_case_gets_a_verdict_for_every_interface(built):
    for case in sorted(CASES):
        if case == "many64":
            continue
        result = built(case)
        assert all(isinstance(v, Verdict) and v.management == bool(v.reasons)
                   for v in result.values()), case


# ---------------------------------------------------------------------- the SSH connection


def no_ssh(case, **changes):
    """The case without its SSH connections (or with the ones given)."""
    changes.setdefault("ssh", [])
    return spec_with(case, **changes)


def test_without_ssh_connection_nothing_protects_eth0_but_its_traffic(host):
    result = verdicts(host, no_ssh("guard_bridge"))
    assert result["eth0"] == Verdict(False, True, (), ("eth0",))


def test_ssh_connection_from_the_environment(host):
    environ = {"SSH_CONNECTION": "203.0.113.7 50022 10.0.0.4 22"}
    result = verdicts(host, no_ssh("guard_bridge"), environ)
    assert result["eth0"].reasons == (ssh_on_eth0("SSH_CONNECTION"),)


def test_ssh_connection_under_become_comes_from_sshd_sockets(built):
    """sudo dropped SSH_CONNECTION: the socket sshd holds still names eth0."""
    assert built("guard_bridge", environ={})["eth0"].reasons == (SSH_ON_ETH0,)


def test_sshd_not_readable_port_22_still_counts(host):
    spec = no_ssh("guard_bridge", ssh=[{"local": "10.0.0.4", "remote": "203.0.113.7", "sshd": False}])
    assert verdicts(host, spec)["eth0"].reasons == (ssh_on_eth0("a socket on sshd's port 22"),)


def test_sshd_on_another_port_unreadable_needs_the_environment(host):
    """Unprivileged, sshd on 2222: the socket is unattributable; SSH_CONNECTION names it."""
    spec = no_ssh("guard_bridge", sshd_ports=[], ssh=[{"local": "10.0.0.4", "remote": "203.0.113.7",
                                                      "port": 2222, "sshd": False}])
    assert verdicts(host, spec)["eth0"].management is False
    environ = {"SSH_CONNECTION": "203.0.113.7 50022 10.0.0.4 2222"}
    assert verdicts(host, spec, environ)["eth0"].management is True


def test_sshd_listening_on_2222_makes_its_connections_count(host):
    spec = no_ssh("guard_bridge", sshd_ports=[2222], ssh=[
        {"local": "10.0.0.4", "remote": "203.0.113.7", "port": 2222, "sshd": False}])
    assert verdicts(host, spec)["eth0"].reasons == (ssh_on_eth0("a socket on sshd's port 2222"),)


def test_replies_routed_through_another_nic_make_it_management(host):
    """Weak host model: the client reached eth1's address, the kernel answers through eth2."""
    spec = spec_with("guard_ssh_secondary", ssh=[
        {"local": "10.1.0.5", "remote": "198.51.100.7", "via": "eth2"}])
    result = verdicts(host, spec)
    assert result["eth2"].reasons == (
        "eth2 carries the replies of the SSH connection from 198.51.100.7 (sshd's socket)",)
    assert result["eth1"].management is True


def test_link_local_ssh_connection_names_its_interface(host):
    environ = {"SSH_CONNECTION": "fe80::1%eth2 40000 fe80::20d:3aff:fe5e:2%eth2 22"}
    result = verdicts(host, no_ssh("guard_ipv6_only"), environ)
    assert result["eth2"].reasons == (
        "eth2 holds fe80::20d:3aff:fe5e:2, the local address of the SSH connection from fe80::1 "
        "(SSH_CONNECTION)",)
    assert result["eth2"].carries_traffic is False  # link-local only


def test_link_local_connection_from_proc_is_matched_by_address(host):
    spec = no_ssh("guard_ipv6_only", tcp=[
        {"state": "ESTABLISHED", "local": "fe80::20d:3aff:fe5e:2", "local_port": 22,
         "remote": "fe80::1", "remote_port": 40000, "sshd": True}])
    assert verdicts(host, spec)["eth2"].management is True


def test_connection_to_loopback_protects_no_nic(host):
    spec = no_ssh("guard_bridge", ssh=[{"local": "127.0.0.1", "remote": "127.0.0.1"}])
    result = verdicts(host, spec)
    assert result["eth0"] == Verdict(False, True, (), ("eth0",))


# ------------------------------------------------------------------------------ fail closed


def assert_closed(result, *needles):
    for key, verdict in result.items():
        assert verdict.management is True and verdict.carries_traffic is True, key
        assert len(verdict.reasons) == 1, key
        reason = verdict.reasons[0]
        assert reason.startswith("the guard cannot tell whether %s carries management traffic: " % key)
        for needle in needles:
            assert needle in reason, (needle, reason)


def rewrite(root, change):
    path = os.path.join(root, SIMULATED_NETWORK)
    with open(path) as handle:
        data = json.load(handle)
    change(data)
    with open(path, "w") as handle:
        json.dump(data, handle)
    return path


def test_garbled_json_fails_closed(host):
    root, snap = host("guard_bridge")
    path = os.path.join(root, SIMULATED_NETWORK)
    with open(path, "w") as handle:
        handle.write('{"format": 1, "links": [')
    assert_closed(assess(snap, root), path, "is not valid JSON")


@pytest.mark.parametrize("change, needle", [
    (lambda d: d.pop("routes"), "missing keys routes"),
    (lambda d: d.update(extra=1), "unknown keys extra"),
    (lambda d: d.update(format=2), "format 2 is not 1"),
    (lambda d: d.update(links={}), "links must be list"),
    (lambda d: d["links"].append({"name": 7}), "name must be str"),
    (lambda d: d["links"].append({"name": "x", "ifindex": True}), "ifindex must be int"),
    (lambda d: d["links"].append({"name": "x", "master": "nowhere0"}), "names nowhere0, which is not"),
    (lambda d: d["addresses"].update(br0=["not-an-address"]), "is not an address/prefix"),
    (lambda d: d["addresses"].update(ghost0=["10.9.9.9/24"]), "address table names ghost0"),
    (lambda d: d["routes"].append({"family": 4, "dst": "default", "table": "main", "dev": 5}),
     "routes[1].dev must be str"),
    (lambda d: d["routes"].append({"family": 5, "dst": "default", "table": "main", "dev": "br0"}),
     "family must be 4 or 6"),
    (lambda d: d["routes"].append({"family": 4, "dst": "default", "table": "main", "dev": "ghost0"}),
     "default route (table main) names ghost0"),
    (lambda d: d["routes"].append({"family": 4, "dst": "default", "table": "main", "dev": []}),
     "names no device"),
    (lambda d: d["rules"].append({"family": 4, "table": "nonsense"}), "table must be int"),
    (lambda d: d["tcp"].append({"state": "CLOSE_WAIT", "local": "10.0.0.4", "local_port": 22,
                                "sshd": True}), "state must be LISTEN or ESTABLISHED"),
    (lambda d: d["tcp"][-1].update(remote="not an ip"), "is not an IP address"),
    (lambda d: d["route_get"][0].update(dev="ghost0"), "the route to 203.0.113.7 names ghost0"),
])
def test_malformed_simulated_network_fails_closed(host, change, needle):
    root, snap = host("guard_bridge")
    path = rewrite(root, change)
    assert_closed(assess(snap, root), "" if needle == "names no device" else path, needle)


def test_fifo_or_directory_instead_of_the_file_fails_closed_without_blocking(host):
    root, snap = host("guard_bridge", simulated=False)
    os.mkfifo(os.path.join(root, SIMULATED_NETWORK))
    assert_closed(assess(snap, root), "is not a regular file")
    os.unlink(os.path.join(root, SIMULATED_NETWORK))
    os.mkdir(os.path.join(root, SIMULATED_NETWORK))
    assert_closed(assess(snap, root), "is not a regular file")


def test_garbled_ssh_connection_fails_closed(host):
    root, snap = host("guard_bridge")
    assert_closed(assess(snap, root, {"SSH_CONNECTION": "203.0.113.7 50022 10.0.0.4"}),
                  "SSH_CONNECTION is not 'client port server port'")


# ----------------------------------------------------------------- the kernel (faked here)


class FakeKernel:
    """What _rtnetlink and _sshd report, set by the test."""

    def __init__(self, monkeypatch):
        self.links = {1: _rtnetlink.Link("lo", None, None, None, None)}
        self.addresses = {1: ["127.0.0.1/8"]}
        self.routes = {4: [], 6: []}
        self.rules = {4: {254}, 6: {254}}
        self.sockets = []
        self.replies = {}
        self.fail = {}
        family = {socket.AF_INET: 4, socket.AF_INET6: 6}
        for name, call in (
                ("links", lambda: self.links),
                ("addresses", lambda link_local=False: self.addresses),
                ("default_routes", lambda af: self.routes[family[af]]),
                ("rule_tables", lambda af: (set(self.rules[family[af]]), False)),
                ("route_get", lambda dst, src=None: self.replies.get(dst, ())),
                ("nexthop_devices", lambda: {})):
            monkeypatch.setattr(_rtnetlink, name, self._failing(name, call))
        monkeypatch.setattr(_sshd, "read_sockets", self._failing("read_sockets", lambda proc: self.sockets))

    def _failing(self, name, call):
        def wrapper(*args, **kwargs):
            if name in self.fail:
                raise self.fail[name]
            return call(*args, **kwargs)
        return wrapper

    def add(self, index, name, addresses=(), master=None, lower=None, kind=None):
        self.links[index] = _rtnetlink.Link(name, master, lower, kind, None)
        if addresses:
            self.addresses[index] = list(addresses)


@pytest.fixture
def kernel(monkeypatch):
    return FakeKernel(monkeypatch)


def test_kernel_data_is_matched_by_name_and_ifindex(host, kernel):
    root, snap = host("guard_bridge", simulated=False)
    eth1, eth2 = snap.interfaces["eth1"], snap.interfaces["eth2"]
    kernel.add(eth1["ifindex"], "eth1", master=40)
    kernel.add(40, "br0", ["10.1.0.4/24"], kind="bridge")
    kernel.add(eth2["ifindex"] + 100, "eth2", ["10.2.0.4/24"])  # same name, other index
    kernel.routes[4] = [_rtnetlink.Route(254, (40,), None),
                        _rtnetlink.Route(254, (eth2["ifindex"] + 100,), None)]
    result = assess(snap, root)
    assert result["eth1"].reasons == (TOPOLOGIES["guard_bridge"],)
    assert result["eth2"] == Verdict(False, False, (), ("eth2", "enP2562s2"))  # not this kernel's


def test_on_the_real_sysfs_a_mismatch_fails_closed(host, kernel, monkeypatch):
    """On /sys itself, a NetVSC the kernel no longer has under that name and index changed
    since the scan: it is management."""
    root, snap = host("guard_bridge", simulated=False)
    monkeypatch.setattr(_guard, "is_real_sysfs", lambda path: path == root)
    eth2 = snap.interfaces["eth2"]
    kernel.add(eth2["ifindex"], "eth2")
    kernel.add(eth2["ifindex"] + 1, "enP2562s2")  # the VF came back with a new ifindex
    result = assess(snap, root)
    assert result["eth2"].reasons == (
        "eth2's VF enP2562s2 (ifindex %d) is not in the kernel's link table under that name "
        "and index: it changed since the scan" % snap.interfaces["eth2"]["vf"]["ifindex"],)
    assert result["eth1"].reasons[0].startswith("eth1 (ifindex %d) is not" % snap.interfaces["eth1"]["ifindex"])


def test_nexthop_object_routes_are_followed(host, kernel, monkeypatch):
    root, snap = host("guard_bridge", simulated=False)
    eth1 = snap.interfaces["eth1"]
    kernel.add(eth1["ifindex"], "eth1", ["10.1.0.4/24"])
    kernel.routes[4] = [_rtnetlink.Route(254, (), 7)]
    monkeypatch.setattr(_rtnetlink, "nexthop_devices", lambda: {7: (eth1["ifindex"],)})
    assert assess(snap, root)["eth1"].reasons == ("eth1 holds the IPv4 default route (table main)",)
    monkeypatch.setattr(_rtnetlink, "nexthop_devices", lambda: {})
    assert_closed(assess(snap, root), "the IPv4 default route (table main) names no device")


def test_veth_peer_is_not_an_upper_device(host, kernel):
    root, snap = host("guard_bridge", simulated=False)
    eth1 = snap.interfaces["eth1"]
    kernel.add(eth1["ifindex"], "eth1", kind="veth", lower=50)
    kernel.add(50, "peer1", ["10.1.0.4/24"], kind="veth", lower=eth1["ifindex"])
    kernel.routes[4] = [_rtnetlink.Route(254, (50,), None)]
    assert assess(snap, root)["eth1"] == Verdict(False, False, (), ("eth1", "enP2561s1"))


def test_ipv6_disabled_kernel_has_no_ipv6_rules_or_routes(host, kernel):
    root, snap = host("guard_bridge", simulated=False)
    eth1 = snap.interfaces["eth1"]
    kernel.add(eth1["ifindex"], "eth1", ["10.1.0.4/24"])
    kernel.routes[4] = [_rtnetlink.Route(254, (eth1["ifindex"],), None)]
    kernel.fail["rule_tables"] = OSError(97, "Address family not supported by protocol")
    assert assess(snap, root)["eth1"].management is True


@pytest.mark.parametrize("call, needle", [
    ("links", "cannot read the link table over rtnetlink (Operation not permitted)"),
    ("addresses", "cannot read the interface addresses over rtnetlink (Operation not permitted)"),
    ("default_routes", "cannot read the IPv4 routes over rtnetlink (Operation not permitted)"),
    ("rule_tables", "cannot read the IPv4 routing rules over rtnetlink (Operation not permitted)"),
    ("read_sockets", "cannot read /proc/net/tcp (Operation not permitted)"),
])
def test_unreadable_kernel_data_fails_closed(host, kernel, call, needle):
    root, snap = host("guard_bridge", simulated=False)
    kernel.fail[call] = PermissionError(1, "Operation not permitted")
    assert_closed(assess(snap, root), needle)


def test_route_lookup_failure_fails_closed(host, kernel):
    root, snap = host("guard_bridge", simulated=False)
    kernel.sockets = [_sshd.Socket("ESTABLISHED", "127.0.0.1", 22, "127.0.0.2", 4000, True)]
    kernel.fail["route_get"] = OSError(22, "Invalid argument")
    assert_closed(assess(snap, root), "cannot read the route to 127.0.0.2 from 127.0.0.1 (Invalid argument)")


def test_unreadable_proc_fails_closed(host, tmp_path):
    """The real kernel's netlink (readable unprivileged), a /proc without net/tcp."""
    root, snap = host("guard_bridge", simulated=False)
    (tmp_path / "proc").mkdir()
    assert_closed(assess(snap, root, proc=str(tmp_path / "proc")),
                  "cannot read %s/net/tcp (No such file or directory)" % (tmp_path / "proc"))


def test_this_machines_kernel_through_a_tree_named_like_its_loopback(host):
    """Unprivileged, on the real kernel: a tree whose NetVSC has lo's name and ifindex gets
    lo's data (127.0.0.1: carries traffic); one named like no link of this kernel gets none."""
    spec = {"gen": 2, "lo": False,
            "netvsc": [{"name": "lo", "mac": "00:0d:3a:5e:00:07", "ifindex": 1},
                       {"name": "nvgx9", "mac": "00:0d:3a:5e:00:08", "ifindex": 4000}]}
    root, snap = host(spec, simulated=False)
    result = assess(snap, root)
    assert result["lo"].carries_traffic is True and result["lo"].devices == ("lo",)
    assert result["nvgx9"] == Verdict(False, False, (), ("nvgx9",))
