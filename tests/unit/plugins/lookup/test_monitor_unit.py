# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitor_unit lookup: the role's unit, or a refusal naming the variable."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader


def test_monitor_unit_lookup_renders_and_refuses_hostile_variables():
    lookup = lookup_loader.get("hyperv.netvsc.monitor_unit")
    (text,) = lookup.run([], variables={}, netvsc_state_dir="/run/netvsc")
    assert "ExecStopPost=" in text
    with pytest.raises(AnsibleLookupError, match="refusing to write the monitor unit: netvsc_monitor_textfile"):
        lookup.run([], variables={}, netvsc_monitor_textfile="/x\nExecStartPre=+/bin/sh")
    with pytest.raises(AnsibleLookupError, match="unknown option netvsc_monitor_archive"):
        lookup.run([], variables={}, netvsc_monitor_archive="/x")
    with pytest.raises(AnsibleLookupError, match="takes options only"):
        lookup.run(["x"], variables={})
