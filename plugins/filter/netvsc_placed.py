# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: netvsc_placed
short_description: A path as seen below the sandbox root (netvsc_root_dir)
version_added: 0.3.0
description:
  - Returns O(_input) placed below O(root), both checked by the validator every path variable
    of the collection goes through (absolute, normalised, no C(..), no control characters).
  - With O(root=/) the path is returned as it is.
options:
  _input:
    description: An absolute path on the host, for example C(/run/netvsc/state.json).
    type: str
    required: true
  root:
    description: The sandbox root (C(netvsc_root_dir)); V(/) is the real root.
    type: str
    default: /
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
"""

EXAMPLES = r"""
- name: Read the monitor's state, in a sandbox root or not
  ansible.builtin.slurp:
    src: "{{ (netvsc_state_dir | default('/run/netvsc') ~ '/state.json')
             | hyperv.netvsc.netvsc_placed(netvsc_root_dir | default('/')) }}"
"""

RETURN = r"""
_value:
  description: The normalised path below O(root).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.hyperv.netvsc.plugins.module_utils._paths import PathError, check, place


def netvsc_placed(path, root="/"):
    try:
        return place(check(root, "root", system_ok=True, root_ok=True),
                     check(path, "path", system_ok=True))
    except PathError as exc:
        raise AnsibleFilterError("netvsc_placed: %s" % exc)


class FilterModule:
    def filters(self):
        return {"netvsc_placed": netvsc_placed}
