#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Failback benchmark with real DPDK (not a test: it never fails). Run as root:

    python benchmarks/failback_latency.py [--cycles 30] [--poll 200] [--sweep 500,100]
                                          [--cpu-polls 2000,1000,500,200,100,50] [--cpu-seconds 20]

What is measured: the time from the VF's return (the kernel uevent) to fail-safe's
"Switching tx_dev to preferred sub_device", i.e. to DPDK sending on the VF again, for

* ours: the hot-plug monitor (netvsc-monitor.pyz as the role installs it, default settings)
  publishes <state_dir>/<id>.vf on the uevent, and dpdk-testpmd's fail-safe port, with the
  arguments _devargs.render() gives (mode failsafe, hotplug_poll --poll), re-runs its exec()
  every hotplug_poll ms while no VF is plugged;
* the seed's timing, reproduced: vdev_netvsc looks for the VF every 1000 ms
  (VDEV_NETVSC_PROBE_MS) and writes it to a pipe that fail-safe reads with fd() at its
  default hotplug_poll, 2000 ms (vdev_netvsc passes none). vdev_netvsc itself cannot run here
  (it needs a NetVSC netdev and a PCI VF), so a thread of this benchmark does its job with
  the same cadence, pipe and fd() sub-device.

Cycles of the two (and of --sweep polls) alternate in one run, so that load drifts hit all
alike. Each cycle starts a fresh testpmd (no VF), waits a random 0.5-2.5 s (the VF comes back
at any phase of the polls), then adds the VF: the fixture sysfs tree the monitor scans gets
an mlx5 VF and a veth pair is added in the namespace, which is the real kernel uevent
(t0: an independent NETLINK_KOBJECT_UEVENT listener here). The end is the testpmd log line
(its stdout, timestamped as it is read). Also reported: uevent -> publication (inotify on the
state directory) for ours.

What this machine forces (as in the real-DPDK stage, tests/integration/dpdk): no PCI VF can
exist, so the VF stand-in is a TAP (net_tap_vf, no remote=; af_packet cannot be hot-plugged
into a running fail-safe port: it has no link_up), the rendered exec(cat <state file>) becomes
exec(sh map.sh <state file>), which prints the stand-in's definition while the monitor's file
is not empty, and the TAP fallback (remote= needs the multiq qdisc) becomes af_packet on a
veth. testpmd runs interactive (-i: no forwarding lcore spinning on this 2-core machine), with
--no-huge and fail-safe debug logs. A testpmd cannot be reused between cycles: a TAP emits no
removal (RMV) event, so fail-safe never gives up the stand-in.

CPU cost of a shorter poll while the VF is absent: testpmd with the rendered arguments, the
exec(cat <state file>) unchanged and the file empty, for --cpu-seconds per poll of --cpu-polls;
the process's CPU time (all threads and the reaped exec() children, /proc/PID/stat) per
second, and the exec() runs counted in its log.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests"))
# tests/conftest.py puts the collection on sys.path, as for the tests.
import conftest  # noqa: E402,F401  pylint: disable=unused-import
from ansible_collections.hyperv.netvsc.plugins.module_utils import _devargs  # noqa: E402
from ansible_collections.hyperv.netvsc.tests.fixtures import monitor_archive, netns, sysfs_tree  # noqa: E402

MAC = "00:0d:3a:03:1e:b1"
PAIR = "eth1"
STAND_IN = "net_tap_vf,iface=dtapvf"
SYNTHETIC = "dev(net_af_packet_syn,iface=syn0)"
SWITCHED = "Switching tx_dev to preferred sub_device"
SEED_PROBE_MS = 1000  # vdev_netvsc's VDEV_NETVSC_PROBE_MS
SEED_POLL_MS = 2000  # fail-safe's FAILSAFE_HOTPLUG_DEFAULT_TIMEOUT_MS
TESTPMD_EAL = ["--no-huge", "-m", "512", "--no-pci", "-l", "0-1", "--no-shconf",
               "--log-level=pmd.net.failsafe:debug"]
TESTPMD_APP = ["-i", "--total-num-mbufs=4096"]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def summary(values):
    return "p50 %4.0f  p90 %4.0f  p99 %4.0f  max %4.0f ms  (n=%d)" % (
        percentile(values, 50), percentile(values, 90), percentile(values, 99), max(values),
        len(values))


def load():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


class TestPmd:
    """dpdk-testpmd in this namespace; stdout read line by line with arrival times."""

    def __init__(self, eal_args, log_path, pass_fds=()):
        prefix = "--file-prefix=nvfb%d_%d" % (os.getpid(), time.monotonic_ns() % 1000000)
        self.cmd = ["dpdk-testpmd"] + TESTPMD_EAL + [prefix] + list(eal_args) + ["--"] + TESTPMD_APP
        self.lines = []
        self.cond = threading.Condition()
        self.log = open(log_path, "a")
        self.log.write("# %s\n" % " ".join(self.cmd))
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, pass_fds=pass_fds)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            now = time.monotonic()
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.write("%.3f %s\n" % (now, line))
            with self.cond:
                self.lines.append((now, line))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, text, since=0.0, timeout=60.0):
        """Arrival time of the first line containing text after since; None on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for when, line in self.lines:
                    if when >= since and text in line:
                        return when
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    return None
                self.cond.wait(min(left, 0.5))

    def count(self, text, since, until):
        with self.cond:
            return sum(1 for when, line in self.lines if since <= when <= until and text in line)

    def cpu_seconds(self):
        """utime + stime of every thread and of the reaped children (exec() runs)."""
        with open("/proc/%d/stat" % self.proc.pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.flush()
            self.proc.wait(20)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)
        self.reader.join(10)
        self.log.close()


class Uevents(threading.Thread):
    """Arrival times of net "add" uevents in this namespace, taken by a thread that blocks on
    the socket (independent of the monitor, and of what this benchmark does meanwhile)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((0, 1))
        self.arrivals = []
        self.cond = threading.Condition()
        self.start()

    def run(self):
        while True:
            data = self.sock.recv(65536)
            now = time.monotonic()
            if data.startswith(b"add@") and b"SUBSYSTEM=net" in data:
                with self.cond:
                    self.arrivals.append(now)
                    self.cond.notify_all()

    def first_after(self, since, timeout=5.0):
        with self.cond:
            if not self.cond.wait_for(lambda: any(t >= since for t in self.arrivals), timeout):
                raise SystemExit("no net uevent within %.0f s" % timeout)
            return min(t for t in self.arrivals if t >= since)


class SeedFeeder(threading.Thread):
    """vdev_netvsc's side of the seed: every SEED_PROBE_MS, look for the NetVSC's VF and
    write its definition to the pipe fail-safe reads with fd() (non-blocking, as it does)."""

    def __init__(self, root, write_fd):
        super().__init__(daemon=True)
        self.root, self.write_fd = root, write_fd
        self.stopped = threading.Event()

    def vf_present(self):
        net = os.path.join(self.root, "class", "net")
        for name in os.listdir(net):
            if name == PAIR:
                continue
            try:
                with open(os.path.join(net, name, "address")) as handle:
                    if handle.read().strip() == MAC:
                        return True
            except OSError:
                continue
        return False

    def run(self):
        tick = time.monotonic()
        while not self.stopped.is_set():
            if self.vf_present():
                try:
                    os.write(self.write_fd, (STAND_IN + "\n").encode())
                except BlockingIOError:
                    pass
            tick += SEED_PROBE_MS / 1000.0
            self.stopped.wait(max(0.0, tick - time.monotonic()))


class Bench:
    def __init__(self, args):
        self.args = args
        self.base = tempfile.mkdtemp(prefix="nvfailback-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.root, self.config, self.state = (os.path.join(self.base, n) for n in ("sys", "pairs.d", "state"))
        self.logs = os.path.join(self.base, "logs")
        os.makedirs(self.logs)
        sysfs_tree.build({"gen": 2, "netvsc": [{"name": PAIR, "mac": MAC}]}, self.root)
        os.makedirs(self.config)
        guid = sysfs_tree.netvsc_guid_from_mac(MAC)
        with open(os.path.join(self.config, PAIR + ".json"), "w") as handle:
            handle.write('{"driver": "hv_netvsc", "force": false, "format": 1, "id": "%s", '
                         '"netvsc": {"mac": "%s", "name": "%s", "vmbus_id": "%s"}, '
                         '"require_vf": false}\n' % (PAIR, MAC, PAIR, guid))
        self.archive = monitor_archive.build(os.path.join(self.base, "lib"))
        self.devargs = _devargs
        self.vf_file = _devargs.vf_state_path(self.state, PAIR)
        self.mapper = os.path.join(self.base, "map.sh")
        with open(self.mapper, "w") as handle:
            handle.write("#!/bin/sh\n# A non-empty state file stands for the VF: print its stand-in.\n"
                         '[ -s "$1" ] && echo %s\n' % STAND_IN)
        self.kicks = 0
        self.vf = None
        self.uevents = Uevents()
        subprocess.run(["ip", "link", "add", "syn0", "type", "veth", "peer", "name", "syn1"], check=True)
        for name in ("syn0", "syn1", "lo"):
            subprocess.run(["ip", "link", "set", name, "up"], check=True)
        self.monitor = subprocess.Popen(
            [sys.executable, self.archive, "--foreground", "--sysfs-root", self.root,
             "--config-dir", self.config, "--state-dir", self.state],
            stderr=open(os.path.join(self.logs, "monitor.log"), "w"))
        self.wait_file(lambda text: text == "", "the monitor's first publication")

    # -- the VF, as the host gives and takes it

    def kick(self):
        """A real kernel uevent in this namespace."""
        self.kicks += 1
        subprocess.run(["ip", "link", "add", "k%d" % self.kicks, "type", "veth", "peer", "name",
                        "k%dp" % self.kicks], check=True)

    def wait_file(self, predicate, what, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(self.vf_file) as handle:
                    if predicate(handle.read()):
                        return time.monotonic()
            except OSError:
                pass
            time.sleep(0.001)
        raise SystemExit("timed out waiting for %s" % what)

    def vf_arrives(self):
        """Add the VF; return (uevent time, publication time)."""
        self.vf = sysfs_tree.add_vf(self.root, PAIR, {"kind": "mlx5"})
        before = time.monotonic()
        self.kick()
        arrival = self.uevents.first_after(before)
        published = self.wait_file(lambda text: text.strip() != "", "the VF's publication")
        return arrival, published

    def vf_departs(self):
        sysfs_tree.remove_vf(self.root, self.vf)
        self.vf = None
        self.kick()
        self.wait_file(lambda text: text == "", "the VF's departure")

    # -- the two ways back to the VF

    def ours(self, poll):
        rendered = self.devargs.render([{
            "id": PAIR, "mac": MAC, "netvsc_name": PAIR, "vmbus_id": None, "driver": "hv_netvsc",
            "forced": False, "vf": None}], mode="failsafe", hotplug_poll=poll, state_dir=self.state)
        command = self.devargs.vf_state_command(self.state, PAIR)
        args = []
        for arg in rendered.eal_args:
            changed = arg.replace("exec(%s)" % command, "exec(sh %s %s)" % (self.mapper, self.vf_file))
            changed = changed.replace("dev(net_tap_%s,remote=%s)" % (PAIR, PAIR), SYNTHETIC)
            if arg.startswith("net_failsafe_"):
                assert changed.count("exec(sh ") == 1 and SYNTHETIC in changed, changed
            args.append(changed)
        return args, (), None

    def seed(self):
        read_fd, write_fd = os.pipe2(os.O_NONBLOCK)
        args = ["--vdev", self.devargs.VDEV_NETVSC_IGNORE, "--vdev",
                "net_failsafe_vsc0,fd(%d),%s" % (read_fd, SYNTHETIC)]
        return args, (read_fd,), (read_fd, write_fd)

    def cycle(self, label, poll):
        args, fds, pipe = self.seed() if poll is None else self.ours(poll)
        feeder = None
        pmd = TestPmd(args, os.path.join(self.logs, "%s.log" % label), pass_fds=fds)
        try:
            if pipe:
                os.close(pipe[0])
                feeder = SeedFeeder(self.root, pipe[1])
                feeder.start()
            if pmd.wait_for("Checking link statuses", timeout=120) is None:
                raise SystemExit("testpmd did not start; log %s" % pmd.log.name)
            time.sleep(random.uniform(0.5, 2.5))
            arrival, published = self.vf_arrives()
            switched = pmd.wait_for(SWITCHED, since=arrival, timeout=30)
            if switched is None:
                raise SystemExit("%s: no %r within 30 s; log %s" % (label, SWITCHED, pmd.log.name))
            return (switched - arrival) * 1000, (published - arrival) * 1000
        finally:
            pmd.stop()
            if feeder:
                feeder.stopped.set()
                feeder.join(5)
                os.close(pipe[1])
            if self.vf is not None:
                self.vf_departs()

    def cpu(self, poll, seconds):
        """CPU of testpmd per second with the rendered exec(cat ...) and no VF."""
        rendered = self.devargs.render([{
            "id": PAIR, "mac": MAC, "netvsc_name": PAIR, "vmbus_id": None, "driver": "hv_netvsc",
            "forced": False, "vf": None}], mode="failsafe", hotplug_poll=poll, state_dir=self.state)
        args = [arg.replace("dev(net_tap_%s,remote=%s)" % (PAIR, PAIR), SYNTHETIC) for arg in rendered.eal_args]
        pmd = TestPmd(args, os.path.join(self.logs, "cpu-%d.log" % poll))
        try:
            if pmd.wait_for("Checking link statuses", timeout=120) is None:
                raise SystemExit("testpmd did not start; log %s" % pmd.log.name)
            time.sleep(1.0)
            start, cpu0 = time.monotonic(), pmd.cpu_seconds()
            time.sleep(seconds)
            end, cpu1 = time.monotonic(), pmd.cpu_seconds()
            runs = pmd.count("'%s'" % self.devargs.vf_state_command(self.state, PAIR), start, end)
            return (cpu1 - cpu0) / (end - start), runs / (end - start)
        finally:
            pmd.stop()

    def close(self):
        self.monitor.terminate()
        self.monitor.wait(10)
        if not self.args.keep:
            shutil.rmtree(self.base, ignore_errors=True)


def inner(args):
    bench = Bench(args)
    try:
        print("load before: %s; DPDK %s; logs in %s" % (load(), subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "dpdk-dev"], capture_output=True, text=True,
            check=False).stdout.strip() or "?", bench.logs))
        variants = [("ours-%d" % args.poll, args.poll), ("seed", None)]
        variants += [("ours-%d" % poll, poll) for poll in args.sweep if poll != args.poll]
        results = dict((label, ([], [])) for label, _poll in variants)
        for number in range(args.cycles):
            for label, poll in variants:
                switch, publish = bench.cycle("%s-%02d" % (label, number), poll)
                results[label][0].append(switch)
                results[label][1].append(publish)
            print("cycle %d/%d: %s" % (number + 1, args.cycles, "  ".join(
                "%s %.0f ms" % (label, results[label][0][-1]) for label, _poll in variants)), flush=True)
        print()
        print("uevent -> fail-safe '%s' (load now %s)" % (SWITCHED, load()))
        for label, poll in variants:
            what = ("seed cadence: vdev_netvsc 1000 ms probe -> fd(), hotplug_poll 2000" if poll is None
                    else "monitor + exec(), hotplug_poll %d" % poll)
            print("  %-10s %s   [%s]" % (label, summary(results[label][0]), what))
        ours, seed = results["ours-%d" % args.poll][0], results["seed"][0]
        print("  ratio seed/ours: p50 %.1fx  p99 %.1fx" % (
            percentile(seed, 50) / percentile(ours, 50), percentile(seed, 99) / percentile(ours, 99)))
        print("uevent -> monitor's publication: %s" % summary(results["ours-%d" % args.poll][1]))
        if args.cpu_polls:
            print()
            print("testpmd CPU while the VF is absent (exec(cat <state file>) every hotplug_poll, "
                  "%d s each; load now %s)" % (args.cpu_seconds, load()))
            for poll in args.cpu_polls:
                share, rate = bench.cpu(poll, args.cpu_seconds)
                print("  hotplug_poll %5d ms: %5.2f %% of one CPU, %5.1f exec() runs/s" % (poll, share * 100, rate))
        print("load after: %s" % load())
    finally:
        bench.close()


def polls(text):
    return [int(value) for value in text.split(",") if value.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--cycles", type=int, default=30, help="cycles per variant (default 30)")
    parser.add_argument("--poll", type=int, default=200, help="hotplug_poll of ours (default 200)")
    parser.add_argument("--sweep", type=polls, default=[], help="more hotplug_poll values to measure")
    parser.add_argument("--cpu-polls", type=polls, default=[2000, 1000, 500, 200, 100, 50])
    parser.add_argument("--cpu-seconds", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the logs and trees")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return inner(args)
    if os.geteuid() != 0:
        raise SystemExit("run as root (network namespace, TAP)")
    if shutil.which("dpdk-testpmd") is None:
        raise SystemExit("dpdk-testpmd is missing: apt-get install dpdk-dev librte-net-failsafe23")
    namespace = netns.Netns("nvfailback")
    try:
        return subprocess.call(namespace.exec([sys.executable, os.path.abspath(__file__), "--inner"]
                                              + sys.argv[1:]))
    finally:
        namespace.close()


if __name__ == "__main__":
    sys.exit(main())
