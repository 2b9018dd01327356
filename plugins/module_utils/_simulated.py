# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A simulated tree's network file: what the kernel would say about a tree that is not /sys.

A real sysfs cannot hold a file (the kernel generates it), so the presence of
``SIMULATED_NETWORK`` at the root of a tree marks it as simulated; its data stands in for what
rtnetlink and ``/proc/net/tcp`` say about the real kernel. The test fixture builder writes it
(``tests/fixtures/sysfs_tree.py``: ``write_simulated_network``); its format::

    {"format": 1,
     "links": [{"name": "eth1", "ifindex": 3, "kind": null, "master": "br0", "lower": null,
                "vrf_table": null}],              # all but "name" optional
     "addresses": {"br0": ["10.0.0.5/24", "fe80::1/64"]},
     "routes": [{"family": 4, "dst": "default", "table": "main", "dev": "br0"},
                {"family": 6, "dst": "default", "table": 100, "dev": ["eth1", "eth2"]}],
                                                  # a list of devices is a multipath route;
                                                  # "type" defaults to "unicast"
     "rules": [{"family": 4, "table": 100, "priority": 100}, {"family": 4, "l3mdev": true}],
     "tcp": [{"state": "LISTEN", "local": "0.0.0.0", "local_port": 22, "sshd": true},
             {"state": "ESTABLISHED", "local": "10.0.0.5", "local_port": 22,
              "remote": "203.0.113.7", "remote_port": 50022, "sshd": true}],
     "route_get": [{"to": "203.0.113.7", "from": "10.0.0.5", "dev": ["br0"]}]}

Every key is required (an empty list says "none"); a file that is unreadable, not JSON, or not
this shape raises ``Unreadable``.

This module loads the file, checks its shape and its addresses: all the scanner needs. The
guard's view of the other sections is ``_netstate``'s, built on ``load()``. They are apart so
that netvsc_facts does not ship the guard's code: AnsiballZ compiles every module_utils file a
module imports, on the controller and on the host, on each run (docs/fleet.md, "Measured").
"""

from __future__ import annotations

import ipaddress
import json
import os
import stat

SIMULATED_NETWORK = ".netvsc-simulated-network.json"
FORMAT = 1
SECTIONS = ("format", "links", "addresses", "routes", "rules", "tcp", "route_get")
_MAX_FILE = 16 << 20


class Unreadable(Exception):
    """Something that had to be read could not be; the message says what and why."""


def check(value, kind, where):
    """value when it is a kind (an int is not a bool), else Unreadable naming where."""
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise Unreadable("%s must be %s, not %r" % (where, kind.__name__, value))
    return value


def entry(value, where, required, optional=()):
    """Check one object: exactly the keys of required plus any of optional."""
    check(value, dict, where)
    unknown = sorted(set(value) - set(required) - set(optional))
    missing = sorted(set(required) - set(value))
    if unknown or missing:
        raise Unreadable("%s: %s" % (where, "; ".join(
            part for part in ("unknown keys " + ", ".join(unknown) if unknown else "",
                              "missing keys " + ", ".join(missing) if missing else "") if part)))
    return value


def _load_file(path):
    """The parsed JSON of a regular file (not a FIFO or device: opened without blocking)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise Unreadable("%s is not a regular file" % path)
            with os.fdopen(os.dup(fd), "rb") as handle:
                raw = handle.read(_MAX_FILE + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise Unreadable("cannot read %s (%s)" % (path, exc.strerror))
    if len(raw) > _MAX_FILE:
        raise Unreadable("%s is larger than %d bytes" % (path, _MAX_FILE))
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise Unreadable("%s is not valid JSON (%s)" % (path, exc))


def load(sysfs_root):
    """(path, data) of the tree's file, its sections checked for type, or None when the tree
    at sysfs_root is (or may be) real. Raises Unreadable."""
    path = os.path.join(sysfs_root, SIMULATED_NETWORK)
    if not os.path.lexists(path):
        return None
    data = entry(_load_file(path), path, SECTIONS)
    if data["format"] != FORMAT:
        raise Unreadable("%s: format %r is not %d" % (path, data["format"], FORMAT))
    for section in SECTIONS[1:]:
        check(data[section], dict if section == "addresses" else list, "%s: %s" % (path, section))
    return path, data


def addresses(path, data):
    """{link name: ["addr/prefix", ...]} of a loaded file, link-local included; Unreadable if
    an entry is not an address with its prefix length."""
    found = {}
    for name, addrs in data["addresses"].items():
        where = "%s: addresses.%s" % (path, name)
        for address in check(addrs, list, where):
            try:
                ipaddress.ip_interface(check(address, str, where))
            except ValueError:
                raise Unreadable("%s: %r is not an address/prefix" % (where, address))
        found[name] = list(addrs)
    return found
