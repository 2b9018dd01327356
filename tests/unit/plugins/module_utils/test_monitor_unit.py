# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor unit: hostile role variables are refused, naming them; the rest is quoted.

systemd-analyze verify and the exposure score of the rendered unit are checked in stage 40.
"""

from __future__ import annotations

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils._monitor_unit import UnitError, render


def settings(text):
    """{key: [values]} of the unit's settings (comments and sections left out)."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")):
            key, _sep, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_defaults():
    unit = settings(render({}))
    assert unit["ExecStart"] == ["/usr/bin/python3 /usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz --foreground "
                                 "--sysfs-root /sys --config-dir /etc/netvsc/pairs.d --state-dir /run/netvsc "
                                 "--resync-interval 60"]
    assert unit["ExecStopPost"] == ["/usr/bin/python3 /usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz --clear "
                                    "--state-dir /run/netvsc"]
    assert unit["DynamicUser"] == ["yes"] and unit["RuntimeDirectory"] == ["netvsc"]
    assert unit["StartLimitBurst"] == ["5"] and "WatchdogSec" not in unit and "ReadWritePaths" not in unit


def test_textfile_user_watchdog_and_a_sandbox_root():
    unit = settings(render({
        "netvsc_root_dir": "/srv/sandbox", "netvsc_monitor_textfile": "/var/lib/node_exporter/netvsc.prom",
        "netvsc_monitor_user": "netvsc", "netvsc_monitor_watchdog_sec": 120, "netvsc_monitor_resync_interval": 2.5}))
    assert unit["ExecStart"][0].endswith("--state-dir /srv/sandbox/run/netvsc --resync-interval 2.5 "
                                         "--textfile /srv/sandbox/var/lib/node_exporter/netvsc.prom")
    assert unit["ExecStopPost"][0].endswith("--clear --state-dir /srv/sandbox/run/netvsc "
                                            "--textfile /srv/sandbox/var/lib/node_exporter/netvsc.prom")
    assert unit["User"] == ["netvsc"] and unit["Group"] == ["netvsc"] and "DynamicUser" not in unit
    assert unit["WatchdogSec"] == ["120"]
    assert unit["ReadWritePaths"] == ["/srv/sandbox/var/lib/node_exporter"]


def test_a_textfile_in_the_state_dir_needs_no_extra_write_path():
    assert "ReadWritePaths" not in settings(render({"netvsc_monitor_textfile": "/run/netvsc/netvsc.prom"}))


def test_percent_and_dollar_are_escaped_for_systemd():
    unit = settings(render({"netvsc_config_dir": "/etc/net%nvsc$HOME", "netvsc_sysfs_root": "/sys%i"}))
    assert "--config-dir /etc/net%%nvsc$$HOME" in unit["ExecStart"][0]
    assert "--sysfs-root /sys%%i" in unit["ExecStart"][0]
    assert unit["ConditionPathIsDirectory"] == ["/sys%%i/class/net"]


HOSTILE = [
    ("netvsc_monitor_textfile", "/x.prom\nExecStartPre=+/bin/sh -c id", "contains control characters"),
    ("netvsc_monitor_python", "/usr/bin/python3\nUser=root", "contains control characters"),
    ("netvsc_config_dir", "/etc/netvsc/pairs.d\rExecStartPre=+/bin/true", "contains control characters"),
    ("netvsc_sysfs_root", "/sys /etc", "contains ' ': systemd reads it as the end or a split"),
    ("netvsc_monitor_lib_dir", '/opt/"lib"', "contains '\"'"),
    ("netvsc_monitor_lib_dir", "/opt/l\\x0aib", "contains '\\\\'"),
    ("netvsc_config_dir", "/etc/\tnetvsc", "contains control characters"),
    ("netvsc_monitor_python", "python3", "must be an absolute path"),
    ("netvsc_config_dir", "/etc/netvsc/../ssh", "must not contain '..'"),
    ("netvsc_config_dir", "/etc", "must not be the system directory /etc on its own"),
    ("netvsc_state_dir", "/run/net'vsc", "contains"),
    ("netvsc_state_dir", "/run/net$vsc", "must be an absolute path made of letters"),
    ("netvsc_state_dir", "/run/sshd", "its name must start with 'netvsc' (e.g. /run/netvsc): /run/sshd may belong"),
    ("netvsc_state_dir", "/run/dbus/netvsc", "/run/dbus may belong to another service"),
    ("netvsc_state_dir", "/run/NetworkManager", "/run/NetworkManager may belong to another service"),
    ("netvsc_monitor_user", "root\n", "must be empty (DynamicUser) or a system user name"),
    ("netvsc_monitor_user", "-root", "must be empty (DynamicUser) or a system user name"),
    ("netvsc_monitor_resync_interval", "60\nExecStartPre=+/bin/sh", "must be a number of seconds"),
    ("netvsc_monitor_resync_interval", -1, "must be a number of seconds"),
    ("netvsc_monitor_resync_interval", True, "must be a number of seconds"),
    ("netvsc_monitor_watchdog_sec", "1.5", "(whole)"),
    ("netvsc_root_dir", "relative", "must be an absolute path"),
    ("netvsc_monitor_archive", "/x", "unknown variable netvsc_monitor_archive"),
]


@pytest.mark.parametrize("name, value, message", HOSTILE, ids=["%s=%r" % (n, v) for n, v, _m in HOSTILE])
def test_a_hostile_variable_is_refused_by_name(name, value, message):
    with pytest.raises(UnitError) as refused:
        render({name: value})
    assert name in str(refused.value) and message in str(refused.value)


def test_every_refusal_is_reported_at_once():
    with pytest.raises(UnitError) as refused:
        render({"netvsc_monitor_textfile": "a", "netvsc_monitor_user": "$", "netvsc_config_dir": "/etc"})
    assert [name for name in ("netvsc_monitor_textfile", "netvsc_monitor_user", "netvsc_config_dir")
            if name in str(refused.value)] == ["netvsc_monitor_textfile", "netvsc_monitor_user", "netvsc_config_dir"]


@pytest.mark.parametrize("name, value", [(n, v) for n, v, _m in HOSTILE if isinstance(v, str)])
def test_no_rendering_ever_has_a_line_that_is_not_ours(name, value):
    """Whatever the input, a unit either is refused or has exactly the expected settings."""
    try:
        unit = settings(render({name: value}))
    except UnitError:
        return
    assert sorted(unit) == sorted(settings(render({})))
