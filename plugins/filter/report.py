# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report's rules: rows, severity, notes, ordering and summary (playbooks/report.yml).

The templates only present what these functions return. Documentation: report_rows.yml and
report.yml next to this file; the rules are tabled in docs/fleet.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import time

from ansible_collections.hyperv.netvsc.plugins.module_utils._identity import (
    Conflict, designated, designates)
from ansible_collections.hyperv.netvsc.plugins.module_utils._mode import ModeError, choose
from ansible_collections.hyperv.netvsc.plugins.module_utils._portmap import natural_key

# Row severities, in report order.
PROBLEM = 0
WARNING = 1
OK = 2
NOT_APPLICABLE = 3
STATUS = ("problem", "warning", "ok", "n/a")
KINDS = ("mlx5", "mlx4", "mana", "unknown")
KIND_LABELS = {"mana": "MANA", "mlx4": "mlx4", "mlx5": "mlx5"}
EMPTY_ROW = {
    "host": None, "hyperv": None, "netvsc": None, "mac": None, "driver": None,
    "addresses": [], "vf": None, "kind": None, "pci_address": None, "paired_by": None,
    "vf_driver": None, "pair_id": None, "monitor": None, "monitor_vf": None,
    "monitor_updated": None, "last_vf_change": None, "vf_changes": None, "ready": None,
    "dpdk_mode": None, "dpdk_mode_reason": None,
    "severity": OK, "problems": [],
}
BECOME_HINT = ("reading it needs become: the monitor runs as a systemd DynamicUser, whose "
               "state directory only root can enter")


def _utc(timestamp):
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(timestamp)))
    except (TypeError, ValueError, OverflowError):
        return None


# ------------------------------------------------------------------------ monitor state


def monitor_state(result, stale_after=300, managed=True, now=None, path=None):
    """Classify the slurp result of the monitor's state.json.

    Returns {"state", "detail", "pairs", "updated"}: state is "running", "one-shot" (the
    sandbox ran the monitor with --once), "stale", "absent", "unreadable", "invalid" or
    "unknown" (no result at all); detail is the sentence for the report's notes.
    """
    found = {"state": "unknown", "detail": None, "pairs": {}, "updated": None}
    where = path or (result or {}).get("source") or "state.json"
    if not isinstance(result, dict) or not result:
        found["detail"] = "the monitor's state was not read"
        return found
    if result.get("failed") or "content" not in result:
        message = str(result.get("msg") or "no content")
        lowered = message.lower()
        if lowered.startswith("file not found"):
            found.update(state="absent", detail="no state.json at %s" % where)
        else:
            hint = "; " + BECOME_HINT if "not readable" in lowered or "permission" in lowered else ""
            found.update(state="unreadable", detail="cannot read %s: %s%s" % (where, message, hint))
        return found
    try:
        data = json.loads(base64.b64decode(result["content"]).decode("utf-8"))
    except (binascii.Error, TypeError, ValueError) as exc:
        found.update(state="invalid", detail="%s is not valid JSON: %s" % (where, exc))
        return found
    if not isinstance(data, dict) or not isinstance(data.get("pairs", {}), dict):
        found.update(state="invalid", detail="%s is not the monitor's state (no pairs map)" % where)
        return found
    found["pairs"] = data.get("pairs", {})
    found["updated"] = _utc(data.get("updated_at"))
    if not managed:
        found["state"] = "one-shot"
        return found
    try:
        age = (time.time() if now is None else now) - float(data.get("updated_at"))
    except (TypeError, ValueError):
        found.update(state="invalid", detail="%s has no valid updated_at" % where)
        return found
    if age > float(stale_after):
        found.update(state="stale", detail="state.json last updated %s, %d s ago (stale after %d s)" % (
            found["updated"], age, float(stale_after)))
    else:
        found["state"] = "running"
    return found


def _pairs_by_nic(pairs, interfaces):
    """Join the monitor's pairings to the NetVSCs by the one matcher (_identity).

    Returns ({nic key: (pair id, pairing)}, {nic key: [notes]}): the first pairing (sorted
    ids) that designates each NetVSC, and a note for each NetVSC that a conflicting pairing
    (MAC of one NetVSC, VMBus GUID of another) names.
    """
    owned, conflicts = {}, {}
    for pair_id in sorted(pairs):
        pair = pairs[pair_id]
        if not isinstance(pair, dict):
            continue
        try:
            key, _nic = designated(pair, interfaces)
        except Conflict as exc:
            for key, nic in interfaces.items():
                if designates(pair, nic):
                    conflicts.setdefault(key, []).append(
                        "pairing %s: %s; the monitor publishes no VF for it" % (pair_id, exc))
            continue
        if key is not None:
            owned.setdefault(key, (pair_id, pair))
    return owned, conflicts


# ------------------------------------------------------------------------ rows of a host


def _missing_vf_note(nic, facts):
    """(severity, note) for a NetVSC without a VF, naming the cause found in the facts."""
    if nic.get("driver") == "uio_hv_generic":
        return WARNING, "bound to uio_hv_generic: the DPDK netvsc PMD pairs the VF itself"
    if nic.get("addresses"):
        return WARNING, "no VF on a routed NetVSC (%s): left alone" % ", ".join(nic["addresses"])
    shared = [vf for vf in facts.get("unpaired_vfs") or [] if nic.get("mac") and vf.get("mac") == nic["mac"]]
    if shared:
        return PROBLEM, "no VF paired: %s" % shared[0].get("unpaired_reason", "its MAC is ambiguous")
    bare = facts.get("vf_functions_without_netdev") or []
    if bare:
        return PROBLEM, "no VF netdev: " + "; ".join(_bare_function(fn) for fn in bare)
    return PROBLEM, "no VF: Accelerated Networking off, or VF removed (host servicing)"


def _bare_function(fn):
    """Sentence about a VF-family PCI function that has no netdev."""
    state = ("has no driver bound" if not fn.get("driver")
             else "is bound to %s without a netdev" % fn["driver"])
    return "the %s PCI function %s %s" % (KIND_LABELS.get(fn.get("kind"), fn.get("kind")),
                                          fn.get("pci_address"), state)


def _readiness_notes(verdict, declared, has_vf):
    """(problems, warnings) from a readiness verdict; declared pairings that are not ready are
    problems, other DPDK candidates get warnings."""
    if not verdict:
        return [], []
    reasons = ["not ready for DPDK: %s" % r for r in verdict.get("reasons") or []]
    warnings = ["DPDK: %s" % w for w in verdict.get("warnings") or []
                if has_vf or not w.startswith("no VF now")]
    if declared:
        return reasons, warnings
    return [], reasons + warnings


def _auto_mode(key, nic, facts):
    """(mode, reason, problem) of mode auto for this NetVSC now (_mode.choose(), Microsoft's
    guidance), from its VF, the host's readiness probes and its declared driver; problem: why
    no mode is valid (e.g. its VF became MANA while it is declared with hv_netvsc)."""
    declared = [d for d in (facts.get("declarations") or {}).values() if designates(d, nic)]
    driver = declared[0]["driver"] if len(declared) == 1 else None
    vf = nic.get("vf") or {}
    unbindable = "%s has addresses" % key if driver is None and nic.get("addresses") else None
    try:
        choice = choose("auto", vf.get("kind"), facts.get("readiness"), driver, unbindable,
                        declared[0]["id"] if len(declared) == 1 else None, vf.get("pci_address"))
    except ModeError as exc:
        return None, None, "DPDK mode: %s" % exc
    return choice.mode, choice.reason, None


def _nic_row(base, key, nic, facts, monitor, readiness, joined):
    problems, warnings = [], []
    owned, conflicts = joined
    problems += conflicts.get(key, [])
    vf = nic.get("vf")
    if vf is None:
        severity, note = _missing_vf_note(nic, facts)
        (problems if severity == PROBLEM else warnings).append(note)
    pair_id, pair = owned.get(key, (None, None))
    candidate = nic.get("driver") == "hv_netvsc" and not nic.get("addresses")
    if candidate and monitor["state"] in ("absent", "stale", "unreadable", "invalid"):
        problems.append("monitor not running: %s" % monitor["detail"]
                        if monitor["state"] in ("absent", "stale") else
                        "monitor state unknown: %s" % monitor["detail"])
    if pair is not None and monitor["state"] in ("running", "one-shot"):
        published = (pair.get("vf") or "").split(",")[0] or None
        actual = vf.get("pci_address") if vf else None
        if published != actual:
            warnings.append("monitor publishes %s, sysfs shows %s" % (published or "no VF", actual or "no VF"))
    verdict = readiness.get(key)
    mode = reason = None
    if candidate or pair is not None or nic.get("driver") == "uio_hv_generic":
        more_problems, more_warnings = _readiness_notes(
            verdict, pair is not None or nic.get("driver") == "uio_hv_generic", vf is not None)
        problems += more_problems
        warnings += more_warnings
        mode, reason, invalid = _auto_mode(key, nic, facts)
        problems += [invalid] if invalid else []
    if pair is not None:
        shown = monitor["state"]
    elif monitor["state"] in ("running", "one-shot", "stale"):
        shown = monitor["state"] + ", not declared"
    else:
        shown = "not declared" if nic.get("addresses") else monitor["state"]
    return dict(base, netvsc=nic.get("name") or key, mac=nic.get("mac"), driver=nic.get("driver"),
                addresses=list(nic.get("addresses") or []),
                vf=vf.get("name") if vf else None, kind=vf.get("kind") if vf else None,
                pci_address=vf.get("pci_address") if vf else None,
                paired_by=vf.get("paired_by") if vf else None,
                vf_driver=vf.get("driver") if vf else None, pair_id=pair_id,
                monitor=shown, monitor_vf=pair.get("vf") if pair else None,
                last_vf_change=_utc(pair.get("changed_at")) if pair and pair.get("changed_at") else None,
                vf_changes=pair.get("changes") if pair else None,
                ready=verdict.get("ready") if verdict else None,
                dpdk_mode=mode, dpdk_mode_reason=reason,
                severity=PROBLEM if problems else WARNING if warnings else OK,
                problems=problems + warnings)


def report_rows(facts, host, state_result=None, stale_after=300, managed=True, now=None,
                state_path=None):
    """The report rows of one host: one per NetVSC, one per unpaired VF, or one host row.

    facts: ansible_facts.netvsc (empty or undefined: no facts); state_result: the slurp
    result of the monitor's state.json.
    """
    facts = facts if isinstance(facts, dict) else {}
    base = dict(EMPTY_ROW, host=host, hyperv=facts.get("hyperv"))
    if not facts:
        return [dict(base, monitor="unknown", severity=PROBLEM, problems=["no NetVSC facts"])]
    if not facts.get("hyperv"):
        return [dict(base, monitor="n/a", severity=NOT_APPLICABLE, problems=[
            "not applicable: not a Hyper-V/Azure guest (no VMBus)"])]
    monitor = monitor_state(state_result, stale_after, managed, now, state_path)
    base.update(monitor_updated=monitor["updated"])
    readiness = (facts.get("readiness") or {}).get("pairings") or {}
    interfaces = facts.get("interfaces") or {}
    joined = _pairs_by_nic(monitor["pairs"], interfaces)
    rows = [_nic_row(base, key, nic, facts, monitor, readiness, joined) for key, nic in interfaces.items()]
    if not interfaces:
        rows.append(dict(base, monitor=monitor["state"], severity=PROBLEM,
                         problems=["Hyper-V guest without any NetVSC"]))
    uio = any(nic.get("driver") == "uio_hv_generic" for nic in interfaces.values())
    for vf in facts.get("unpaired_vfs") or []:
        why = "unpaired VF: %s" % vf.get("unpaired_reason", "its MAC matches no NetVSC")
        if uio:
            why += "; a NetVSC here is bound to uio_hv_generic, whose netvsc PMD pairs it by MAC"
        rows.append(dict(base, mac=vf.get("mac"), vf=vf.get("name"), kind=vf.get("kind"),
                         pci_address=vf.get("pci_address"), paired_by="unpaired",
                         vf_driver=vf.get("driver"), monitor=monitor["state"],
                         severity=WARNING if uio else PROBLEM, problems=[why]))
    return rows


# ------------------------------------------------------------------------ the whole report


def _order(row):
    return (row["severity"], natural_key(row["host"]), row["netvsc"] is None,
            natural_key(row["netvsc"]), natural_key(row["vf"]))


def report(rows_by_host, hosts, failed_hosts=(), generated_at=None):
    """The whole report: rows of every host (problems first, natural order), and a summary.

    rows_by_host: per host of hosts (same order), its report_rows() or None when missing.
    """
    rows = []
    failed = set(failed_hosts or ())
    for host, host_rows in zip(hosts, rows_by_host):
        if host in failed or host_rows is None:
            rows.append(dict(EMPTY_ROW, host=host, severity=PROBLEM, problems=[
                "unreachable, or a task failed on this host: see the play output"]))
        else:
            rows.extend(dict(EMPTY_ROW, **row) for row in host_rows)
    rows.sort(key=_order)
    nics = [row for row in rows if row["driver"] is not None]
    summary = {
        "hosts": len(hosts),
        "hyperv_hosts": len(set(row["host"] for row in rows if row["hyperv"])),
        "not_applicable_hosts": len(set(row["host"] for row in rows if row["severity"] == NOT_APPLICABLE)),
        "failed_hosts": len(failed),
        "netvscs": len(nics),
        "with_vf": sum(1 for row in nics if row["vf"] is not None),
        "without_vf": sum(1 for row in nics if row["vf"] is None),
        "unpaired_vfs": sum(1 for row in rows if row["paired_by"] == "unpaired"),
        "not_ready": sum(1 for row in nics if row["ready"] is False),
        "kinds": dict((kind, sum(1 for row in nics if row["kind"] == kind)) for kind in KINDS),
        "problem_rows": sum(1 for row in rows if row["severity"] == PROBLEM),
        "warning_rows": sum(1 for row in rows if row["severity"] == WARNING),
        "problem_hosts": len(set(row["host"] for row in rows if row["severity"] == PROBLEM)),
    }
    return {"format": 1, "summary": summary, "rows": rows,
            "generated_at": generated_at or time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


class FilterModule:
    """hyperv.netvsc.report_rows and hyperv.netvsc.report."""

    def filters(self):
        return {"report_rows": report_rows, "report": report}
