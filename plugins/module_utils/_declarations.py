# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pairing declarations: the files netvsc_pair writes and the monitor and the modules read.

A declaration names a NetVSC by identities that survive renames and rebinding (MAC and VMBus
GUID, see _identity); the netdev name is only the last one seen. The schema below is strict:
a file that does not match it is refused with a message naming the file and the field, and
what is read is normalised (lowercase colon MAC, lowercase GUID). The format is in
docs/architecture.md.
"""

from __future__ import annotations

import json
import os
import re

from . import _trust
from ._identity import is_netdev_name, normalize_guid, normalize_mac

FORMAT = 1
DEFAULT_CONFIG_DIR = "/etc/netvsc/pairs.d"
DRIVERS = ("hv_netvsc", "uio_hv_generic")
ID_RE = re.compile(r"^[a-z0-9_]{1,32}$")
# A declaration is about 300 bytes; anything much larger is not one.
MAX_BYTES = 64 * 1024
TOP_KEYS = ("driver", "force", "format", "id", "netvsc", "require_vf")
NETVSC_KEYS = ("mac", "name", "vmbus_id")


class DeclarationError(Exception):
    """A declaration that cannot be used; the message names the file and the problem."""


def default_id(mac):
    """The pairing id used when none is given: the MAC without separators."""
    return (normalize_mac(mac) or "").replace(":", "")


def check_id(pair_id):
    if not isinstance(pair_id, str) or not ID_RE.fullmatch(pair_id):
        raise DeclarationError("pairing id %r must match %s (it is used in file and DPDK device names)"
                               % (pair_id, ID_RE.pattern))
    return pair_id


def build(pair_id, iface, driver="hv_netvsc", require_vf=False, force=False):
    """A declaration for the NetVSC fact dict iface, validated like a file that is read."""
    declaration = {
        "driver": driver,
        "force": force,
        "format": FORMAT,
        "id": pair_id,
        "netvsc": {"mac": iface["mac"], "name": iface["name"], "vmbus_id": iface["vmbus_id"]},
        "require_vf": require_vf,
    }
    return validate(declaration, "the declaration of pairing %s" % pair_id)


def dumps(declaration):
    """The exact file content for a declaration (stable, so reruns compare equal)."""
    return json.dumps(declaration, indent=2, sort_keys=True) + "\n"


def path_for(config_dir, pair_id):
    return os.path.join(config_dir, check_id(pair_id) + ".json")


def _exact_keys(value, keys, field, fail):
    """Fail unless value is an object with exactly keys (field: its name, None for the file)."""
    def name(key):
        return "%s.%s" % (field, key) if field else key
    if not isinstance(value, dict):
        fail(field or "the file", "must be a JSON object, not %s" % _json_type(value))
    missing = [key for key in keys if key not in value]
    unknown = sorted(key for key in value if key not in keys)
    if missing:
        fail(name(missing[0]), "is missing")
    if unknown:
        fail(name(unknown[0]), "is not a declaration field (allowed: %s)" % ", ".join(keys))


def _json_type(value):
    for kind, name in ((bool, "a boolean"), (int, "a number"), (float, "a number"),
                       (str, "a string"), (list, "a list"), (dict, "an object")):
        if isinstance(value, kind):
            return name
    return "null"


def validate(declaration, source):
    """Return a normalised copy of declaration, or raise DeclarationError naming source and field."""
    def fail(field, problem):
        raise DeclarationError("%s: %s %s" % (source, field, problem))

    def want(field, value, ok, expected):
        if not ok:
            got = "null" if value is None else "%s %s" % (_json_type(value), json.dumps(value)[:80])
            fail(field, "must be %s, not %s" % (expected, got))

    _exact_keys(declaration, TOP_KEYS, None, fail)
    fmt = declaration["format"]
    want("format", fmt, isinstance(fmt, int) and not isinstance(fmt, bool) and fmt == FORMAT, "%d (the only format this version reads)" % FORMAT)
    pair_id = declaration["id"]
    want("id", pair_id, isinstance(pair_id, str) and ID_RE.fullmatch(pair_id), "a string matching %s" % ID_RE.pattern)
    driver = declaration["driver"]
    want("driver", driver, isinstance(driver, str) and driver in DRIVERS, "one of %s" % ", ".join(DRIVERS))
    for flag in ("force", "require_vf"):
        want(flag, declaration[flag], isinstance(declaration[flag], bool), "true or false")
    netvsc = declaration["netvsc"]
    _exact_keys(netvsc, NETVSC_KEYS, "netvsc", fail)
    mac, guid, name = normalize_mac(netvsc["mac"]), normalize_guid(netvsc["vmbus_id"]), netvsc["name"]
    want("netvsc.mac", netvsc["mac"], mac, "a MAC (00:0d:3a:03:1e:b1, 00-0D-3A-03-1E-B1 or 000d3a031eb1)")
    want("netvsc.vmbus_id", netvsc["vmbus_id"], guid, "a VMBus GUID")
    want("netvsc.name", name, name is None or is_netdev_name(name), "null or a Linux interface name")
    return dict(declaration, netvsc={"mac": mac, "name": name, "vmbus_id": guid})


def _no_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("key %r appears twice" % key)
        result[key] = value
    return result


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def load(path, uid=None):
    """Read and validate one declaration file (a trusted regular file, see _trust)."""
    try:
        data = _trust.read(path, MAX_BYTES, uid)
    except _trust.UntrustedError as exc:
        raise DeclarationError(str(exc))
    except OSError as exc:
        raise DeclarationError("%s: %s" % (path, exc.strerror or exc))
    try:
        declaration = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys,
                                 parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise DeclarationError("%s: not valid JSON (%s)" % (path, str(exc)[:200]))
    declaration = validate(declaration, path)
    if os.path.basename(path) != declaration["id"] + ".json":
        raise DeclarationError("%s: id %r does not match the file name" % (path, declaration["id"]))
    return declaration


def is_declaration_name(name):
    """Whether a file of this name in a config_dir is read as a pairing declaration."""
    return name.endswith(".json") and not name.startswith(".")


def load_each(config_dir=DEFAULT_CONFIG_DIR, uid=None):
    """[(path, declaration, None) or (path, None, error)] for every *.json file, sorted.

    A missing directory has none; an untrusted or unreadable one is [(config_dir, None, error)].
    """
    try:
        _trust.check_dir(config_dir, uid)
        names = sorted(os.listdir(config_dir))
    except FileNotFoundError:
        return []
    except _trust.UntrustedError as exc:
        return [(config_dir, None, "%s; no declaration read from it" % exc)]
    except OSError as exc:
        return [(config_dir, None, "%s: %s" % (config_dir, exc.strerror))]
    found = []
    for name in names:
        if is_declaration_name(name):
            path = os.path.join(config_dir, name)
            try:
                found.append((path, load(path, uid), None))
            except DeclarationError as exc:
                found.append((path, None, str(exc)))
    return found


def load_all(config_dir=DEFAULT_CONFIG_DIR, uid=None):
    """Return (valid declarations sorted by id, error messages); a missing directory is empty.

    Each error names the file (or the directory) and the field; the other files still load.
    """
    found = load_each(config_dir, uid)
    return ([d for _path, d, _error in found if d is not None],
            [error for _path, _d, error in found if error is not None])


def known_macs(declarations):
    """{vmbus_id: mac} recorded in declarations, for NetVSCs that lost their netdev.

    A GUID declared with two different MACs is left out: its MAC is not known.
    """
    macs = {}
    for declaration in declarations:
        ident = declaration["netvsc"]
        macs.setdefault(ident["vmbus_id"], set()).add(ident["mac"])
    return dict((guid, found.pop()) for guid, found in macs.items() if len(found) == 1)
