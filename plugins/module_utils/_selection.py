# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which NetVSCs one netvsc_pair call may pair, and why the others are refused or left alone.

The decisions of the whole host are made here at once, before anything changes:

* :func:`automatic` picks "every NetVSC that carries no traffic": the guard (``_guard``)
  says it is not management and none of its devices has an address, and its MAC is known.
  Each NetVSC it leaves alone is returned (:class:`LeftAlone`), with the reasons.
* :func:`resolve` turns the wanted pairings (the user's list, or the automatic ones) into
  :class:`Target` records, and refuses each one that may not be paired, with every reason:
  it designates no NetVSC or several (``_identity``), it is not present now, its MAC is
  unknown, it is management without ``allow_management`` (``force`` never overrides that),
  it carries traffic without ``force`` (or ``allow_management``), it is listed twice, its id
  is invalid or declared for another NetVSC, or (without ``exclusive``) the NetVSC is declared
  under another id.
* :func:`unwanted` names the declarations an exclusive call removes.

Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional, Tuple

from . import _declarations as decls
from . import _devargs
from ._mode import Choice
from ._portmap import natural_key
from ._identity import Conflict, InterfaceError, designated, designates

MANAGEMENT_HINT = "set allow_management: true on its item if you really mean it"
TRAFFIC_HINT = "set force: true on its item to pair it anyway"


@dataclass(frozen=True)
class Item:
    """One wanted pairing, as the user gave it (or as automatic selection made it)."""

    netvsc: str  # name, MAC (any pasted form) or VMBus GUID
    id: Optional[str] = None
    driver: str = "hv_netvsc"
    force: bool = False
    allow_management: bool = False
    require_vf: bool = False


@dataclass
class Target:
    """A wanted pairing resolved to one NetVSC: what the declaration will say."""

    item: Item
    key: str  # the NetVSC's key in the snapshot (netdev name, or VMBus GUID without one)
    iface: dict  # its fact dict
    name: Optional[str]  # netdev name, else the last one a declaration saw
    mac: str
    pair_id: str
    declared: Optional[dict]  # this NetVSC's declaration now, if any
    choice: Optional[Choice] = None  # the mode driver auto was resolved for (_mode.choose)


class Refusal(NamedTuple):
    """A NetVSC (as the user named it) that may not be paired, and every reason."""

    netvsc: str
    reasons: Tuple[str, ...]


class LeftAlone(NamedTuple):
    """A NetVSC that automatic selection leaves alone, and why."""

    netvsc: str
    reasons: Tuple[str, ...]


def _traffic_reason(key, verdict):
    devices = ", ".join(verdict.devices) or key
    return "%s carries traffic: it or a device above it (%s) has addresses" % (key, devices)


def _declaration_of(iface, mac, declarations):
    """This NetVSC's declarations (by MAC or VMBus GUID)."""
    identity = dict(iface, mac=mac)
    return [d for d in declarations if designates(d, identity)]


def _mac_of(iface, declarations):
    """The NetVSC's MAC: live, else the one its declarations recorded."""
    if iface["mac"]:
        return iface["mac"]
    macs = set(d["netvsc"]["mac"] for d in declarations if d["netvsc"]["vmbus_id"] == iface["vmbus_id"])
    return macs.pop() if len(macs) == 1 else None


def automatic(snapshot, verdicts, declarations, driver="hv_netvsc", require_vf=False):
    """([Item] of every NetVSC that carries no traffic, [LeftAlone] for the others), in the
    natural order of their keys (eth2 before eth10: the order of the DPDK ports)."""
    items, left_alone = [], []
    for key in sorted(snapshot.interfaces, key=natural_key):
        iface = snapshot.interfaces[key]
        verdict = verdicts[key]
        reasons = list(verdict.reasons)
        if verdict.carries_traffic and not verdict.management:
            reasons.append(_traffic_reason(key, verdict))
        if not reasons and not _mac_of(iface, declarations):
            reasons.append("%s has no netdev (driver %s) and no declaration recorded its MAC"
                           % (key, iface["driver"] or "none"))
        if reasons:
            left_alone.append(LeftAlone(key, tuple(reasons)))
            continue
        items.append(Item(iface["vmbus_id"] or key, None, driver, False, False, require_vf))
    return items, left_alone


def _find(item, snapshot, declarations):
    """(key, iface) of the NetVSC item names, live or through a declaration's last seen
    name; raise InterfaceError (Conflict when it names several)."""
    try:
        key, iface = snapshot.lookup(item.netvsc)
        return key, iface
    except Conflict:
        raise
    except InterfaceError as exc:
        miss = exc
    named = [d for d in declarations if designates(item.netvsc, d["netvsc"])]
    if not named:
        raise miss
    found = set()
    for declaration in named:
        key, iface = designated(declaration, snapshot.interfaces)
        if key is None:
            raise InterfaceError("%s is declared as pairing %s, but that NetVSC (MAC %s, VMBus %s) "
                                 "is not present on this host now" % (
                                     item.netvsc, declaration["id"], declaration["netvsc"]["mac"],
                                     declaration["netvsc"]["vmbus_id"]))
        found.add(key)
    if len(found) > 1:
        raise Conflict("%s is the last seen name of pairings of several NetVSCs (%s); use a MAC or "
                       "VMBus GUID" % (item.netvsc, ", ".join(sorted(found))))
    key = found.pop()
    return key, snapshot.interfaces[key]


def _guard_reasons(item, key, verdict):
    """Why the guard refuses this item, [] when it may be paired."""
    if verdict.management and not item.allow_management:
        return ["%s; %s" % (reason, MANAGEMENT_HINT) for reason in verdict.reasons] or [
            "%s is management; %s" % (key, MANAGEMENT_HINT)]
    if verdict.carries_traffic and not (item.force or item.allow_management):
        return ["%s; %s" % (_traffic_reason(key, verdict), TRAFFIC_HINT)]
    return []


def _resolve_one(item, snapshot, verdicts, declarations, exclusive):
    """(Target, []) or (None, [reasons])."""
    try:
        key, iface = _find(item, snapshot, declarations)
    except InterfaceError as exc:
        return None, [str(exc)]
    reasons = _guard_reasons(item, key, verdicts[key])
    mac = _mac_of(iface, declarations)
    if not mac:
        reasons.append(
            "the MAC of %s is unknown: it is bound to %s and has no netdev, and no declaration "
            "recorded its MAC. Bind it back to hv_netvsc (echo %s > /sys/bus/vmbus/drivers/%s/unbind; "
            "echo %s > /sys/bus/vmbus/drivers/hv_netvsc/bind) and declare it with driver "
            "uio_hv_generic: netvsc_pair records the MAC before it rebinds" % (
                key, iface["driver"] or "no driver", iface["vmbus_id"],
                iface["driver"] or "uio_hv_generic", iface["vmbus_id"]))
        return None, reasons
    mine = _declaration_of(iface, mac, declarations)
    declared = mine[0] if mine else None
    name = iface["name"] or (declared and declared["netvsc"]["name"])
    pair_id = item.id or (declared and declared["id"]) or decls.default_id(mac)
    try:
        decls.check_id(pair_id)
        if iface["name"] is not None:  # the renderers put it in devargs
            _devargs.check_iface(iface["name"], pair_id)
    except (decls.DeclarationError, _devargs.DevargsError) as exc:
        reasons.append(str(exc))
    for other in declarations:
        if other["id"] == pair_id and other not in mine:
            reasons.append("pairing id %s is declared for another NetVSC (MAC %s, VMBus %s); choose "
                           "another id, or remove that pairing first" % (
                               pair_id, other["netvsc"]["mac"], other["netvsc"]["vmbus_id"]))
    if not exclusive:
        for other in mine:
            if other["id"] != pair_id:
                reasons.append("%s is already declared as pairing %s; use id: %s, or remove that "
                               "pairing first (or make the call exclusive)" % (key, other["id"], other["id"]))
    if reasons:
        return None, reasons
    return Target(item, key, iface, name, mac, pair_id, declared), []


def resolve(items, snapshot, verdicts, declarations, exclusive=False):
    """([Target] in the order of items, [Refusal]) for the wanted pairings."""
    targets, refusals = [], []
    by_guid, by_id = {}, {}
    for number, item in enumerate(items, 1):
        target, reasons = _resolve_one(item, snapshot, verdicts, declarations, exclusive)
        if target is not None:
            first = by_guid.setdefault(target.iface["vmbus_id"], number)
            if first != number:
                reasons.append("%s is listed twice (items %d and %d)" % (target.key, first, number))
            first = by_id.setdefault(target.pair_id, number)
            if first != number:
                reasons.append("pairing id %s is given twice (items %d and %d)" % (target.pair_id, first, number))
        if reasons:
            refusals.append(Refusal(item.netvsc, tuple(reasons)))
        else:
            targets.append(target)
    return targets, refusals


def refuse_without_vf(targets, waited):
    """[Refusal] of the targets that require a VF and have none after waiting."""
    return [Refusal(t.item.netvsc, (
        "no VF is paired with %s after waiting %.1f s (require_vf: true); is Accelerated "
        "Networking (SR-IOV) enabled for this NIC? Raise wait_for_vf to wait for a VF during "
        "host servicing" % (t.name or t.key, waited),))
        for t in targets if t.item.require_vf and t.iface["vf"] is None]


def unwanted(declarations, targets, snapshot, keep_absent=False):
    """The declarations an exclusive call removes: those not wanted by targets.

    keep_absent (automatic selection): keep the declaration of a NetVSC that is not present
    now, since whether it would be selected cannot be told.
    """
    wanted = set(t.pair_id for t in targets)
    found = []
    for declaration in declarations:
        if declaration["id"] in wanted:
            continue
        if keep_absent:
            try:
                key, _iface = designated(declaration, snapshot.interfaces)
            except Conflict:
                key = "conflict"
            if key is None:
                continue
        found.append(declaration)
    return found


def message(refusals, total):
    """The task's failure: every refused NetVSC with its reasons."""
    if total == 1:
        return "Refusing %s, nothing was changed: %s." % (refusals[0].netvsc, "; ".join(refusals[0].reasons))
    return "Refusing %d of %d pairings, nothing was changed: %s" % (
        len(refusals), total, " ".join("%s: %s." % (r.netvsc, "; ".join(r.reasons)) for r in refusals))
