# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The network state the management guard decides on, from the kernel or a simulated tree.

``read(sysfs_root, environ)`` returns a ``NetState``: links by name (ifindex, kind, master,
lower device, VRF table), addresses by link (link-local included), the default routes of the
tables the kernel looks up, and the SSH connections with the links that carry them. It comes
from one of two *views*:

- the kernel (``_rtnetlink`` dumps, ``/proc/net/tcp*`` and sshd's sockets via ``_sshd``);
- a simulated tree's ``SIMULATED_NETWORK`` file, whose format, loading and checks are
  ``_simulated``'s; the view of its sections is here. A bad file raises ``Unreadable``, and
  the guard fails closed.

Tables looked up: main, every table a policy rule of the family looks up, and the tables of
VRF devices. Anything that cannot be read raises ``Unreadable`` with a message naming it.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Dict, List, NamedTuple, Optional, Tuple

from . import _rtnetlink, _simulated, _sshd
from ._simulated import Unreadable, check, entry

TABLE_NAMES = {"default": 253, "main": 254, "local": 255}
TABLE_MAIN = TABLE_NAMES["main"]


class Link(NamedTuple):
    name: str
    ifindex: Optional[int]
    kind: Optional[str]
    master: Optional[str]
    lower: Optional[str]
    vrf_table: Optional[int]


class DefaultRoute(NamedTuple):
    family: int  # 4 or 6
    table: int
    devices: Tuple[str, ...]  # more than one: the next hops of a multipath route


class SshConnection(NamedTuple):
    connection: _sshd.Connection
    egress: Tuple[str, ...]  # links the kernel sends the connection's replies through


class NetState(NamedTuple):
    links: Dict[str, Link]
    addresses: Dict[str, List[str]]
    routes: List[DefaultRoute]
    connections: List[SshConnection]
    simulated: bool


def table_name(table):
    """"main" for 254 (and the other names iproute2 knows), else the number."""
    for name, number in TABLE_NAMES.items():
        if number == table:
            return name
    return str(table)


# --------------------------------------------------------------------------------- kernel view


class _KernelView:
    """The kernel of the caller's network namespace."""

    links_where = "the link table (changed while being read?)"

    def __init__(self, proc="/proc"):
        self.proc = proc
        self._names = None
        self._nexthops = None

    @staticmethod
    def _read(what, call, *args):
        try:
            return call(*args)
        except (OSError, ValueError) as exc:
            raise Unreadable("cannot read %s (%s)" % (what, getattr(exc, "strerror", None) or exc))

    def links(self):
        by_index = self._read("the link table over rtnetlink", _rtnetlink.links)
        self._names = dict((index, link.name) for index, link in by_index.items())
        return [Link(link.name, index, link.kind, self._name(link.master), self._name(link.lower),
                     link.vrf_table) for index, link in by_index.items()]

    def _name(self, index):
        """The name of a link; "ifindex N" for one the dump did not have (fails consistency)."""
        return None if index is None else self._names.get(index, "ifindex %d" % index)

    def _devices(self, oifs):
        return tuple(self._name(oif) for oif in oifs)

    def addresses(self):
        found = self._read("the interface addresses over rtnetlink", _rtnetlink.addresses, True)
        return dict((self._names[index], addrs) for index, addrs in found.items() if index in self._names)

    def _family(self, call, what, family):
        """A per-family dump; a family the kernel does not have (IPv6 disabled) has nothing."""
        af = socket.AF_INET if family == 4 else socket.AF_INET6
        try:
            return call(af)
        except OSError as exc:
            if exc.errno == errno.EAFNOSUPPORT:
                return None
            raise Unreadable("cannot read the IPv%d %s over rtnetlink (%s)" % (family, what, exc.strerror))

    def rule_tables(self, family):
        return self._family(_rtnetlink.rule_tables, "routing rules", family) or (set(), False)

    def default_routes(self, family):
        found = []
        for route in self._family(_rtnetlink.default_routes, "routes", family) or []:
            oifs = route.oifs
            if not oifs and route.nexthop_id is not None:
                if self._nexthops is None:
                    self._nexthops = self._read("the nexthop objects over rtnetlink", _rtnetlink.nexthop_devices)
                oifs = self._nexthops.get(route.nexthop_id, ())
            found.append((route.table, self._devices(oifs)))
        return found

    def sockets(self):
        return self._read("%s/net/tcp" % self.proc, _sshd.read_sockets, self.proc)

    def route_get(self, destination, source):
        what = "the route to %s from %s" % (destination, source)
        return self._devices(self._read(what, _rtnetlink.route_get, destination, source))


# ------------------------------------------------------------------------------ simulated view


def _names(value, where):
    """A device name or a list of them, as a tuple."""
    items = value if isinstance(value, list) else [value]
    return tuple(check(item, str, where) for item in items)


def _ip(value, where):
    try:
        return str(ipaddress.ip_address(check(value, str, where)))
    except ValueError:
        raise Unreadable("%s is not an IP address: %r" % (where, value))


def _table(value, where):
    if isinstance(value, str) and value in TABLE_NAMES:
        return TABLE_NAMES[value]
    return check(value, int, where)


def _family(value, where):
    if value not in (4, 6):
        raise Unreadable("%s must be 4 or 6, not %r" % (where, value))
    return value


class _SimulatedView:
    """The network of a simulated tree, from its file as _simulated.load() returns it."""

    def __init__(self, path, data):
        self.where = path
        self.links_where = "the links of %s" % path
        self.data = data

    def _items(self, section):
        for number, item in enumerate(self.data[section]):
            yield "%s: %s[%d]" % (self.where, section, number), item

    def links(self):
        found = []
        for where, item in self._items("links"):
            entry(item, where, ("name",), ("ifindex", "kind", "master", "lower", "vrf_table"))
            fields = dict((key, item.get(key)) for key in Link._fields)
            for key, kind in (("name", str), ("ifindex", int), ("kind", str), ("master", str),
                              ("lower", str), ("vrf_table", int)):
                if fields[key] is not None or key == "name":
                    check(fields[key], kind, "%s.%s" % (where, key))
            found.append(Link(**fields))
        return found

    def addresses(self):
        return _simulated.addresses(self.where, self.data)

    def rule_tables(self, family):
        tables, l3mdev = set(), False
        for where, item in self._items("rules"):
            entry(item, where, ("family",), ("table", "l3mdev", "priority"))
            if _family(item["family"], where + ".family") != family:
                continue
            if item.get("l3mdev"):
                l3mdev = True
            elif "table" in item:
                tables.add(_table(item["table"], where + ".table"))
        return tables, l3mdev

    def default_routes(self, family):
        found = []
        for where, item in self._items("routes"):
            entry(item, where, ("family", "dst", "table", "dev"), ("type",))
            dst = check(item["dst"], str, where + ".dst")
            table = _table(item["table"], where + ".table")
            devices = _names(item["dev"], where + ".dev")
            if (_family(item["family"], where + ".family") == family and item.get("type", "unicast") == "unicast"
                    and (dst == "default" or dst.endswith("/0"))):
                found.append((table, devices))
        return found

    def sockets(self):
        found = []
        for where, item in self._items("tcp"):
            entry(item, where, ("state", "local", "local_port", "sshd"), ("remote", "remote_port"))
            if item["state"] not in (_sshd.LISTEN, _sshd.ESTABLISHED):
                raise Unreadable("%s.state must be LISTEN or ESTABLISHED" % where)
            unspecified = "0.0.0.0" if ":" not in str(item["local"]) else "::"
            found.append(_sshd.Socket(
                item["state"], _ip(item["local"], where + ".local"),
                check(item["local_port"], int, where + ".local_port"),
                _ip(item.get("remote", unspecified), where + ".remote"),
                check(item.get("remote_port", 0), int, where + ".remote_port"),
                check(item["sshd"], bool, where + ".sshd")))
        return found

    def route_get(self, destination, source):
        for where, item in self._items("route_get"):
            entry(item, where, ("to", "dev"), ("from",))
            if _ip(item["to"], where + ".to") == destination and (
                    item.get("from") is None or _ip(item["from"], where + ".from") == source):
                return _names(item["dev"], where + ".dev")
        return ()


def simulated_view(sysfs_root):
    """The view of a simulated tree, or None when the tree at sysfs_root is (or may be) real."""
    found = _simulated.load(sysfs_root)
    return None if found is None else _SimulatedView(*found)


# ------------------------------------------------------------------------------------ assembly


def _looked_up_tables(view, family, links):
    tables, l3mdev = view.rule_tables(family)
    tables.add(TABLE_MAIN)
    if l3mdev:
        tables.update(link.vrf_table for link in links.values() if link.vrf_table)
    return tables


def _egress(view, conn, links, addresses):
    """Links carrying the connection's replies: for a link-local server address, the link
    holding it (or SSH_CONNECTION's %interface); else the kernel's route to the client."""
    if ipaddress.ip_address(conn.local).is_link_local:
        if conn.interface:
            return (conn.interface,) if conn.interface in links else ()
        return tuple(name for name, addrs in addresses.items()
                     if any(a.split("/")[0] == conn.local for a in addrs))
    return view.route_get(conn.remote, conn.local)


def _require_links(names, links, what, where):
    """Fail closed on a reference to a link the link table does not have."""
    for name in names:
        if name not in links:
            raise Unreadable("%s names %s, which is not in %s" % (what, name, where))


def _consistent(view, links, addresses, routes):
    where = view.links_where
    for link in links.values():
        _require_links([name for name in (link.master, link.lower) if name], links,
                       "link %s" % link.name, where)
    _require_links(addresses, links, "the address table", where)
    for route in routes:
        what = "the IPv%d default route (table %s)" % (route.family, table_name(route.table))
        if not route.devices:
            raise Unreadable("%s names no device it goes through" % what)
        _require_links(route.devices, links, what, where)


def read(sysfs_root="/sys", environ=None, proc="/proc"):
    """The NetState of the simulated tree at sysfs_root, else of the kernel (and proc).

    Raises Unreadable with a message naming what could not be read.
    """
    view = simulated_view(sysfs_root)
    simulated = view is not None
    view = view or _KernelView(proc)
    links = dict((link.name, link) for link in view.links())
    addresses = view.addresses()
    routes = []
    for family in (4, 6):
        tables = _looked_up_tables(view, family, links)
        # A multipath route may have several next hops through one device: named once.
        routes.extend(DefaultRoute(family, table, tuple(dict.fromkeys(devices)))
                      for table, devices in view.default_routes(family) if table in tables)
    _consistent(view, links, addresses, routes)
    try:
        conns = _sshd.connections(view.sockets(), environ)
    except ValueError as exc:
        raise Unreadable(str(exc))
    connections = []
    for conn in conns:
        egress = _egress(view, conn, links, addresses)
        _require_links(egress, links, "the route to %s" % conn.remote, view.links_where)
        connections.append(SshConnection(conn, egress))
    return NetState(links, addresses, routes, connections, simulated)
