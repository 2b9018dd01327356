# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults: event storms, SIGKILL, an unwritable state dir, malformed declarations."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.hyperv.netvsc.tests.integration.monitor.harness import read, report, sysfs_tree

FLAPS = int(os.environ.get("MONITOR_FLAPS", "2000"))

pytestmark = pytest.mark.root


def start_veth_flaps(world, count, prefix):
    """count real uevent bursts in the namespace (veth add, then a rename: "move"), from one
    `ip -batch` process. Deleting a veth costs an RCU grace period (~20 ms) each, so the
    pairs stay until the namespace goes, which frees them in one batch."""
    batch = os.path.join(world.tmp, "%s.batch" % prefix)
    with open(batch, "w") as handle:
        for i in range(count):
            handle.write("link add %s%d type veth peer name %s%dp\nlink set %s%d name %sm%d\n"
                         % (prefix, i, prefix, i, prefix, i, prefix, i))
    return subprocess.Popen(["ip", "-n", world.netns.name, "-batch", batch],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def flap_tree(world, count, on_half=None):
    """count add/remove flaps of eth1's VF in the fixture tree."""
    for i in range(count):
        name = sysfs_tree.add_vf(world.root, "eth1", {"kind": "mlx5"})
        sysfs_tree.remove_vf(world.root, name)
        if on_half and i == count // 2:
            on_half()


def wait_idle(m, quiet=0.3, timeout=30):
    """Bounded wait until the monitor stops being scheduled (its backlog is processed)."""
    deadline = time.monotonic() + timeout
    last = m.proc_stats()[2]
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = m.proc_stats()[2]
        if now == last:
            return
        last = now
    raise AssertionError("monitor still busy after %d s" % timeout)


def test_flaps_settle_without_growth(world):
    m = world.monitor()
    # warm up: one full cycle so lazily created objects exist before the baseline
    vf = sysfs_tree.add_vf(world.root, "eth1", {"kind": "mlx5"})
    k = world.netns.kick()
    m.wait_vf("eth1", "%s\n" % os.path.basename(os.path.realpath(
        os.path.join(world.root, "class/net", vf, "device"))))
    sysfs_tree.remove_vf(world.root, vf)
    world.netns.unkick(k)
    m.wait_vf("eth1", "")
    wait_idle(m)
    rss0, fds0 = m.proc_stats()[:2]

    started = time.monotonic()
    veths = start_veth_flaps(world, FLAPS, "f")
    flap_tree(world, FLAPS)
    code = veths.wait(120)
    assert code == 0, veths.stderr.read()
    sysfs_tree.add_vf(world.root, "eth1", {"kind": "mlx5", "domain": 0x7e7e})
    world.netns.kick()
    m.wait_vf("eth1", "7e7e:00:02.0\n", timeout=60)
    settle = time.monotonic() - started
    wait_idle(m)
    rss1, fds1 = m.proc_stats()[:2]
    state = json.loads(read(os.path.join(world.state, "state.json")))
    report("flaps", FLAPS)
    report("flap_seconds_until_settled", round(settle, 2))
    report("flap_rss_kb_before_after", [rss0, rss1])
    report("flap_fds_before_after", [fds0, fds1])
    report("flap_counters", state["counters"])
    assert m.proc.poll() is None
    assert fds1 == fds0
    assert rss1 - rss0 < 4096, "RSS grew by %d kB" % (rss1 - rss0)
    assert state["pairs"]["eth1"]["vf"] == "7e7e:00:02.0"
    assert state["counters"]["uevents"] >= FLAPS  # really woken by the storm
    assert m.vf("eth2").endswith(":00:02.0\n")  # the other pairing was never disturbed


def test_sigkill_mid_flap_then_restart(world):
    m = world.monitor()
    killed = []

    def kill():
        m.proc.send_signal(signal.SIGKILL)
        killed.append(m.proc.wait(10))
    veths = start_veth_flaps(world, 400, "s")
    flap_tree(world, 400, on_half=kill)
    veths.wait(60)
    assert killed == [-signal.SIGKILL]
    sysfs_tree.add_vf(world.root, "eth1", {"kind": "mlx5", "domain": 0x6f6f})
    again = world.monitor()  # READY=1 comes only after the first full scan and publication
    assert again.vf("eth1") == "6f6f:00:02.0\n"
    leftovers = [n for n in os.listdir(world.state) if n.startswith(".")]
    assert leftovers == []
    assert sorted(os.listdir(world.state)) == ["eth1.vf", "eth2.vf", "state.json"]


def test_unwritable_state_dir(world, monitor_archive):
    os.mkdir(world.state)
    notify_path = os.path.join(world.tmp, "notify-ro")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.2)
    # A read-only bind mount, private to the monitor: root's DAC override does not help there.
    script = ('mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"')
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, world.state,
           sys.executable, monitor_archive, "--sysfs-root", world.root,
           "--config-dir", world.config, "--state-dir", world.state]
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    try:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=30, check=False)
        try:
            message = notify.recv(4096)
        except socket.timeout:
            message = None
    finally:
        notify.close()
    assert proc.returncode == 1, proc.stderr
    assert "is not writable" in proc.stderr and world.state in proc.stderr
    assert "Read-only file system" in proc.stderr
    assert message is None  # never READY
    assert os.listdir(world.state) == []  # no partial files


def test_malformed_declarations_are_skipped(world):
    with open(os.path.join(world.config, "broken.json"), "w") as handle:
        handle.write("{not json\n")
    with open(os.path.join(world.config, "Bad-Id.json"), "w") as handle:
        json.dump({"format": 1, "id": "Bad-Id", "driver": "hv_netvsc",
                   "netvsc": {"mac": "00:0d:3a:00:00:01"}}, handle)
    with open(os.path.join(world.config, "nomac.json"), "w") as handle:
        json.dump({"format": 1, "id": "nomac", "driver": "hv_netvsc", "netvsc": {}}, handle)
    m = world.monitor()
    logs = m.logs()
    for name in ("broken.json", "Bad-Id.json", "nomac.json"):
        assert name in logs
    assert logs.count("skipping declaration") == 3
    assert m.vf("eth1") == "" and m.vf("eth2").endswith(":00:02.0\n")
    state = json.loads(read(os.path.join(world.state, "state.json")))
    assert sorted(state["pairs"]) == ["eth1", "eth2"]
    assert state["counters"]["declaration_errors"] == 3
    # the good ones keep working
    sysfs_tree.add_vf(world.root, "eth1", {"kind": "mana", "domain": 0x7870, "slot": 0})
    world.netns.kick()
    m.wait_vf("eth1", "7870:00:00.0,mac=00:0d:3a:03:1e:b1\n")
