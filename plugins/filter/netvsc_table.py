# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: netvsc_table
short_description: A plain-text table of NetVSCs, VFs and the monitor across hosts
version_added: 0.3.0
description:
  - Lays out the rows that P(hyperv.netvsc.report_rows#filter) built on each host as aligned
    text lines, one per NetVSC or unpaired VF, sorted by host and NetVSC in natural order
    (eth2 before eth10).
  - >-
    Columns are C(host), C(netvsc), C(vf), C(pci_address), C(kind), C(paired_by) and
    C(monitor); the C(monitor) cell is C(<pairing id>: <published VF>) for a declared pairing,
    the monitor's state otherwise. A host without NetVSC facts, not a Hyper-V guest or
    without any NetVSC has one line saying so.
  - Used by the playbook C(hyperv.netvsc.facts); the rules behind each row are the report's.
options:
  _input:
    description: The rows of every host, one flat list.
    type: list
    elements: dict
    required: true
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
"""

EXAMPLES = r"""
- name: Print the table of the play's hosts
  ansible.builtin.debug:
    msg: "{{ ansible_play_hosts | map('extract', hostvars) | map(attribute='rows')
             | flatten(levels=1) | hyperv.netvsc.netvsc_table }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: The header line, then one line per row; cells left-aligned, two spaces apart.
  type: list
  elements: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.hyperv.netvsc.plugins.module_utils._portmap import natural_key

HEADER = ("host", "netvsc", "vf", "pci_address", "kind", "paired_by", "monitor")


def _netvsc_cell(row):
    """The NetVSC's name, or what the row stands for when it is not a NetVSC."""
    if row.get("netvsc"):
        return row["netvsc"]
    if row.get("paired_by") == "unpaired":
        return "(unpaired)"
    if row.get("hyperv") is None:
        return "(no facts)"
    return "(no NetVSC)" if row["hyperv"] else "(not Hyper-V)"


def _monitor_cell(row):
    if row.get("pair_id"):
        return "%s: %s" % (row["pair_id"], row.get("monitor_vf") or "no VF")
    return row.get("monitor")


def _cells(row):
    paired_by = None if row.get("paired_by") == "unpaired" else row.get("paired_by")
    values = (row.get("host"), _netvsc_cell(row), row.get("vf"), row.get("pci_address"),
              row.get("kind"), paired_by, _monitor_cell(row))
    return ["-" if value in (None, "") else str(value) for value in values]


def _order(row):
    return (natural_key(row.get("host")), row.get("netvsc") is None,
            natural_key(row.get("netvsc")), natural_key(row.get("vf")))


def netvsc_table(rows):
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        raise AnsibleFilterError("netvsc_table takes a flat list of report_rows rows (dicts)")
    table = [list(HEADER)] + [_cells(row) for row in sorted(rows, key=_order)]
    widths = [max(len(line[column]) for line in table) for column in range(len(HEADER))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
            for line in table]


class FilterModule:
    def filters(self):
        return {"netvsc_table": netvsc_table}
