#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of the hot-plug monitor (not a test). Run as root:

    python3 benchmarks/monitor_latency.py [--events 500] [--idle 60] [--hostile 300]

Method
- Publication latency: the monitor runs inside a fresh network namespace on a fixture sysfs
  tree (tests/fixtures/sysfs_tree.py). For each event the benchmark first changes the tree
  (add_vf, or remove_vf), then adds a veth pair in the namespace: a real kernel uevent. An
  independent NETLINK_KOBJECT_UEVENT listener in this process, also inside the namespace,
  timestamps the arrival of the first net event (CLOCK_MONOTONIC); inotify (IN_MOVED_TO on
  the state dir) timestamps the rename of <id>.vf. latency = rename - arrival. Both wake the
  same select() loop here, so the two timestamps share one clock and one scheduler path.
  The veth pairs are not deleted one by one (each deletion costs an RCU grace period); the
  namespace goes at the end.
- Idle wake-ups: voluntary_ctxt_switches of the monitor over --idle seconds with no events and
  the default resync interval (60 s) and with the resync disabled.
- Memory: VmRSS and VmHWM from /proc/PID/status.
- --hostile N: N departures ("VF leaves" -> empty <id>.vf, from the uevent's arrival to the
  rename) with a clean pairs.d, then N with every file of the malformed-declaration suite
  (tests/fixtures/declarations.py) next to the valid declaration; p50/p99 side by side, their
  ratio, and the load average.
Anchors: vdev_netvsc polls every 1000 ms, fail-safe's default hotplug_poll is 2000 ms.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def _load_test_import_path():
    """tests/conftest.py is the one place that makes this checkout importable as the
    collection (ansible_collections.hyperv.netvsc); loading it sets that path up."""
    spec = importlib.util.spec_from_file_location("netvsc_tests_conftest", os.path.join(REPO, "tests", "conftest.py"))
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


_load_test_import_path()
from ansible_collections.hyperv.netvsc.tests.fixtures import declarations as hostile  # noqa: E402
from ansible_collections.hyperv.netvsc.tests.fixtures import monitor_archive, sysfs_tree  # noqa: E402

IN_MOVED_TO = 0x80
IN_NONBLOCK = 0o4000
MAC = "00:0d:3a:03:1e:b1"


def inotify(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(IN_NONBLOCK)
    if fd < 0 or libc.inotify_add_watch(fd, path.encode(), IN_MOVED_TO) < 0:
        raise OSError(ctypes.get_errno(), "inotify")
    return fd


def moved_names(fd):
    names = []
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return names
    offset = 0
    while offset < len(data):
        _wd, _mask, _cookie, length = struct.unpack_from("iIII", data, offset)
        names.append(data[offset + 16:offset + 16 + length].rstrip(b"\0").decode())
        offset += 16 + length
    return names


def status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            key, _sep, value = line.partition(":")
            fields[key] = value.split()[0] if value.split() else ""
    return fields


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


class Bench:
    """A fixture tree with eth1, its declaration, a uevent listener and the monitor archive."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="nvbench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.root, self.config, self.state, lib = (
            os.path.join(self.base, n) for n in ("sys", "pairs.d", "state", "lib"))
        sysfs_tree.build({"gen": 2, "netvsc": [{"name": "eth1", "mac": MAC}]}, self.root)
        self.archive = monitor_archive.build(lib)
        os.makedirs(self.config)
        guid = sysfs_tree.netvsc_guid_from_mac(MAC)
        with open(os.path.join(self.config, "eth1.json"), "w") as handle:
            handle.write('{"driver": "hv_netvsc", "force": false, "format": 1, "id": "eth1", '
                         '"netvsc": {"mac": "%s", "name": "eth1", "vmbus_id": "%s"}, '
                         '"require_vf": false}\n' % (MAC, guid))
        self.listener = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.listener.bind((0, 1))
        self.listener.setblocking(False)
        self.vf = None
        self.veths = 0

    def run_monitor(self, resync):
        proc = subprocess.Popen([sys.executable, self.archive, "--sysfs-root", self.root,
                                 "--config-dir", self.config, "--state-dir", self.state,
                                 "--resync-interval", str(resync)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(self.state, "state.json")):
            if time.monotonic() > deadline:
                raise SystemExit("monitor did not start")
            time.sleep(0.01)
        time.sleep(0.2)
        return proc

    def flip(self, watch):
        """Add or remove eth1's VF, then a real uevent; ms from its arrival to eth1.vf's rename."""
        if self.vf is None:
            self.vf = sysfs_tree.add_vf(self.root, "eth1", {"kind": "mlx5"})
        else:
            sysfs_tree.remove_vf(self.root, self.vf)
            self.vf = None
        while True:  # discard anything left from the previous round
            try:
                self.listener.recv(65536)
            except BlockingIOError:
                break
        moved_names(watch)
        self.veths += 1
        subprocess.run(["ip", "link", "add", "b%d" % self.veths, "type", "veth", "peer", "name",
                        "b%dp" % self.veths], check=True)
        arrival = published = None
        deadline = time.monotonic() + 5
        while published is None and time.monotonic() < deadline:
            readable = select.select([self.listener, watch], [], [], 1)[0]
            now = time.monotonic()
            if self.listener in readable:
                while True:
                    try:
                        data = self.listener.recv(65536)
                    except BlockingIOError:
                        break
                    if arrival is None and b"SUBSYSTEM=net" in data:
                        arrival = now
            if watch in readable and "eth1.vf" in moved_names(watch):
                published = now
        if arrival is None or published is None:
            raise SystemExit("event %d: no %s" % (self.veths, "uevent" if arrival is None else "publication"))
        return (published - arrival) * 1000

    def departures(self, count):
        """count VF departures ("VF leaves" -> empty eth1.vf), in ms, with a fresh monitor."""
        proc = self.run_monitor(0)
        watch = inotify(self.state)
        found = []
        try:
            while len(found) < count:
                leaving = self.vf is not None
                took = self.flip(watch)
                if leaving:
                    with open(os.path.join(self.state, "eth1.vf")) as handle:
                        assert handle.read() == "", "eth1.vf not empty after the VF left"
                    found.append(took)
        finally:
            os.close(watch)
            proc.terminate()
            proc.wait(10)
        return found

    def plant_hostile(self):
        """Every file of the malformed-declaration suite (tests/fixtures/declarations.py)."""
        for plant in hostile.MALFORMED.values():
            plant(self.config)
        return len(hostile.MALFORMED)


def summary(values):
    return "p50 %.2f  p90 %.2f  p99 %.2f  max %.2f" % (
        percentile(values, 50), percentile(values, 90), percentile(values, 99), max(values))


def inner(args):
    """Runs inside the namespace (ip netns exec)."""
    bench = Bench()
    if args.hostile:
        # Side by side in one run: the same departures with a clean pairs.d, then with every
        # hostile file of the suite next to the valid declaration.
        print("load before: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
        clean = bench.departures(args.hostile)
        planted = bench.plant_hostile()
        dirty = bench.departures(args.hostile)
        print("VF leaves -> empty .vf, %d departures each (ms):" % args.hostile)
        print("  clean pairs.d:                   %s" % summary(clean))
        print("  + %d hostile declaration files:  %s" % (planted, summary(dirty)))
        print("  ratio hostile/clean: p50 %.2f, p99 %.2f" % (
            percentile(dirty, 50) / percentile(clean, 50), percentile(dirty, 99) / percentile(clean, 99)))
        print("load after: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
        shutil.rmtree(bench.base, ignore_errors=True)
        return

    proc = bench.run_monitor(0)
    watch = inotify(bench.state)
    latencies = [bench.flip(watch) for _i in range(args.events)]
    rss = status(proc.pid)
    print("events: %d" % len(latencies))
    print("publication latency ms: %s" % summary(latencies))
    print("monitor RSS after events: VmRSS %s kB, VmHWM %s kB" % (rss["VmRSS"], rss["VmHWM"]))
    proc.terminate()
    proc.wait(10)

    if args.idle > 0:
        for resync in (60, 0):
            proc = bench.run_monitor(resync)
            before = int(status(proc.pid)["voluntary_ctxt_switches"])
            time.sleep(args.idle)
            after = status(proc.pid)
            print("idle %d s, --resync-interval %d: %d voluntary wake-ups, VmRSS %s kB" % (
                args.idle, resync, int(after["voluntary_ctxt_switches"]) - before, after["VmRSS"]))
            proc.terminate()
            proc.wait(10)
    shutil.rmtree(bench.base, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--idle", type=int, default=60, help="idle measurement seconds (0: skip)")
    parser.add_argument("--hostile", type=int, default=0, metavar="N",
                        help="instead: N VF departures with a clean pairs.d and N with every hostile "
                             "declaration file present, side by side")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return inner(args)
    if os.geteuid() != 0:
        raise SystemExit("run as root (network namespace)")
    ns = "nvbench%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        return subprocess.call(["ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
                                "--inner", "--events", str(args.events), "--idle", str(args.idle),
                                "--hostile", str(args.hostile)])
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    sys.exit(main())
