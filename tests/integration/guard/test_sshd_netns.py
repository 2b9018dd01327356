# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sshd-in-a-namespace harness itself: it reaches sshd by a name that is none of the
VM's addresses, keeps the host's namespace untouched, and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from ansible_collections.hyperv.netvsc.tests.fixtures.sshd_netns import SshWorld

pytestmark = pytest.mark.root


def netns_names():
    out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout
    return set(line.split()[0] for line in out.splitlines() if line.strip())


def gone(pid, timeout=5.0):
    """True once pid has exited and been reaped (a zombie still answers kill(pid, 0))."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def host_links():
    return subprocess.run(["ip", "-br", "addr"], stdout=subprocess.PIPE, universal_newlines=True,
                          check=True).stdout


def test_connection_by_name_and_cleanup(tmp_path):
    before = host_links()
    world = SshWorld(tmp_path / "ssh")
    try:
        world.link("eth0", ["198.18.0.2/24"], ["198.18.0.1/24"])
        world.start_sshd("198.18.0.2", port=2200)
        out = world.ssh("echo $SSH_CONNECTION; cat /proc/self/comm").stdout.split()
        assert out[:4] == ["198.18.0.1", out[1], "198.18.0.2", "2200"] and out[4] == "cat"
        spec = world.netvsc_spec(["eth0"])
        assert spec["netvsc"][0]["ifindex"] == world.links()["eth0"]["ifindex"]
        held = world.hold()
        with open(os.path.join(str(tmp_path / "ssh"), "sshd.pid")) as handle:
            sshd = int(handle.read())
        assert host_links() == before  # nothing in the host's namespace
    finally:
        world.close()
    assert not {world.vm_ns, world.controller_ns} & netns_names()
    assert held.poll() is not None
    assert gone(sshd)
