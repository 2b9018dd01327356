# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one matcher: which NetVSC a name, MAC, VMBus GUID or pairing declaration designates.

What a user types (a *token*) names a NetVSC by its netdev name, its MAC in any form people
paste (``00:0d:3a:03:1e:b1``, ``00-0D-3A-03-1E-B1``, ``000d3a031eb1``, any case) or its VMBus
GUID (with or without braces, any case). A declaration, or any record with ``mac`` and
``vmbus_id`` (a ``state.json`` pairing), names it by MAC and VMBus GUID only: the name it
holds is only the last one seen, and names move.

There is no precedence between identities. Whatever is matched must designate exactly one
NetVSC; when its identities designate two (a declaration whose MAC is now another NetVSC's
than its GUID, a token that is one NetVSC's name and another's MAC), it is *conflicting* and
designates none: a guess could hand another NIC to DPDK.
"""

from __future__ import annotations

import re

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# Colons, dashes (as Azure shows them) or nothing between the six bytes; one separator only.
_MAC_FORMS_RE = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
_GUID_RE = re.compile(r"^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$")
IFNAMSIZ = 16


class InterfaceError(Exception):
    """Something that does not designate exactly one NetVSC; the message says what it is."""


class Conflict(InterfaceError):
    """Something designates more than one NetVSC; the message names them and how."""


def normalize_mac(text):
    """The lowercase colon form of a MAC in any pasted form, or None when text is not one."""
    if not isinstance(text, str):
        return None
    mac = text.strip().lower()
    match = _MAC_FORMS_RE.fullmatch(mac)
    if match is None:
        return None
    if match.group(1) == ":":
        return mac
    digits = mac.replace(":", "").replace("-", "")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def normalize_guid(text):
    """A lowercase GUID without braces, or None when text is not one."""
    if not isinstance(text, str):
        return None
    match = _GUID_RE.fullmatch(text.strip().lower())
    return match.group(1) if match else None


def is_netdev_name(text):
    """Whether text is a name the kernel accepts for a netdev (dev_valid_name())."""
    return (isinstance(text, str) and 0 < len(text) < IFNAMSIZ and text not in (".", "..")
            and not any(c in "/:" or c.isspace() or not c.isprintable() for c in text))


def _identities(what):
    """(name, mac, guid) that what names; each None when it does not name one."""
    if isinstance(what, str):
        token = what.strip()
        return token or None, normalize_mac(token), normalize_guid(token)
    if isinstance(what, dict):
        record = what["netvsc"] if isinstance(what.get("netvsc"), dict) else what
        return None, normalize_mac(record.get("mac")), normalize_guid(record.get("vmbus_id"))
    return None, None, None


def _how(what, nic):
    """The identities of what that equal nic's (a NetVSC fact dict), as words."""
    name, mac, guid = _identities(what)
    return [how for how, hit in (("name", name and nic.get("name") == name),
                                 ("MAC", mac and nic.get("mac") == mac),
                                 ("VMBus GUID", guid and nic.get("vmbus_id") == guid)) if hit]


def designates(what, nic):
    """Whether what (a token, a declaration or a record with mac/vmbus_id) names nic.

    nic is a NetVSC fact dict of netvsc_facts, or a declaration's netvsc identity.
    """
    return bool(_how(what, nic))


def designated(what, nics):
    """(key, nic) of the one NetVSC in nics ({key: fact dict}) that what designates.

    (None, None) when it designates none; raises Conflict when it designates several.
    """
    found = [(key, nic, _how(what, nic)) for key, nic in nics.items()]
    found = [item for item in found if item[2]]
    if len(found) > 1:
        raise Conflict("%s designates %d NetVSCs: %s" % (
            describe(what), len(found),
            ", ".join("%s (by %s)" % (key, " and ".join(how)) for key, _nic, how in found)))
    return (found[0][0], found[0][1]) if found else (None, None)


def describe(what):
    """What a token or a declaration names, for messages."""
    if isinstance(what, str):
        return what.strip() or repr(what)
    _name, mac, guid = _identities(what)
    prefix = "pairing %s: " % what["id"] if isinstance(what, dict) and "id" in what else ""
    return "%sMAC %s and VMBus GUID %s" % (prefix, mac or "unknown", guid or "unknown")
