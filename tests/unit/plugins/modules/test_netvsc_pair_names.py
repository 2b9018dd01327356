# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netvsc_pair refuses a NetVSC name the devargs renderers can never render, before writing."""

from __future__ import annotations

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.hyperv.netvsc.plugins.module_utils import _devargs
from ansible_collections.hyperv.netvsc.plugins.modules import netvsc_pair
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import build
from ansible_collections.hyperv.netvsc.tests.unit.plugins.modules.utils import run_module

MAC = "00:0d:3a:03:1e:b1"


@pytest.mark.parametrize("name", ["[eth1", "eth1]", "eth,1", "eth=1", "eth(1"])
def test_a_name_the_renderers_refuse_is_refused_before_anything_is_written(tmp_path, capsys, monkeypatch, name):
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda *a, **k: (0, "", ""))
    root = build({"gen": 2, "netvsc": [{"name": name, "mac": MAC}]}, str(tmp_path / "sys"))
    with pytest.raises(_devargs.DevargsError) as renderer:
        _devargs.check_iface(name, "dpdk0")
    result = run_module(netvsc_pair, capsys, dict(
        netvsc=MAC, id="dpdk0", sysfs_root=root, config_dir=str(tmp_path / "pairs.d"),
        udev_rules_dir=str(tmp_path / "udev"), network_dir=str(tmp_path / "network")))
    assert result["rc"] == 1
    assert result["msg"] == "Refusing %s, nothing was changed: %s." % (MAC, renderer.value)
    assert sorted(os.listdir(str(tmp_path))) == ["sys"]
