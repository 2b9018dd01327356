# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The same VM moves from an mlx5 VF to a MANA VF (Azure since 2026-05, after a deallocate):
on the first uevent after the change the monitor publishes the MANA form,
``<pci>,mac=<mac>`` (all MANA vPorts share one PCI function), with no stale mlx5 address in
between and no restart (run as root)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.hyperv.netvsc.tests.integration.monitor.harness import (
    MAC1, pci_address, read, sysfs_tree, wait_for)

pytestmark = pytest.mark.root


def test_mlx5_then_mana_on_the_same_netvsc(world):
    m = world.monitor()
    vf = sysfs_tree.add_vf(world.root, "eth1", {"kind": "mlx5", "domain": 0x2a2a})
    world.netns.kick()
    m.wait_vf("eth1", "2a2a:00:02.0\n")

    # Deallocated and started again on MANA hardware: the mlx5 VF is gone, a MANA vPort with
    # the NetVSC's MAC is there; one uevent.
    sysfs_tree.remove_vf(world.root, vf)
    mana = sysfs_tree.add_vf(world.root, "eth1", {"kind": "mana", "domain": 0x7870})
    world.netns.kick()
    m.wait_vf("eth1", "%s,mac=%s\n" % (pci_address(world.root, mana), MAC1))
    assert pci_address(world.root, mana) == "7870:00:00.0"

    def state_now():
        state = json.loads(read(os.path.join(world.state, "state.json")))
        return state if state["pairs"]["eth1"]["kind"] == "mana" else None
    pair = wait_for(state_now, what="state.json to say MANA")["pairs"]["eth1"]
    assert pair["vf"] == "7870:00:00.0,mac=%s" % MAC1 and pair["vf_name"] == mana
    assert "moved from 2a2a:00:02.0 to 7870:00:00.0,mac=%s" % MAC1 in m.logs()
