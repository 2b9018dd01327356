# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the monitor's real-process tests; the helpers are in harness.py."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from ansible_collections.hyperv.netvsc.tests.fixtures import monitor_archive as monitor_archive_builder
from ansible_collections.hyperv.netvsc.tests.integration.monitor.harness import (
    MAC1, MAC2, SPEC, MonitorProcess, declare, sysfs_tree)


@pytest.fixture(scope="session")
def monitor_archive(tmp_path_factory):
    """netvsc-monitor.pyz, built as the role builds it (lookup hyperv.netvsc.monitor_zipapp)."""
    return monitor_archive_builder.build(tmp_path_factory.mktemp("lib"))


@pytest.fixture
def world(tmp_path, netns, monitor_archive):
    """A fixture tree, declarations for eth1 (no VF) and eth2 (a VF), and a monitor factory.

    Tree and state live on a tmpfs when there is one (/dev/shm): like /sys and /run, and
    several times faster to flap than a disk file system.
    """
    base = tempfile.mkdtemp(prefix="nvmon-", dir="/dev/shm") if os.path.isdir("/dev/shm") \
        else str(tmp_path)
    root, config, state = (os.path.join(base, name) for name in ("sys", "pairs.d", "state"))
    sysfs_tree.build(SPEC, root)
    os.mkdir(config)
    declare(config, "eth1", MAC1, "eth1")
    declare(config, "eth2", MAC2, "eth2")
    monitors = []

    class World:
        pass
    w = World()
    w.root, w.config, w.state, w.tmp, w.netns = root, config, state, str(tmp_path), netns

    def monitor(extra=(), **kwargs):
        m = MonitorProcess(monitor_archive, netns, root, config, state, str(tmp_path), extra)
        monitors.append(m)
        return m.start(**kwargs)
    w.monitor = monitor
    yield w
    for m in monitors:
        m.close()
    if base != str(tmp_path):
        shutil.rmtree(base, ignore_errors=True)
