# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which DPDK port is which NIC: the order of the pairings and the port map.

DPDK port ids are neither dense nor in argument order: fail-safe and the netvsc PMD own hidden
sub-ports (the VF, the TAP), and the netvsc PMD probes the VMBus devices in GUID order. So an
application looks each port up by its device name (``rte_eth_dev_get_port_by_name()``), and
the port map says which name is which NIC: per pairing, in the order of the EAL arguments,
its position, id, DPDK device name (``_devargs.Rendered.devices``), mode, NetVSC name, MAC and
VMBus GUID. Nothing in it changes when the VF comes and goes.

Order: what the user listed (``netvsc_interfaces``, netvsc_failsafe's ``pairs``), else the
natural order of the NetVSC names (:func:`natural_key`: eth2 before eth10). Stdlib only,
Python >= 3.8.
"""

from __future__ import annotations

import json
import re

FORMAT = 1
_DIGITS = re.compile(r"(\d+)")


def natural_key(text):
    """Sort key that puts eth2 before eth10 (digit runs compare as numbers)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in _DIGITS.split(text or "") if part)


def port_map(pairs, rendered, names=None):
    """The port map entries, in the order of the EAL arguments.

    pairs: the pairing dicts ``_devargs.render()`` took; rendered: its result; names: {id: the
    NetVSC name to show} (default: each pairing's ``netvsc_name``; a NetVSC bound to
    uio_hv_generic has none, and its last seen name says more).
    """
    names = names or {}
    return [{"position": position,
             "id": pair["id"],
             "device": rendered.devices[pair["id"]],
             "mode": rendered.modes[pair["id"]],
             "netvsc": names.get(pair["id"], pair.get("netvsc_name")),
             "mac": pair["mac"],
             "vmbus_id": pair.get("vmbus_id")}
            for position, pair in enumerate(pairs)]


def format_map(ports):
    """The port map file: JSON, keys sorted, 2-space indent, trailing newline."""
    return json.dumps({"format": FORMAT, "ports": ports}, indent=2, sort_keys=True) + "\n"
