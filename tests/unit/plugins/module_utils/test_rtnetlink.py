# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rtnetlink parsing on hand-made messages (uapi layouts) and unprivileged dumps of this kernel.

Routes, rules, bridges and macvlans made for the purpose are tested as root in
tests/integration/guard (nox session guard).
"""

from __future__ import annotations

import errno
import socket
import struct

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _rtnetlink

NLA_F_NESTED = 0x8000


def attr(kind, payload):
    """One rtattr, padded to 4 bytes (linux/rtnetlink.h RTA_LENGTH/RTA_ALIGN)."""
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def u32(value):
    return struct.pack("=I", value)


def test_linkinfo_kind_and_vrf_table_with_the_nested_flag():
    data = attr(1, b"vrf\0") + attr(2 | NLA_F_NESTED, attr(1, u32(10)))
    assert _rtnetlink._linkinfo(data) == ("vrf", 10)
    assert _rtnetlink._linkinfo(attr(1, b"bridge\0")) == ("bridge", None)


def test_multipath_next_hops():
    # struct rtnexthop {len, flags, hops, ifindex} followed by its own attributes (a gateway)
    hop1 = struct.pack("=HBBi", 8 + 8, 0, 0, 3) + attr(5, bytes([10, 0, 0, 1]))
    hop2 = struct.pack("=HBBi", 8, 0, 0, 7)
    assert _rtnetlink._route_oifs({9: hop1 + hop2}) == (3, 7)
    assert _rtnetlink._route_oifs({4: u32(5)}) == (5,)
    assert _rtnetlink._route_oifs({}) == ()


def test_truncated_attributes_stop_without_raising():
    data = attr(3, b"eth0\0") + struct.pack("=HH", 2, 4)  # length < header: stop there
    assert list(_rtnetlink._attributes(data)) == [(3, b"eth0\0")]


def test_dump_is_retried_when_interrupted(monkeypatch):
    answers = [(True, ["stale"]), (True, ["stale"]), (False, ["fresh"])]
    monkeypatch.setattr(_rtnetlink, "_exchange", lambda *args: answers.pop(0))
    assert _rtnetlink._dump(_rtnetlink.RTM_GETLINK, b"") == ["fresh"]
    monkeypatch.setattr(_rtnetlink, "_exchange", lambda *args: (True, []))
    with pytest.raises(OSError) as raised:
        _rtnetlink._dump(_rtnetlink.RTM_GETLINK, b"")
    assert raised.value.errno == errno.EAGAIN


def test_this_kernels_loopback():
    links = _rtnetlink.links()
    assert links[1].name == "lo" and links[1].master is None and links[1].lower is None
    assert "127.0.0.1/8" in _rtnetlink.addresses()[1]
    assert _rtnetlink.route_get("127.0.0.1") == (1,)
    assert _rtnetlink.route_get("127.0.0.2", "127.0.0.1") == (1,)


def test_this_kernels_rules_look_up_main():
    tables, _l3mdev = _rtnetlink.rule_tables(socket.AF_INET)
    assert 254 in tables and 255 in tables
    for route in _rtnetlink.default_routes(socket.AF_INET) + _rtnetlink.default_routes(socket.AF_INET6):
        assert isinstance(route.table, int) and all(isinstance(oif, int) for oif in route.oifs)
