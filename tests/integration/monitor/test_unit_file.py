# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor's unit as the role renders it (lookup hyperv.netvsc.monitor_unit, _monitor_unit):
`systemd-analyze verify` says nothing, `systemd-analyze security --offline=yes` scores its
exposure at most 1.5, and a hostile variable never reaches a unit."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils._monitor_unit import UnitError, render
from ansible_collections.hyperv.netvsc.tests.integration.monitor.harness import report

VARIANTS = {
    "defaults": {},
    "textfile+watchdog": {"netvsc_monitor_textfile": "/var/lib/node_exporter/textfile/netvsc.prom",
                          "netvsc_monitor_watchdog_sec": 120, "netvsc_monitor_resync_interval": 0},
    "user+specifiers": {"netvsc_monitor_user": "netvsc", "netvsc_config_dir": "/etc/net%vsc$HOME/pairs.d"},
}
EXPOSURE = re.compile(r"Overall exposure level for \S+: ([0-9.]+)")


def analyze(*args):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (Debian package systemd)")
    return subprocess.run(["systemd-analyze"] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False)


@pytest.fixture(params=sorted(VARIANTS))
def unit(request, tmp_path):
    path = tmp_path / "netvsc-monitor.service"
    path.write_text(render(VARIANTS[request.param]))
    return request.param, str(path)


def test_verify_is_silent(unit):
    proc = analyze("verify", unit[1])
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stdout


def test_exposure_at_most_1_5(unit):
    proc = analyze("security", "--offline=yes", unit[1])
    score = EXPOSURE.search(proc.stdout)
    assert score, proc.stdout
    report("unit_exposure (%s)" % unit[0], float(score.group(1)))
    assert float(score.group(1)) <= 1.5, proc.stdout


def test_a_hostile_variable_never_reaches_a_unit(tmp_path):
    """The one a role could pass: a newline would add ExecStartPre=+..., run as root."""
    with pytest.raises(UnitError, match="netvsc_monitor_textfile .* contains control characters"):
        render({"netvsc_monitor_textfile": "/x.prom\nExecStartPre=+/bin/sh -c id"})
