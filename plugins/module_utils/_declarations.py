# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pairing declarations: the files netvsc_pair writes and the monitor and netvsc_failsafe read.

A declaration names a NetVSC by identities that survive renames and rebinding (MAC first,
then VMBus GUID); the netdev name is only the last one seen. The format is in
docs/architecture.md.
"""

from __future__ import annotations

import json
import os
import re

from ._scan import normalize_guid, normalize_mac

FORMAT = 1
DEFAULT_CONFIG_DIR = "/etc/netvsc/pairs.d"
DRIVERS = ("hv_netvsc", "uio_hv_generic")
ID_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class DeclarationError(Exception):
    """A declaration that cannot be used; the message names the file and the problem."""


def default_id(mac):
    """The pairing id used when none is given: the MAC without colons."""
    return mac.replace(":", "")


def check_id(pair_id):
    if not ID_RE.match(pair_id or ""):
        raise DeclarationError("pairing id %r must match %s (it is used in file and DPDK device names)"
                               % (pair_id, ID_RE.pattern))
    return pair_id


def build(pair_id, iface, driver="hv_netvsc", require_vf=False, force=False):
    """A declaration for the NetVSC fact dict iface."""
    if driver not in DRIVERS:
        raise DeclarationError("driver must be one of %s, not %r" % (", ".join(DRIVERS), driver))
    return {
        "driver": driver,
        "force": bool(force),
        "format": FORMAT,
        "id": check_id(pair_id),
        "netvsc": {"mac": iface["mac"], "name": iface["name"], "vmbus_id": iface["vmbus_id"]},
        "require_vf": bool(require_vf),
    }


def dumps(declaration):
    """The exact file content for a declaration (stable, so reruns compare equal)."""
    return json.dumps(declaration, indent=2, sort_keys=True) + "\n"


def path_for(config_dir, pair_id):
    return os.path.join(config_dir, check_id(pair_id) + ".json")


def validate(declaration, source):
    """Return declaration if well formed, else raise DeclarationError naming source."""
    def fail(problem):
        raise DeclarationError("%s: %s" % (source, problem))
    if not isinstance(declaration, dict) or declaration.get("format") != FORMAT:
        fail("not a format %d pairing declaration" % FORMAT)
    netvsc = declaration.get("netvsc")
    if not isinstance(netvsc, dict):
        fail("missing the netvsc identity")
    mac, guid = netvsc.get("mac"), netvsc.get("vmbus_id")
    if not (isinstance(mac, str) and normalize_mac(mac)) and not (isinstance(guid, str) and normalize_guid(guid)):
        fail("the NetVSC needs a valid MAC or VMBus GUID")
    if declaration.get("driver") not in DRIVERS:
        fail("driver must be one of %s" % ", ".join(DRIVERS))
    try:
        check_id(declaration.get("id"))
    except DeclarationError as exc:
        fail(str(exc))
    return declaration


def load(path):
    """Read and validate one declaration file."""
    try:
        with open(path) as handle:
            declaration = json.load(handle)
    except ValueError as exc:
        raise DeclarationError("%s: not valid JSON (%s)" % (path, exc))
    except OSError as exc:
        raise DeclarationError("%s: %s" % (path, exc.strerror))
    validate(declaration, path)
    if os.path.basename(path) != declaration["id"] + ".json":
        raise DeclarationError("%s: file name does not match id %r" % (path, declaration["id"]))
    return declaration


def load_all(config_dir=DEFAULT_CONFIG_DIR):
    """Return (declarations sorted by id, error messages); a missing directory is empty."""
    declarations, errors = [], []
    try:
        names = sorted(os.listdir(config_dir))
    except FileNotFoundError:
        return declarations, errors
    except OSError as exc:
        return declarations, ["%s: %s" % (config_dir, exc.strerror)]
    for name in names:
        if name.endswith(".json") and not name.startswith("."):
            try:
                declarations.append(load(os.path.join(config_dir, name)))
            except DeclarationError as exc:
                errors.append(str(exc))
    return declarations, errors


def known_macs(declarations):
    """{vmbus_id: mac} recorded in declarations, for NetVSCs that lost their netdev."""
    return dict((d["netvsc"]["vmbus_id"], d["netvsc"]["mac"]) for d in declarations
                if d["netvsc"].get("vmbus_id") and d["netvsc"].get("mac"))


def resolve(declaration, snapshot):
    """Return (key, interface) of the live NetVSC a declaration names, or (None, None)."""
    netvsc = declaration["netvsc"]
    mac, guid = normalize_mac(netvsc.get("mac") or ""), normalize_guid(netvsc.get("vmbus_id") or "")
    by_guid = None
    for key, iface in snapshot.interfaces.items():
        if mac and iface["mac"] == mac:
            return key, iface
        if guid and iface["vmbus_id"] == guid:
            by_guid = (key, iface)
    return by_guid or (None, None)
