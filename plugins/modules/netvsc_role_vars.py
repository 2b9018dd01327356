#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netvsc_role_vars
short_description: Check the variables of the hyperv.netvsc.failsafe role (controller only)
version_added: 0.1.0
description:
  - Internal to the C(hyperv.netvsc.failsafe) role, its first task. Runs on the controller
    only (an action plugin); nothing runs on the host.
  - Reads the role's C(netvsc_*) variables, refuses what cannot be used with one error that
    lists every problem, and returns the options the role's tasks pass to the modules.
  - C(netvsc_interfaces) may be a list or a string of names, MACs or VMBus GUIDs separated by
    commas or spaces; each item is a string or a dict whose keys are checked; booleans may be
    strings such as V(yes). An empty list means automatic selection.
  - An unknown C(netvsc_*) variable that resembles a role variable (V(netvsc_interface)) is an
    error naming the variable it resembles, so that a typo never leaves the role on a default
    such as automatic selection. Other C(netvsc_*) variables are left alone.
  - Every path variable is checked (absolute, normalised, no C(..); the directories the role
    owns, C(netvsc_config_dir), C(netvsc_state_dir), C(netvsc_eal_dir) and
    C(netvsc_monitor_lib_dir), may not be C(/) or a system directory on its own such as
    C(/etc) or C(/usr/local/lib)) and placed below C(netvsc_root_dir).
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
options: {}
"""

EXAMPLES = r"""
- name: Check and normalise the role's variables
  hyperv.netvsc.netvsc_role_vars:
  register: __netvsc
"""

RETURN = r"""
pairings:
  description: The pairings for M(hyperv.netvsc.netvsc_pair) (its O(hyperv.netvsc.netvsc_pair#module:pairings)).
  returned: success
  type: list
  elements: dict
  sample: [{netvsc: eth1}, {netvsc: "00-0D-3A-03-18-C9", id: dpdk1, force: true}]
auto:
  description: Whether the role selects NetVSCs automatically (C(netvsc_interfaces) is empty).
  returned: success
  type: bool
driver:
  description: The default driver of the pairings, from C(netvsc_mode).
  returned: success
  type: str
  sample: hv_netvsc
managed:
  description: C(netvsc_manage_services) as a boolean.
  returned: success
  type: bool
dpdk_units:
  description: C(netvsc_dpdk_units) as a list.
  returned: success
  type: list
  elements: str
paths:
  description: Every path the role uses, checked and placed below C(netvsc_root_dir).
  returned: success
  type: dict
  sample:
    config_dir: /etc/netvsc/pairs.d
    manifest: /var/lib/hyperv-netvsc/manifest.json
directories:
  description: Directories M(hyperv.netvsc.netvsc_files) makes for the role.
  returned: success
  type: list
  elements: str
record_files:
  description: Files others write for the role (the archive, the monitor's state), recorded in the manifest.
  returned: success
  type: list
  elements: str
record_directories:
  description: Directories systemd makes for the monitor unit, recorded in the manifest when they do not exist yet.
  returned: success
  type: list
  elements: str
monitor_unit:
  description:
    - The text of C(netvsc-monitor.service), rendered from the variables that reach it (the code
      of the P(hyperv.netvsc.monitor_unit#lookup) lookup). A value that would change the unit's
      meaning (whitespace, a quote, a backslash or a control character in a path, a number or
      user name that is not one) is an error here, before any change.
  returned: success
  type: str
monitor_once:
  description:
    - The argv of one publication by the monitor without services (C(--once)), with the
      interpreter, archive and directories of the unit's C(ExecStart=).
  returned: success
  type: list
  elements: str
errors:
  description: Every problem found, when the task fails.
  returned: failure
  type: list
  elements: str
"""
