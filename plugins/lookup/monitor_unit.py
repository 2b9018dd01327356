# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: monitor_unit
short_description: The hot-plug monitor's systemd unit, from validated variables
version_added: 0.2.0
description:
  - Returns the text of C(netvsc-monitor.service), rendered in Python from the role variables
    that reach the unit. Each is validated first and every refusal names the variable; nothing
    is written by the lookup, so the role asks for the unit before it changes anything.
  - Paths must be absolute and normalised (no C(..)); directories the collection owns must
    not be C(/) or a system directory on its own. No path may hold whitespace, a quote, a
    backslash or a control character (systemd would read a newline as a new setting, such as
    C(ExecStartPre=+...), which runs as root). C(%) is escaped as C(%%) everywhere and C($) as
    C($$) in command lines (systemd.syntax(7)). The state directory must also be a path
    fail-safe's C(exec()) can run (letters, digits and C(._/@+:-)).
  - The unit has the hardening of docs/monitor.md (C(systemd-analyze security) exposure 0.7),
    withdraws every published VF address with C(ExecStopPost=) after any stop or crash, and
    stops restarting after 5 starts in 60 seconds.
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
options:
  netvsc_root_dir:
    description: Root below which the paths are placed (a sandbox); V(/) is the real root.
    type: str
    default: /
  netvsc_monitor_python:
    description: Python 3.8+ interpreter on the host that runs the monitor.
    type: str
    default: /usr/bin/python3
  netvsc_monitor_lib_dir:
    description: Directory of C(netvsc-monitor.pyz).
    type: str
    default: /usr/local/lib/hyperv-netvsc
  netvsc_state_dir:
    description: Where the monitor publishes C(<id>.vf); C(/run/<name>) is created by systemd.
    type: str
    default: /run/netvsc
  netvsc_config_dir:
    description: Directory of the pairing declarations.
    type: str
    default: /etc/netvsc/pairs.d
  netvsc_sysfs_root:
    description: The sysfs the monitor scans.
    type: str
    default: /sys
  netvsc_monitor_resync_interval:
    description: Seconds between safety rescans (a number), V(0) disables them.
    type: raw
    default: 60
  netvsc_monitor_textfile:
    description: Prometheus textfile the monitor also writes; empty for none.
    type: str
    default: ""
  netvsc_monitor_watchdog_sec:
    description: systemd watchdog in whole seconds, V(0) for none.
    type: raw
    default: 0
  netvsc_monitor_user:
    description: Static system user to run as; empty for C(DynamicUser=yes).
    type: str
    default: ""
notes:
  - The hyperv.netvsc.failsafe role renders its unit with this lookup.
  - Options are checked as given, not converted (a number followed by a newline is refused).
"""

EXAMPLES = r"""
- name: Render the unit first; a hostile variable fails here, before any change
  ansible.builtin.set_fact:
    monitor_unit: >-
      {{ lookup('hyperv.netvsc.monitor_unit', netvsc_state_dir='/run/netvsc',
                netvsc_monitor_textfile='/var/lib/node_exporter/textfile/netvsc.prom') }}

- name: Install it
  ansible.builtin.copy:
    content: "{{ monitor_unit }}"
    dest: /etc/systemd/system/netvsc-monitor.service
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: The unit file text (one element).
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.hyperv.netvsc.plugins.module_utils import _monitor_unit


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("monitor_unit takes options only, not terms")
        # Checked as given, not as coerced by set_options: "60\n" must not become 60.
        unknown = sorted(set(kwargs) - set(_monitor_unit.DEFAULTS))
        if unknown:
            raise AnsibleLookupError("monitor_unit: unknown option %s" % ", ".join(unknown))
        try:
            return [_monitor_unit.render(kwargs)]
        except _monitor_unit.UnitError as exc:
            raise AnsibleLookupError("refusing to write the monitor unit: %s" % exc)
