# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which DPDK mode a pairing gets: ``auto`` per Microsoft's guidance, and whether a mode asked
for is valid for the VF the NetVSC has now.

Microsoft's guidance ("Set up DPDK in a Linux VM", 2023): "running with failsafe PMD is not
recommended in Azure. If your DPDK version is 22.11 LTS or newer, use NetVSC PMD"; MANA
("Linux VMs with Azure MANA", DPDK >= 22.11): the netvsc PMD only; LISA: "Failsafe PMD test on
MANA is not supported". So :func:`choose` resolves ``auto`` to

1. ``netvsc_pmd`` for a NetVSC whose VF is MANA, always;
2. ``netvsc_pmd`` when the installed DPDK is >= 22.11 with the netvsc PMD (and its VMBus bus
   driver), the kernel has ``uio_hv_generic`` and the NetVSC may be bound to it;
3. ``failsafe`` otherwise, giving the first thing that ruled the netvsc PMD out.

The mode needs a driver: ``netvsc_pmd`` the NetVSC bound to ``uio_hv_generic``, the others its
``hv_netvsc`` netdev. netvsc_pair decides the binding (``driver`` unknown yet: the choice says
which driver to declare); netvsc_failsafe renders a declaration whose driver is fixed (the
choice follows it, or says clearly why the pairing cannot run as it is declared).

Since 2026-05 Azure moves v5 sizes to MANA hardware after a deallocate: the same pairing can
have had an mlx5 VF yesterday. ``failsafe`` and ``vdev_netvsc`` are then no longer valid, which
:func:`choose` reports as a :class:`ModeError`, while ``auto`` switches to ``netvsc_pmd``.

``host`` is what ``_readiness.probe()`` returns (files only, no program is run). Stdlib only,
Python >= 3.8.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ._readiness import MODE_MODULES, MODE_PMDS, dpdk_label

AUTO = "auto"
MODES = ("failsafe", "vdev_netvsc", "netvsc_pmd", AUTO)
UIO = "uio_hv_generic"
NETVSC = "hv_netvsc"
# Microsoft recommends the netvsc PMD from this DPDK release on; MANA needs it too.
NETVSC_PMD_SINCE = (22, 11)

_RELEASE_RE = re.compile(r"^(\d+)\.(\d+)")

FAILSAFE_OVER_MANA = (
    "fail-safe over MANA is not supported: Microsoft (LISA: \"Failsafe PMD test on MANA is not "
    "supported\", Azure docs) does not support it, all MANA vPorts share one PCI address "
    "(selected with mac=), and fail-safe's fs_ethdev_portid_get() matches probed ports by "
    "device-name prefix, so it can take the wrong vPort")


class ModeError(ValueError):
    """No valid mode for a pairing; the message names the pairing, says why and what to do."""


class Choice(NamedTuple):
    """The mode of one pairing, the driver its NetVSC needs for it, and why."""

    mode: str
    driver: str
    reason: str


def dpdk_release(dpdk):
    """(22, 11) from a _readiness DPDK probe (its version, "22.11.11"), else None."""
    match = _RELEASE_RE.match((dpdk or {}).get("version") or "")
    return tuple(int(part) for part in match.groups()) if match else None


def netvsc_pmd_unavailable(host):
    """Why this host cannot run the netvsc PMD (a sentence), None when it can."""
    if host is None:
        return "the installed DPDK was not probed"
    dpdk = host["dpdk"]
    if dpdk.get("libdir") is None:
        return ("no DPDK installation was found (libdpdk.pc, a PMD directory or librte_eal in "
                "/usr/local/lib or /usr/lib)")
    release = dpdk_release(dpdk)
    if release is None:
        return "the version of the DPDK in %s is unknown" % dpdk["libdir"]
    if release < NETVSC_PMD_SINCE:
        return "%s is older than %d.%d, from which Microsoft recommends the netvsc PMD" % (
            (dpdk_label(dpdk),) + NETVSC_PMD_SINCE)
    missing = [name for name in MODE_PMDS["netvsc_pmd"] if not dpdk["pmds"].get(name)]
    if missing:
        return "%s has no %s" % (dpdk_label(dpdk), " and no ".join(
            "VMBus bus driver" if name == "bus_vmbus" else "%s PMD" % name for name in missing))
    kernel = host["kernel"]
    missing = [name for name in MODE_MODULES["netvsc_pmd"] if kernel["modules"].get(name) == "missing"]
    if missing:
        return "kernel %s has no %s module" % (kernel["release"], " and no ".join(missing))
    return None


def _asked(asked, kind, driver, where, vf):
    """Choice for a mode asked for by name, or ModeError when it cannot work."""
    if asked == "netvsc_pmd":
        if driver == NETVSC:
            raise ModeError(
                "%smode netvsc_pmd needs the NetVSC bound to uio_hv_generic, but it is declared "
                "with driver hv_netvsc; declare the pairing with driver uio_hv_generic (the netvsc "
                "PMD probes the VMBus device itself) or use mode failsafe" % where)
        return Choice(asked, UIO, "mode netvsc_pmd was asked for")
    if kind == "mana":
        raise ModeError(
            "%smode %s is not valid for it: its VF %s is a MANA device (Azure moves VMs to MANA "
            "hardware after a deallocate), and %s. Use mode auto, which switches it to the netvsc "
            "PMD (DPDK >= 22.11, the NetVSC bound to uio_hv_generic), or mode netvsc_pmd."
            % (where, asked, vf or "(MANA)", FAILSAFE_OVER_MANA))
    return Choice(asked, NETVSC, "mode %s was asked for" % asked)


def unbindable(name, management, carries_traffic, reasons=()):
    """Why auto may not bind a NetVSC to uio_hv_generic (binding removes its netdev and every
    address on it), None when it may. From the management guard's verdict (_guard.Verdict)."""
    if management:
        return "%s is management (%s)" % (name, "; ".join(reasons) or "says the guard")
    if carries_traffic:
        return ("%s carries traffic (it or a device above it has addresses): binding it to "
                "uio_hv_generic would remove its netdev" % name)
    return None


def choose(asked, kind=None, host=None, driver=None, unbindable=None, pair_id=None, vf=None):
    """The :class:`Choice` for one pairing; raise :class:`ModeError` when none is valid.

    asked: a mode of MODES. kind: the kind of the VF the NetVSC has now (None: no VF).
    host: ``_readiness.probe()``, None when not probed. driver: the driver the pairing is
    declared with, None while netvsc_pair is deciding it. unbindable: why the NetVSC may not be
    bound to uio_hv_generic (a sentence), None when it may. pair_id and vf (the VF's device
    argument) only name things in messages.
    """
    if asked not in MODES:
        raise ModeError("mode %r is not one of %s" % (asked, ", ".join(MODES)))
    where = "pairing %s: " % pair_id if pair_id is not None else ""
    if asked != "auto":
        return _asked(asked, kind, driver, where, vf)
    if kind == "mana":
        blocked = ("it is declared with driver hv_netvsc; pair it again with driver auto or "
                   "uio_hv_generic (the failsafe role with netvsc_mode auto does so at its next "
                   "run)") if driver == NETVSC else unbindable
        if blocked:
            raise ModeError(
                "%sits VF %s is a MANA device, which needs the netvsc PMD and the NetVSC bound to "
                "uio_hv_generic (%s), but %s" % (where, vf or "(MANA)", FAILSAFE_OVER_MANA, blocked))
        return Choice("netvsc_pmd", UIO, "its VF is a MANA device: Microsoft supports only the "
                                         "netvsc PMD on MANA")
    if driver == UIO:
        return Choice("netvsc_pmd", UIO, "the NetVSC is declared with driver uio_hv_generic")
    why_not = unbindable or netvsc_pmd_unavailable(host)
    if driver == NETVSC:
        if host is None:
            why_not = unbindable or "the NetVSC is declared with driver hv_netvsc"
        elif not why_not:
            why_not = ("the NetVSC is declared with driver hv_netvsc (netvsc_pair with driver "
                       "auto would bind it to uio_hv_generic for the netvsc PMD of %s)"
                       % dpdk_label(host["dpdk"]))
    if why_not:
        return Choice("failsafe", NETVSC, why_not)
    return Choice("netvsc_pmd", UIO, "%s has the netvsc PMD, which Microsoft recommends from "
                                     "DPDK %d.%d on" % ((dpdk_label(host["dpdk"]),) + NETVSC_PMD_SINCE))
