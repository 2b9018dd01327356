# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The systemd drop-in that wires a DPDK application's unit to its pairings.

``<units_dir>/<unit>.d/50-hyperv-netvsc.conf`` of each unit of ``netvsc_dpdk_units`` says:

* ``EnvironmentFile=`` the file netvsc_failsafe wrote (``$NETVSC_EAL_ARGS``,
  ``$NETVSC_DPDK_PORTS``);
* ``After=`` and ``Wants=`` the hot-plug monitor, when a pairing is fail-safe: its exec()
  reads the files the monitor publishes (nothing reads them in the other modes);
* for each pairing on the netvsc PMD, a check that the NetVSC is bound to ``uio_hv_generic``
  before DPDK starts (else the PMD finds no device), with a message naming it;
* for each pairing whose VF is MANA, every netdev with its MAC set down before DPDK starts
  (Microsoft's MANA DPDK guide: otherwise ``mana_start_tx_queues(): Failed to create qp``).

The commands are plain ``/bin/sh`` (the monitor is not installed with the netvsc PMD), with
``$`` doubled for systemd. Values come from declarations and sysfs, and are checked again
here (a MAC, a GUID) before they reach a command line. Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import os
import re

from ._identity import MAC_RE, normalize_guid

DROPIN_NAME = "50-hyperv-netvsc.conf"
HEADER = "# Managed by hyperv.netvsc (netvsc_failsafe): DPDK arguments of the NetVSC pairings.\n"
# systemd unit names (systemd.unit(5)): no "/", at most 255 characters; DPDK apps are services.
_UNIT_RE = re.compile(r"^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.service$")
_MAX_UNIT = 255
# A NetVSC name goes into a message inside single quotes: only plain names.
_PLAIN_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class UnitError(ValueError):
    """A unit name or a pairing that cannot be written into a drop-in; the message says which."""


def check_unit(name):
    """The unit name, or UnitError (a path separator could write outside units_dir)."""
    if not isinstance(name, str) or len(name) > _MAX_UNIT or not _UNIT_RE.fullmatch(name):
        raise UnitError("%r is not the name of a systemd service unit (letters, digits and "
                        ":_.\\- with an optional @instance, ending in .service)" % (name,))
    return name


def dropin_path(units_dir, unit):
    return os.path.join(units_dir, check_unit(unit) + ".d", DROPIN_NAME)


def _mac(port):
    if not isinstance(port.get("mac"), str) or not MAC_RE.fullmatch(port["mac"]):
        raise UnitError("pairing %s: MAC %r cannot go into a unit" % (port.get("id"), port.get("mac")))
    return port["mac"]


def _guid(port):
    guid = port.get("vmbus_id")
    if not isinstance(guid, str) or normalize_guid(guid) != guid:
        raise UnitError("pairing %s: VMBus GUID %r cannot go into a unit" % (port.get("id"), guid))
    return guid


def _shown(name):
    return name if isinstance(name, str) and _PLAIN_NAME_RE.fullmatch(name) else "NetVSC"


def _plain_path(path, what):
    """An absolute path that can stand unquoted in a unit and a shell command."""
    if not isinstance(path, str) or not os.path.isabs(path) or any(
            c.isspace() or c in "%$\\\"'`;&|<>(){}*?[]" for c in path):
        raise UnitError("the %s %r must be an absolute path without whitespace, quotes, %% or $ "
                        "or other shell characters" % (what, path))
    return path.rstrip("/") or "/"


def dropin(env_file, ports, monitor_unit, sysfs_root="/sys"):
    """Text of the drop-in.

    env_file: the EnvironmentFile (absolute, no whitespace); ports: netvsc_failsafe's port map
    entries, each with its "vf_kind" now (None: no VF); monitor_unit: the monitor's unit name;
    sysfs_root: where the binding check looks (a simulated tree in tests).
    """
    env_file = _plain_path(env_file, "EnvironmentFile")
    drivers = os.path.join(_plain_path(sysfs_root, "sysfs root"), "bus/vmbus/drivers/uio_hv_generic")
    lines = [HEADER, "# Remove the unit from netvsc_dpdk_units (or the pairings) to drop it.\n"]
    if any(port["mode"] == "failsafe" for port in ports):
        unit = check_unit(monitor_unit)
        lines += ["\n[Unit]\n",
                  "# fail-safe's exec() reads the VF the monitor publishes.\n",
                  "After=%s\nWants=%s\n" % (unit, unit)]
    lines += ["\n[Service]\n", "EnvironmentFile=%s\n" % env_file]
    bound = [port for port in ports if port["mode"] == "netvsc_pmd"]
    if bound:
        lines.append("# The netvsc PMD only finds a NetVSC bound to uio_hv_generic.\n")
    for port in bound:
        guid = _guid(port)
        lines.append(
            "ExecStartPre=/bin/sh -c 'test -e %s/%s || "
            "{ echo \"pairing %s: %s (VMBus %s) is not bound to uio_hv_generic\" >&2; exit 1; }'\n"
            % (drivers, guid, port["id"], _shown(port["netvsc"]), guid))
    macs = sorted(set(_mac(port) for port in bound if port.get("vf_kind") == "mana"))
    if macs:
        lines += [
            "# MANA: the NetVSC's and the VF's links must be down before DPDK starts (else\n",
            "# \"mana_start_tx_queues(): Failed to create qp\").\n",
            "ExecStartPre=/bin/sh -c 'for dev in /sys/class/net/*; do case \"$$(cat \"$$dev/address\" "
            "2>/dev/null)\" in %s) ip link set dev \"$${dev##*/}\" down || exit 1;; esac; done'\n"
            % "|".join(macs)]
    return "".join(lines)


def is_ours(text):
    """Whether a drop-in's text is one this module wrote (so that it may be removed)."""
    return text.startswith(HEADER)
