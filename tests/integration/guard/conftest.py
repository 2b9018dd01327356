# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The management guard on the real kernel: a "VM" network namespace with real links
(veth, bridge, macvlan), routes, rules and a real sshd (tests/fixtures/sshd_netns.py), and a
simulated sysfs tree whose NetVSCs are the VM's links by name and ifindex, with no simulated
network: the guard reads the kernel, as it does for the role test over real SSH.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.hyperv.netvsc.tests.fixtures import sysfs_tree
from ansible_collections.hyperv.netvsc.tests.fixtures.sshd_netns import SshWorld

RUN_GUARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_guard.py")


@pytest.fixture
def world(tmp_path):
    """An SshWorld (VM and controller namespaces); no links, no sshd yet. Mark tests root."""
    with SshWorld(tmp_path / "ssh", prefix="nvg") as w:
        yield w


class Guard:
    """Build a tree for VM links and run the guard on it inside the VM namespace."""

    def __init__(self, world, tmp_path):
        self.world, self.tmp_path, self.count = world, tmp_path, 0

    def tree(self, netvscs, vfs=None):
        self.count += 1
        spec = self.world.netvsc_spec(netvscs, vfs)
        return sysfs_tree.build(spec, str(self.tmp_path / ("sys%d" % self.count)))

    @staticmethod
    def _parse(result):
        if result.returncode != 0:
            pytest.fail("run_guard.py exited %d:\n%s%s" % (result.returncode, result.stdout, result.stderr))
        return json.loads(result.stdout)

    def local(self, root, environ=None):
        """Verdicts of the guard run in the VM namespace (not through sshd)."""
        env = dict(environ or {}, PATH=os.environ.get("PATH", "/usr/bin:/bin"))
        return self._parse(self.world.vm("python3", RUN_GUARD, root, check=False, env=env))

    def over_ssh(self, root, keep_ssh_connection=False):
        """Verdicts of the guard run over SSH; SSH_CONNECTION unset unless kept."""
        command = ["python3", RUN_GUARD, root]
        if not keep_ssh_connection:
            command = ["env", "-u", "SSH_CONNECTION"] + command
        return self._parse(self.world.ssh(command, check=False))


@pytest.fixture
def guard(world, tmp_path):
    return Guard(world, tmp_path)
