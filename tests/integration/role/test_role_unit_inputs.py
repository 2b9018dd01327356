# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile role variables that would reach the monitor unit: refused before any change.

The role's first task (netvsc_role_vars, on the controller) renders the unit (_monitor_unit);
a value that would add or split a unit setting fails the play there, naming the variable,
with nothing written below the host's sandbox root. Uses the fleet harness of test_role.py.
"""

from __future__ import annotations

import pytest

from ansible_collections.hyperv.netvsc.tests.integration.role.test_role import Fleet, _show

HOSTILE = {
    "netvsc_monitor_textfile": "/var/lib/node_exporter/netvsc.prom\nExecStartPre=+/bin/sh -c 'id > /tmp/pwned'",
    "netvsc_monitor_python": "/usr/bin/python3\nUser=root",
    "netvsc_config_dir": "/etc/netvsc/pairs d",
    "netvsc_monitor_user": "root\nUser=root",
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, collections_path):
    return Fleet(tmp_path_factory.mktemp("role-unit"), collections_path)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_variable_is_refused_before_any_change(fleet, name):
    proc = fleet.run(limit="cx5", extra={name: HOSTILE[name]})
    assert proc.returncode != 0, _show(proc)
    assert "hyperv.netvsc.failsafe: %s " % name in proc.stdout, _show(proc)
    assert "Nothing was changed." in proc.stdout, _show(proc)
    assert fleet.files("cx5") == {}, "the role changed files before refusing"
