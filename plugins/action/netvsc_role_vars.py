# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of hyperv.netvsc.netvsc_role_vars: checks the failsafe role's variables on
the controller (module_utils/_rolevars.py decides) and returns the options its tasks pass on.
Nothing runs on the host."""

from __future__ import annotations

import os

import yaml

from ansible.plugins.action import ActionBase

from ansible_collections.hyperv.netvsc.plugins.module_utils import _manifest, _rolevars

# The role's fixed paths (roles/failsafe/vars/main.yml); placed below netvsc_root_dir.
CONSTANTS = {"unit_path": "__netvsc_unit_path", "udev_rules_dir": "__netvsc_udev_rules_dir",
             "network_dir": "__netvsc_network_dir", "monitor_archive": "__netvsc_monitor_archive"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        role = self._task._role
        if role is None:
            return dict(result, failed=True, msg="netvsc_role_vars runs inside the "
                        "hyperv.netvsc.failsafe role only")
        with open(os.path.join(role._role_path, "meta", "argument_specs.yml")) as handle:
            known = set(yaml.safe_load(handle)["argument_specs"]["main"]["options"])
        # The role's variables, templated; any other netvsc_* name only for the typo check.
        variables = dict((name, self._templar.template(task_vars[name]) if name in known else None)
                         for name in task_vars if isinstance(name, str) and name.startswith("netvsc_"))
        constants = dict((key, self._templar.template(task_vars[var])) for key, var in CONSTANTS.items())
        constants["manifest"] = _manifest.DEFAULT_PATH
        try:
            checked = _rolevars.check(variables, known, constants)
        except _rolevars.RoleVarsError as exc:
            return dict(result, failed=True, errors=exc.errors,
                        msg="hyperv.netvsc.failsafe: %s. Nothing was changed." % exc)
        result.update(checked, changed=False)
        return result
