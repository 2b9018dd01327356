# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role's variables that reach the monitor unit: netvsc_role_vars renders it or refuses
them, before anything reaches a host (_rolevars calls _monitor_unit)."""

from __future__ import annotations

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils._monitor_unit import render
from ansible_collections.hyperv.netvsc.tests.unit.plugins.module_utils.test_rolevars import check, errors


def test_the_role_gets_the_unit_rendered_from_its_variables():
    result = check(netvsc_monitor_textfile="/run/netvsc/netvsc.prom", netvsc_monitor_resync_interval=30)
    assert result["monitor_unit"] == render({
        "netvsc_monitor_textfile": "/run/netvsc/netvsc.prom", "netvsc_monitor_resync_interval": 30})
    assert "ExecStopPost=/usr/bin/python3 /usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz --clear" in result["monitor_unit"]


@pytest.mark.parametrize("changes, message", [
    ({"netvsc_config_dir": "/etc/netvsc/pairs d"}, "netvsc_config_dir '/etc/netvsc/pairs d' contains ' '"),
    ({"netvsc_monitor_python": "/usr/bin/python3'"}, "netvsc_monitor_python \"/usr/bin/python3'\" contains"),
    ({"netvsc_monitor_user": "root\nUser=root"}, "netvsc_monitor_user 'root\\nUser=root' must be empty"),
    ({"netvsc_monitor_resync_interval": "60\nExecStartPre=+/bin/sh"}, "netvsc_monitor_resync_interval must be a number"),
    ({"netvsc_monitor_watchdog_sec": "5\n"}, "netvsc_monitor_watchdog_sec must be a number"),
    ({"netvsc_state_dir": "/run/net$vsc"}, "netvsc_state_dir: state_dir '/run/net$vsc' must be an absolute path made of"),
])
def test_a_value_that_would_change_the_unit_is_refused_by_name(changes, message):
    found = errors(**changes)
    assert [e for e in found if e.startswith(message)], found


def test_a_path_refused_by_both_checks_is_reported_once():
    found = errors(netvsc_monitor_textfile="/x.prom\nExecStartPre=+/bin/sh")
    assert len(found) == 1 and found[0].startswith("netvsc_monitor_textfile ") and "control characters" in found[0]


@pytest.mark.parametrize("changes, warned", [
    ({"netvsc_monitor_textfile": "/run/netvsc/netvsc.prom"}, True),
    ({"netvsc_monitor_textfile": "/run/netvsc/netvsc.prom", "netvsc_monitor_user": "netvsc-mon"}, False),
    ({"netvsc_monitor_textfile": "/var/lib/node_exporter/netvsc.prom", "netvsc_manage_services": False}, False),
    ({}, False),
])
def test_metrics_under_dynamic_user_are_a_warning_naming_the_fix(changes, warned):
    warnings = check(**changes).get("warnings", [])
    assert bool(warnings) is warned
    if warned:
        assert warnings[0].startswith("netvsc_monitor_textfile /run/netvsc/netvsc.prom: without netvsc_monitor_user")
        assert "set netvsc_monitor_user to a static system user" in warnings[0]


def test_the_once_run_takes_the_units_interpreter_archive_and_directories():
    result = check(netvsc_root_dir="/srv/box", netvsc_manage_services=False,
                   netvsc_monitor_textfile="/run/netvsc/netvsc.prom")
    paths = result["paths"]
    assert result["monitor_once"] == [
        "/usr/bin/python3", paths["monitor"], "--once", "--sysfs-root", "/sys",
        "--config-dir", paths["config_dir"], "--state-dir", paths["state_dir"],
        "--textfile", "/srv/box/run/netvsc/netvsc.prom"]
    assert paths["monitor"] == "/srv/box/usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz"
    assert "--textfile" not in check()["monitor_once"]
