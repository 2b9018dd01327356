# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The management guard: which NetVSCs must not be taken, and why.

The guard rule (docs/user-guide.md states it for users): a NetVSC is *management* when it,
its VF, or any device above either of them (transitively: the bridge, bond, team or VRF it is
a port of, the VLAN, macvlan or ipvlan on it, any Open vSwitch device of the datapath it is
a port of, and so on up) holds

- a default route, IPv4 or IPv6 (multipath next hops included), of the main table, of a
  table a policy rule looks up, or of a VRF's table; or
- an SSH connection: its local address, or the kernel's route for its replies. Connections
  are found in the kernel (sshd's TCP sockets, see ``_sshd``) and in ``SSH_CONNECTION``.

A NetVSC *carries traffic* when any of those devices has an address (IPv6 link-local aside).
When the guard cannot read what it needs, every NetVSC is management and carries traffic,
and the reason says what could not be read (fail closed). So is a NetVSC bound to hv_netvsc
whose netdev this network namespace cannot see (moved into a container's namespace).

The data comes from the kernel, or from a simulated tree's file (``_netstate``). Kernel data
is matched to the scan by name *and* ifindex: on the real sysfs a NetVSC or VF the kernel no
longer has under that name and index is management (it changed since the scan); on a
simulated tree it is simply not one of this kernel's devices.
"""

from __future__ import annotations

import collections
from typing import NamedTuple, Tuple

from . import _netstate, _rtnetlink
from ._sandbox import is_real_sysfs

# Link kinds whose IFLA_LINK is a peer, not a lower device.
PEER_KINDS = frozenset(("veth", "vxcan", "netkit"))
OVS_KIND = "openvswitch"  # the datapath (ovs-system) and the bridges' internal ports
KIND_NAMES = {"bridge": "bridge", "bond": "bond", "team": "team", "vrf": "VRF", "vlan": "VLAN",
              "macvlan": "macvlan", "macvtap": "macvtap", "ipvlan": "ipvlan", "ipvtap": "ipvtap",
              OVS_KIND: "Open vSwitch"}
PORT_OF, LOWER_OF, SWITCHED_WITH = "a port of", "the lower device of", "in one Open vSwitch datapath with"
NETVSC_DRIVER = "hv_netvsc"


class Verdict(NamedTuple):
    """What the guard says about one NetVSC (see the module docstring for the rule)."""

    management: bool
    carries_traffic: bool
    reasons: Tuple[str, ...]
    devices: Tuple[str, ...]


def _uppers(links):
    """{device: [(upper device, how the device relates to it)]}."""
    found = {}
    # Open vSwitch: ports are enslaved to the datapath (ovs-system), but a bridge's internal
    # port (br-ex, holding the address) has no link to either; the flows join them, so every
    # device of the datapath reaches every other.
    switched = [link.name for link in links.values() if link.kind == OVS_KIND]
    for link in links.values():
        if link.master:
            found.setdefault(link.name, []).append((link.master, PORT_OF))
        if link.lower and link.kind not in PEER_KINDS:
            found.setdefault(link.lower, []).append((link.name, LOWER_OF))
        if link.kind == OVS_KIND:
            found.setdefault(link.name, []).extend(
                (other, SWITCHED_WITH) for other in switched if other != link.name)
    return found


def _holdings(state):
    """{device: [what it holds, as the end of a sentence]}."""
    held = collections.defaultdict(list)
    for route in state.routes:
        what = "the IPv%d default route (table %s)" % (route.family, _netstate.table_name(route.table))
        verb = "holds a next hop of " if len(route.devices) > 1 else "holds "
        for device in route.devices:
            held[device].append(verb + what)
    for item in state.connections:
        conn = item.connection
        about = "the SSH connection from %s (%s)" % (conn.remote, conn.found_by)
        holders = [conn.interface] if conn.interface else [
            name for name, addrs in state.addresses.items()
            if any(address.split("/")[0] == conn.local for address in addrs)]
        for device in holders:
            held[device].append("holds %s, the local address of %s" % (conn.local, about))
        for device in item.egress:
            if device not in holders:
                held[device].append("carries the replies of %s" % about)
    return held


def _display(name, links):
    kind = KIND_NAMES.get(links[name].kind, links[name].kind) if name in links else None
    return "%s %s" % (kind, name) if kind else name


def _sentence(label, path, holding, links):
    """"eth1 is a port of bridge br0, which holds the IPv4 default route (table main)"."""
    text = label
    for number, (relation, upper) in enumerate(path):
        text += "%s is %s %s" % (", which" if number else "", relation, _display(upper, links))
    return "%s%s%s" % (text, ", which " if path else " ", holding)


def _matches(state, name, ifindex):
    link = state.links.get(name)
    return link is not None and (link.ifindex is None or ifindex is None or link.ifindex == ifindex)


def _own_devices(iface):
    """The NetVSC's netdev and its VF, by name (a NetVSC bound to uio_hv_generic has none)."""
    return [record["name"] for record in (iface, iface["vf"]) if record and record["name"]]


def _starts(key, iface, state, real):
    """([(device, label)] to walk up from, [reasons for the ones the kernel lacks])."""
    starts, reasons = [], []
    vf = iface["vf"]
    for record, label in ((iface, iface["name"]), (vf, vf and "%s's VF %s" % (key, vf["name"]))):
        if not record or not record["name"]:
            continue
        if _matches(state, record["name"], record["ifindex"]):
            starts.append((record["name"], label))
        elif real:
            reasons.append("%s (ifindex %s) is not in the kernel's link table under that name and "
                           "index: it changed since the scan" % (label, record["ifindex"]))
    return starts, reasons


def _walk(starts, uppers):
    """Yield (device, label of its start, path up to it) breadth first, each device once, so
    that the path reported is a shortest one and starts from the NetVSC when it can."""
    seen = set()
    queue = collections.deque((name, label, ()) for name, label in starts)
    while queue:
        name, label, path = queue.popleft()
        if name in seen:
            continue
        seen.add(name)
        yield name, label, path
        queue.extend((upper, label, path + ((relation, upper),)) for upper, relation in uppers.get(name, ()))


def _verdict(key, iface, state, uppers, held, real):
    starts, reasons = _starts(key, iface, state, real)
    # sysfs lists a netdev only in its own network namespace: this one cannot see it.
    hidden = iface["name"] is None and iface["driver"] == NETVSC_DRIVER
    if hidden:
        reasons.append("%s is bound to %s but its netdev is not in this network namespace (or not "
                       "registered yet): the guard cannot see what it carries" % (key, NETVSC_DRIVER))
    devices, traffic = _own_devices(iface), hidden
    for name, label, path in _walk(starts, uppers):
        if name not in devices:
            devices.append(name)
        reasons.extend(_sentence(label, path, holding, state.links) for holding in held.get(name, ()))
        traffic = traffic or any(not _rtnetlink.is_link_local(a) for a in state.addresses.get(name, ()))
    return Verdict(bool(reasons), traffic, tuple(reasons), tuple(devices))


def _unknown(key, iface, problem):
    reason = "the guard cannot tell whether %s carries management traffic: %s" % (key, problem)
    return Verdict(True, True, (reason,), tuple(_own_devices(iface)))


def assess(snapshot, sysfs_root="/sys", environ=None, proc="/proc"):
    """Return {key: Verdict} for every key of snapshot.interfaces (a ``_scan`` Snapshot).

    environ is the module's environment (for SSH_CONNECTION); proc is where /proc is (tests).
    """
    try:
        state = _netstate.read(sysfs_root, environ, proc)
    except _netstate.Unreadable as exc:
        return dict((key, _unknown(key, iface, str(exc))) for key, iface in snapshot.interfaces.items())
    real = not state.simulated and is_real_sysfs(sysfs_root)
    uppers, held = _uppers(state.links), _holdings(state)
    return dict((key, _verdict(key, iface, state, uppers, held, real))
                for key, iface in snapshot.interfaces.items())
