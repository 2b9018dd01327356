# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: netvsc_pairs_of
short_description: The pairings that designate a NetVSC
version_added: 0.2.0
description:
  - Returns the ids of the pairings, among O(_input), whose MAC or VMBus GUID designates the
    NetVSC O(nic), by the matcher every module and the monitor use.
  - A pairing whose MAC and GUID name two different NetVSCs is listed for both; the monitor
    publishes no VF for it and reports it with C(status=conflicting) in C(state.json).
  - Use it to join the monitor's C(state.json) pairings, or the declarations of
    RV(hyperv.netvsc.netvsc_facts#module:ansible_facts.netvsc.declarations), to the
    NetVSCs of RV(hyperv.netvsc.netvsc_facts#module:ansible_facts.netvsc.interfaces).
options:
  _input:
    description:
      - Pairings by id, each a dict with C(mac) and C(vmbus_id) (a C(state.json) pairing) or a
        declaration (C(netvsc.mac), C(netvsc.vmbus_id)).
    type: dict
    required: true
  nic:
    description: A NetVSC fact dict (C(name), C(mac), C(vmbus_id)).
    type: dict
    required: true
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
"""

EXAMPLES = r"""
- name: Which monitor pairing publishes the VF of each NetVSC
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ state.pairs | hyperv.netvsc.netvsc_pairs_of(item.value) | first | default('not declared') }}"
  loop: "{{ ansible_facts['netvsc']['interfaces'] | dict2items }}"
  vars:
    state: "{{ lookup('ansible.builtin.file', '/run/netvsc/state.json') | from_json }}"
"""

RETURN = r"""
_value:
  description: The ids of the pairings that designate O(nic), sorted; empty when none does.
  type: list
  elements: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.hyperv.netvsc.plugins.module_utils._identity import designates


def netvsc_pairs_of(pairs, nic):
    if not isinstance(pairs, Mapping) or not isinstance(nic, Mapping):
        raise AnsibleFilterError("netvsc_pairs_of takes a dict of pairings and a NetVSC fact dict")
    return sorted(pair_id for pair_id, record in pairs.items()
                  if isinstance(record, Mapping) and designates(dict(record), dict(nic)))


class FilterModule:
    def filters(self):
        return {"netvsc_pairs_of": netvsc_pairs_of}
