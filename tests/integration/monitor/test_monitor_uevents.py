# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor as a real process, woken by real kernel uevents (run as root)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from ansible_collections.hyperv.netvsc.tests.integration.monitor.harness import MAC1, pci_address, read, sysfs_tree, wait_for

pytestmark = pytest.mark.root


def test_vf_arrives_departs_and_moves(world):
    m = world.monitor()
    assert m.vf("eth1") == ""  # no VF yet: an empty file, never a placeholder
    (eth2_vf,) = [n for n in os.listdir(os.path.join(world.root, "class", "net"))
                  if n not in ("lo", "eth1", "eth2")]
    assert m.vf("eth2") == pci_address(world.root, eth2_vf) + "\n"

    # arrival: the tree changes, then a real uevent in the namespace wakes the monitor
    vf = sysfs_tree.add_vf(world.root, "eth1", {"kind": "mlx5", "domain": 0x2a2a})
    first = pci_address(world.root, vf)
    kick = world.netns.kick()
    m.wait_vf("eth1", first + "\n")
    assert first == "2a2a:00:02.0"

    # departure: the file becomes empty (fail-safe keeps re-running exec())
    sysfs_tree.remove_vf(world.root, vf)
    world.netns.unkick(kick)
    m.wait_vf("eth1", "")

    # the VF comes back at a new PCI address
    vf = sysfs_tree.add_vf(world.root, "eth1", {"kind": "mlx5", "domain": 0x3b3b})
    world.netns.kick()
    m.wait_vf("eth1", "3b3b:00:02.0\n")

    # and moves again without an empty phase in between (remove + add before one event)
    sysfs_tree.remove_vf(world.root, vf)
    vf = sysfs_tree.add_vf(world.root, "eth1", {"kind": "mlx5", "domain": 0x4c4c})
    world.netns.kick()
    m.wait_vf("eth1", "4c4c:00:02.0\n")

    def state_now():  # state.json is written right after the .vf files
        state = json.loads(read(os.path.join(world.state, "state.json")))
        return state if state["pairs"]["eth1"]["vf"] == "4c4c:00:02.0" else None
    state = wait_for(state_now, what="state.json to follow eth1.vf")
    pair = state["pairs"]["eth1"]
    assert pair["vf"] == "4c4c:00:02.0" and pair["vf_name"] == vf and pair["mac"] == MAC1
    assert pair["changes"] == 4 and state["counters"]["uevents"] > 0
    logs = m.logs()
    assert "arrived at 2a2a:00:02.0" in logs
    assert "departed from 2a2a:00:02.0" in logs and "moved from 3b3b:00:02.0 to 4c4c:00:02.0" in logs
    assert m.stop() == 0  # SIGTERM: clean exit 0
    m.wait_message(b"STOPPING=1")


def test_sighup_rereads_declarations(world):
    m = world.monitor()
    os.unlink(os.path.join(world.config, "eth2.json"))
    with open(os.path.join(world.config, "broken.json"), "w") as handle:
        handle.write("{\"format\": 1, \"id\": \"broken\"}\n")
    m.messages.clear()
    m.proc.send_signal(signal.SIGHUP)
    m.wait_message(b"RELOADING=1")
    m.wait_message(b"STATUS=1 pair, 0 with VF")
    assert not os.path.exists(os.path.join(world.state, "eth2.vf"))
    assert m.vf("eth1") == ""
    assert "skipping declaration" in m.logs() and "broken.json" in m.logs()
    assert m.proc.poll() is None


def test_sysfs_only_changes_wait_for_an_event(world):
    """Without a uevent (and with resync disabled) nothing is rescanned: no polling."""
    m = world.monitor()
    before = m.proc_stats()[2]
    sysfs_tree.add_vf(world.root, "eth1", {"kind": "mlx5", "domain": 0x5d5d})
    time.sleep(0.3)  # the one fixed wait here, and it asserts that nothing happens
    assert m.vf("eth1") == ""
    assert m.proc_stats()[2] - before <= 1
    world.netns.kick()
    m.wait_vf("eth1", "5d5d:00:02.0\n")
