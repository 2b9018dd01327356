# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark helper callback: counts task results per host and times every task.

Enable with ANSIBLE_CALLBACK_PLUGINS=benchmarks/callback_plugins and
ANSIBLE_CALLBACKS_ENABLED=netvsc_count; the JSON goes to $NETVSC_COUNT_OUT at the end:
{"hosts": {host: {"ok": n, "changed": n, "skipped": n, "failed": n, "modules": n}},
 "tasks": [{"name": ..., "action": ..., "seconds": wall time from start to last result}]}
"modules" counts results that ran a module on the host (ok/changed/failed, loop items
included, not skipped, and not controller-only actions such as set_fact, debug, assert,
include_tasks, the role's argument validation or hyperv.netvsc.netvsc_role_vars, an action
plugin that runs on the controller only).
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: netvsc_count
type: aggregate
short_description: count module runs per host and time tasks (hyperv.netvsc benchmarks)
description: Writes per-host result counts and per-task wall times to $NETVSC_COUNT_OUT.
requirements: [enable in ansible.cfg or ANSIBLE_CALLBACKS_ENABLED]
"""

CONTROLLER_ACTIONS = frozenset((
    "set_fact", "debug", "assert", "fail", "meta", "include_tasks", "import_tasks",
    "include_role", "import_role", "include_vars", "add_host", "group_by", "set_stats",
    "validate_argument_spec", "ansible.builtin.validate_argument_spec",
    "ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.assert",
    "ansible.builtin.fail", "ansible.builtin.meta", "ansible.builtin.include_tasks",
    "ansible.builtin.import_tasks", "ansible.builtin.include_role", "ansible.builtin.import_role",
    "ansible.builtin.include_vars", "ansible.builtin.add_host", "ansible.builtin.group_by",
    "ansible.builtin.set_stats", "hyperv.netvsc.netvsc_role_vars"))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "netvsc_count"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.hosts = {}
        self.tasks = []
        self._current = None

    def _host(self, result):
        name = result._host.get_name()
        return self.hosts.setdefault(name, {"ok": 0, "changed": 0, "skipped": 0, "failed": 0,
                                            "modules": 0})

    def _count(self, result, key):
        counts = self._host(result)
        counts[key] += 1
        if key == "ok" and result._result.get("changed"):
            counts["changed"] += 1
        action = result._task.action
        if key != "skipped" and action not in CONTROLLER_ACTIONS:
            items = result._result.get("results")
            counts["modules"] += len(items) if isinstance(items, list) and items else 1
        if self._current is not None:
            self._current["seconds"] = round(time.monotonic() - self._current["_start"], 3)

    def v2_playbook_on_task_start(self, task, is_conditional=False):
        self._current = {"name": task.get_name(), "action": task.action, "_start": time.monotonic(),
                         "seconds": 0.0}
        self.tasks.append(self._current)

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task)

    def v2_runner_on_ok(self, result):
        self._count(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._count(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._count(result, "failed")

    def v2_playbook_on_stats(self, stats):
        out = os.environ.get("NETVSC_COUNT_OUT")
        if not out:
            return
        tasks = [dict((k, v) for k, v in t.items() if not k.startswith("_")) for t in self.tasks]
        with open(out, "w") as handle:
            json.dump({"hosts": self.hosts, "tasks": tasks}, handle, indent=1, sort_keys=True)
