# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the kernel says about links, addresses, routes and rules, over rtnetlink (stdlib only).

Dump requests: RTM_GETLINK (ifindex -> name, master, lower device, kind), RTM_GETADDR
(ifindex -> addresses), RTM_GETROUTE (default routes of every table), RTM_GETRULE (the
tables policy rules look up), RTM_GETNEXTHOP (devices of nexthop objects); and one
RTM_GETROUTE request (``ip route get``: the device the kernel sends a reply through).
Layouts are those of the kernel's uapi headers (linux/rtnetlink.h, linux/if_link.h,
linux/fib_rules.h, linux/nexthop.h). Every failure is an OSError.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from typing import NamedTuple, Optional, Tuple

NETLINK_ROUTE = 0
RTM_GETLINK = 18
RTM_GETADDR = 22
RTM_GETROUTE = 26
RTM_GETRULE = 34
RTM_GETNEXTHOP = 106
NLM_F_REQUEST = 0x1
NLM_F_DUMP_INTR = 0x10
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER
IFLA_IFNAME, IFLA_LINK, IFLA_MASTER, IFLA_LINKINFO, IFLA_LINK_NETNSID = 3, 5, 10, 18, 37
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_VRF_TABLE = 1
IFA_ADDRESS = 1
IFA_LOCAL = 2
RTA_DST, RTA_SRC, RTA_OIF, RTA_MULTIPATH, RTA_TABLE, RTA_NH_ID = 1, 2, 4, 9, 15, 30
RTN_UNICAST = 1
FRA_TABLE, FRA_L3MDEV = 15, 19
FR_ACT_TO_TBL = 1
NHA_ID, NHA_GROUP, NHA_OIF = 1, 2, 5

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")  # struct rtmsg; struct fib_rule_hdr has the same layout
_RTNEXTHOP = struct.Struct("=HBBi")
_NHMSG = struct.Struct("=BBBBI")
_NEXTHOP_GRP = struct.Struct("=IBBH")
_RTATTR = struct.Struct("=HH")
_U32 = struct.Struct("=I")
_DUMP_TRIES = 3


class Link(NamedTuple):
    """One RTM_NEWLINK answer. master and lower are ifindexes of this namespace, or None."""

    name: str
    master: Optional[int]
    lower: Optional[int]
    kind: Optional[str]
    vrf_table: Optional[int]


class Route(NamedTuple):
    """A unicast default route: its table, the ifindexes of its next hops (RTA_OIF or every
    RTA_MULTIPATH hop), and its nexthop object (RTA_NH_ID), if it uses one."""

    table: int
    oifs: Tuple[int, ...]
    nexthop_id: Optional[int]


def _align(n):
    return (n + 3) & ~3


def _attributes(data, offset=0):
    """Yield (type, payload) for each rtattr from offset to the end of data."""
    while offset + _RTATTR.size <= len(data):
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size:
            return
        yield kind & NLA_TYPE_MASK, data[offset + _RTATTR.size:offset + length]
        offset += _align(length)


def _u32(value):
    return _U32.unpack_from(value)[0]


def _exchange(msg_type, payload, flags):
    """Send one request; return (interrupted, [answer payloads]) up to NLMSG_DONE (or the first)."""
    answers, interrupted = [], False
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        seq = os.getpid() & 0xFFFF
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), msg_type, NLM_F_REQUEST | flags, seq, 0)
        sock.send(header + payload)
        while True:
            data = sock.recv(1 << 16)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, kind, msg_flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if kind == NLMSG_DONE:
                    return interrupted, answers
                if kind == NLMSG_ERROR:
                    errno_value = -struct.unpack_from("=i", data, offset + _NLMSGHDR.size)[0]
                    if errno_value:
                        raise OSError(errno_value, os.strerror(errno_value))
                    return interrupted, answers  # an acknowledgement
                interrupted = interrupted or bool(msg_flags & NLM_F_DUMP_INTR)
                answers.append(data[offset + _NLMSGHDR.size:offset + length])
                if not flags & NLM_F_DUMP:
                    return interrupted, answers
                offset += _align(length)


def _dump(msg_type, payload):
    """Every answer to a dump request; retried when a concurrent change interrupted it."""
    for _attempt in range(_DUMP_TRIES):
        interrupted, answers = _exchange(msg_type, payload, NLM_F_DUMP)
        if not interrupted:
            return answers
    raise OSError(errno.EAGAIN, "dump interrupted by concurrent changes %d times" % _DUMP_TRIES)


def _linkinfo(value):
    """(kind, VRF table) from IFLA_LINKINFO."""
    info = dict(_attributes(value))
    kind = info.get(IFLA_INFO_KIND, b"").split(b"\0", 1)[0].decode("ascii", "replace") or None
    table = None
    if kind == "vrf" and IFLA_INFO_DATA in info:
        data = dict(_attributes(info[IFLA_INFO_DATA]))
        table = _u32(data[IFLA_VRF_TABLE]) if IFLA_VRF_TABLE in data else None
    return kind, table


def links():
    """Return {ifindex: Link} for every link in this network namespace.

    IFLA_LINK names a lower device only when it is in this namespace (no IFLA_LINK_NETNSID):
    a veth whose peer lives elsewhere carries the peer's ifindex there.
    """
    found = {}
    for msg in _dump(RTM_GETLINK, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
        index = _IFINFOMSG.unpack_from(msg)[2]
        attrs = dict(_attributes(msg, _IFINFOMSG.size))
        if IFLA_IFNAME not in attrs:
            continue
        kind, table = _linkinfo(attrs[IFLA_LINKINFO]) if IFLA_LINKINFO in attrs else (None, None)
        lower = _u32(attrs[IFLA_LINK]) if IFLA_LINK in attrs else 0
        if IFLA_LINK_NETNSID in attrs or lower == index:
            lower = 0
        master = _u32(attrs[IFLA_MASTER]) if IFLA_MASTER in attrs else 0
        found[index] = Link(
            name=attrs[IFLA_IFNAME].split(b"\0", 1)[0].decode("utf-8", "replace"),
            master=master or None, lower=lower or None, kind=kind, vrf_table=table)
    return found


def link_names():
    """Return {ifindex: name} for every link in this network namespace."""
    return dict((index, link.name) for index, link in links().items())


def addresses(link_local=False):
    """Return {ifindex: ["10.0.1.4/24", "2001:db8::4/64"]}.

    Link-local IPv6 addresses are left out unless link_local: every IPv6-enabled link has
    one, and it does not make an interface routed.
    """
    found = {}
    request = _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    for msg in _dump(RTM_GETADDR, request):
        family, prefix, _flags, _scope, index = _IFADDRMSG.unpack_from(msg)
        attrs = dict(_attributes(msg, _IFADDRMSG.size))
        # IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
        raw = attrs.get(IFA_LOCAL, attrs.get(IFA_ADDRESS))
        if raw is None or family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(raw)
        if link_local or not is_link_local(address):
            found.setdefault(index, []).append("%s/%d" % (address, prefix))
    return found


def is_link_local(address):
    """True for an IPv6 link-local address ("addr/prefix", "addr" or an ipaddress object):
    every IPv6-enabled link has one, and it makes no interface routed."""
    ip = ipaddress.ip_interface(address).ip
    return ip.version == 6 and ip.is_link_local


def addresses_by_name():
    """Return {name: (ifindex, [addresses])} for links that have at least one address."""
    names = link_names()
    return dict((names[index], (index, addrs)) for index, addrs in addresses().items() if index in names)


def _route_oifs(attrs):
    """The ifindexes of a route's RTA_OIF or RTA_MULTIPATH next hops."""
    if RTA_MULTIPATH in attrs:
        data, offset, oifs = attrs[RTA_MULTIPATH], 0, []
        while offset + _RTNEXTHOP.size <= len(data):
            length, _flags, _hops, oif = _RTNEXTHOP.unpack_from(data, offset)
            if length < _RTNEXTHOP.size:
                break
            oifs.append(oif)
            offset += _align(length)
        return tuple(oifs)
    return (_u32(attrs[RTA_OIF]),) if RTA_OIF in attrs else ()


def default_routes(family):
    """Return [Route] for the unicast default routes of every table (family AF_INET[6])."""
    found = []
    for msg in _dump(RTM_GETROUTE, _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)):
        rtm_family, dst_len, _src, _tos, table, _proto, _scope, rtm_type, _flags = _RTMSG.unpack_from(msg)
        if rtm_family != family or dst_len != 0 or rtm_type != RTN_UNICAST:
            continue
        attrs = dict(_attributes(msg, _RTMSG.size))
        found.append(Route(
            table=_u32(attrs[RTA_TABLE]) if RTA_TABLE in attrs else table, oifs=_route_oifs(attrs),
            nexthop_id=_u32(attrs[RTA_NH_ID]) if RTA_NH_ID in attrs else None))
    return found


def rule_tables(family):
    """Return (tables, l3mdev): the tables the family's "lookup" rules name, and whether a
    rule looks up the table of the VRF a packet is in (``ip rule add l3mdev``)."""
    tables, l3mdev = set(), False
    for msg in _dump(RTM_GETRULE, _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)):
        rule_family, _dst, _src, _tos, table, _r1, _r2, action, _flags = _RTMSG.unpack_from(msg)
        if rule_family != family or action != FR_ACT_TO_TBL:
            continue
        attrs = dict(_attributes(msg, _RTMSG.size))
        if attrs.get(FRA_L3MDEV, b"\0")[:1] != b"\0":
            l3mdev = True
        table = _u32(attrs[FRA_TABLE]) if FRA_TABLE in attrs else table
        if table:
            tables.add(table)
    return tables, l3mdev


def nexthop_devices():
    """Return {nexthop id: (ifindexes)} for every nexthop object; groups name their members'."""
    devices, groups = {}, {}
    for msg in _dump(RTM_GETNEXTHOP, _NHMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
        attrs = dict(_attributes(msg, _NHMSG.size))
        if NHA_ID not in attrs:
            continue
        nh_id = _u32(attrs[NHA_ID])
        if NHA_GROUP in attrs:
            data = attrs[NHA_GROUP]
            groups[nh_id] = [_NEXTHOP_GRP.unpack_from(data, offset)[0]
                             for offset in range(0, len(data) - _NEXTHOP_GRP.size + 1, _NEXTHOP_GRP.size)]
        else:
            devices[nh_id] = (_u32(attrs[NHA_OIF]),) if NHA_OIF in attrs else ()
    for nh_id, members in groups.items():
        devices[nh_id] = tuple(oif for member in members for oif in devices.get(member, ()))
    return devices


def route_get(destination, source=None):
    """The ifindexes the kernel sends a packet to destination (from source) through.

    ``ip route get DESTINATION from SOURCE``; () when there is no route (unreachable).
    """
    dst = ipaddress.ip_address(destination)
    family = socket.AF_INET if dst.version == 4 else socket.AF_INET6
    attrs = _rtattr(RTA_DST, dst.packed)
    if source is not None:
        attrs += _rtattr(RTA_SRC, ipaddress.ip_address(source).packed)
    src_len = dst.max_prefixlen if source is not None else 0
    request = _RTMSG.pack(family, dst.max_prefixlen, src_len, 0, 0, 0, 0, 0, 0) + attrs
    try:
        _interrupted, answers = _exchange(RTM_GETROUTE, request, 0)
    except OSError as exc:
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return ()
        raise
    return _route_oifs(dict(_attributes(answers[0], _RTMSG.size)))


def _rtattr(kind, payload):
    length = _RTATTR.size + len(payload)
    return _RTATTR.pack(length, kind) + payload + b"\0" * (_align(length) - length)
