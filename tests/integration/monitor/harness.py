# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real-process harness for the monitor: a network namespace for real uevents, a fixture
sysfs tree, the zip application the role installs, and bounded waits. The fixtures that put
these together (``monitor_archive``, ``world``) are in conftest.py next to this file.

Net-device uevents reach only listeners in the device's network namespace, so the monitor
runs inside a namespace the test creates (fixture ``netns``, tests/fixtures/netns.py) and veth
add/remove in that namespace are the real kernel events that wake it. The tree it scans
(``--sysfs-root``) is a fixture the test changes alongside with add_vf/remove_vf.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.hyperv.netvsc.tests.fixtures import sysfs_tree

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MAC1, MAC2 = "00:0d:3a:03:1e:b1", "00:0d:3a:03:1e:b2"
SPEC = {
    "gen": 2,
    "netvsc": [{"name": "eth1", "mac": MAC1}, {"name": "eth2", "mac": MAC2}],
    "vfs": [{"kind": "mlx5", "master": "eth2", "pci_guid": "64c70d9c-0b99-4bc0-ab63-83c1c785dfce"}],
}
REPORT = os.environ.get("MONITOR_REPORT")


def report(key, value):
    """Record a measured figure for the monitor session (noxfile.py) to print."""
    print("%s: %s" % (key, value))
    if REPORT:
        with open(REPORT, "a") as handle:
            handle.write(json.dumps({key: value}) + "\n")


def wait_for(predicate, timeout=10.0, interval=0.005, what="condition", details=lambda: ""):
    """Poll predicate until it is true; fail with details after timeout (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1f s waiting for %s\n%s" % (timeout, what, details()))
        time.sleep(interval)


def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def pci_address(root, vf_name):
    """The address a VF's device link points to: what the monitor must publish."""
    return os.path.basename(os.path.realpath(os.path.join(root, "class", "net", vf_name, "device")))


def declare(config_dir, pair_id, mac, name):
    guid = sysfs_tree.netvsc_guid_from_mac(mac)
    data = {"driver": "hv_netvsc", "force": False, "format": 1, "id": pair_id,
            "netvsc": {"mac": mac, "name": name, "vmbus_id": guid}, "require_vf": False}
    with open(os.path.join(config_dir, pair_id + ".json"), "w") as handle:
        handle.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


class MonitorProcess:
    """The monitor as a real process inside a network namespace, with a real NOTIFY_SOCKET."""

    def __init__(self, archive, netns, root, config, state, tmp, extra=()):
        self.archive, self.netns = archive, netns
        self.root, self.config, self.state, self.tmp = root, config, state, tmp
        self.extra = list(extra)
        self.proc = None
        self.notify = None
        self.messages = []
        self.log_path = os.path.join(tmp, "monitor.log")

    def command(self):
        return self.netns.exec([sys.executable, self.archive, "--foreground", "-v",
                                "--sysfs-root", self.root, "--config-dir", self.config,
                                "--state-dir", self.state, "--resync-interval", "0"] + self.extra)

    def start(self, wait_ready=True, wrapper=()):
        path = os.path.join(self.tmp, "notify-%d" % time.monotonic_ns())
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(path)
        env = dict(os.environ, NOTIFY_SOCKET=path)
        env.pop("JOURNAL_STREAM", None)
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(list(wrapper) + self.command(), env=env,
                                     stdout=self.log, stderr=self.log)
        if wait_ready:
            self.wait_message(b"READY=1")
        return self

    def wait_message(self, wanted, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not any(wanted in message for message in self.messages):
            remaining = deadline - time.monotonic()
            self.notify.settimeout(max(0.001, min(remaining, 0.2)))
            try:
                self.messages.append(self.notify.recv(4096))
                continue
            except socket.timeout:
                pass
            if remaining <= 0 or self.proc.poll() is not None:
                pytest.fail("no %r from the monitor (exit %s); log:\n%s"
                            % (wanted, self.proc.poll(), self.logs()))

    def logs(self):
        return read(self.log_path) or ""

    def vf(self, pair_id):
        return read(os.path.join(self.state, pair_id + ".vf"))

    def wait_vf(self, pair_id, expected, timeout=10.0):
        wait_for(lambda: self.vf(pair_id) == expected, timeout,
                 what="%s.vf == %r (now %r)" % (pair_id, expected, self.vf(pair_id)),
                 details=self.logs)

    def proc_stats(self):
        """(VmRSS in kB, open fds, voluntary context switches) from /proc."""
        stats = {}
        with open("/proc/%d/status" % self.proc.pid) as handle:
            for line in handle:
                key, _sep, value = line.partition(":")
                stats[key] = value.split()[0] if value.split() else ""
        fds = len(os.listdir("/proc/%d/fd" % self.proc.pid))
        return int(stats["VmRSS"]), fds, int(stats["voluntary_ctxt_switches"])

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.poll() if self.proc else None
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        return code

    def close(self):
        self.stop(signal.SIGKILL)
        if self.notify:
            self.notify.close()
        self.log.close()
