# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Interface addresses from the kernel over rtnetlink, with the stdlib socket only.

Two dump requests: RTM_GETLINK (ifindex -> name) and RTM_GETADDR (ifindex -> addresses).
The scanner keeps an address only when the kernel's name for that ifindex is the name it
saw in sysfs, so a fixture tree never borrows the addresses of a real interface.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

NETLINK_ROUTE = 0
RTM_GETLINK = 18
RTM_GETADDR = 22
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
IFLA_IFNAME = 3
IFA_ADDRESS = 1
IFA_LOCAL = 2

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTATTR = struct.Struct("=HH")


def _align(n):
    return (n + 3) & ~3


def _attributes(data, offset):
    """Yield (type, payload) for each rtattr from offset to the end of data."""
    while offset + _RTATTR.size <= len(data):
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size:
            return
        yield kind, data[offset + _RTATTR.size:offset + length]
        offset += _align(length)


def _dump(msg_type, payload):
    """Send one dump request and yield the payload of every answer message."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        seq = os.getpid() & 0xFFFF
        header = _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0)
        sock.send(header + payload)
        while True:
            data = sock.recv(1 << 16)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    errno_value = -struct.unpack_from("=i", data, offset + _NLMSGHDR.size)[0]
                    raise OSError(errno_value, os.strerror(errno_value))
                yield kind, data[offset + _NLMSGHDR.size:offset + length]
                offset += _align(length)


def link_names():
    """Return {ifindex: name} for every link in this network namespace."""
    names = {}
    for _kind, msg in _dump(RTM_GETLINK, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)):
        index = _IFINFOMSG.unpack_from(msg)[2]
        for kind, value in _attributes(msg, _IFINFOMSG.size):
            if kind == IFLA_IFNAME:
                names[index] = value.split(b"\0", 1)[0].decode("utf-8", "replace")
    return names


def _is_link_local(family, raw):
    return family == socket.AF_INET6 and raw[:2] == b"\xfe\x80"


def addresses():
    """Return {ifindex: ["10.0.1.4/24", "2001:db8::4/64"]} (IPv6 link-local left out).

    Link-local IPv6 addresses are left out: every IPv6-enabled link has one, and it does
    not make an interface routed.
    """
    found = {}
    request = _IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    for _kind, msg in _dump(RTM_GETADDR, request):
        family, prefix, _flags, _scope, index = _IFADDRMSG.unpack_from(msg)
        attrs = dict(_attributes(msg, _IFADDRMSG.size))
        # IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
        raw = attrs.get(IFA_LOCAL, attrs.get(IFA_ADDRESS))
        if raw is None or family not in (socket.AF_INET, socket.AF_INET6) or _is_link_local(family, raw):
            continue
        found.setdefault(index, []).append("%s/%d" % (ipaddress.ip_address(raw), prefix))
    return found


def addresses_by_name():
    """Return {name: (ifindex, [addresses])} for links that have at least one address."""
    names = link_names()
    return dict((names[index], (index, addrs)) for index, addrs in addresses().items() if index in names)
