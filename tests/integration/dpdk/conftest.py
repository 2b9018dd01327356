# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real-DPDK harness: dpdk-testpmd inside a throw-away netns, for each DPDK we support:

* ``22.11``: Debian 12's, installed on this (Debian 12) host by the dpdk test session;
* ``24.11``: Debian 13's, inside the cached trixie root (tests/molecule/build-root.sh trixie),
  run with chroot in a private mount namespace of the test netns: that root's /proc, /sys
  (the netns' own), /dev, a fresh /run and /tmp, and the test's tmp_path at the same path,
  so exec(cat <state file>) reads the file the test writes. The host never gets trixie's
  packages.

Every test that takes the ``testpmd`` fixture runs once per DPDK (ids ``dpdk22.11``,
``dpdk24.11``); ``dpdk.version`` says which, for the few log lines that differ. The network
namespace is the shared ``netns`` fixture (tests/fixtures/netns.py); tests here are marked
``dpdk`` (tests/conftest.py).

What runs here is the devargs the collection renders (plugins/module_utils/_devargs.py),
unchanged. testpmd runs non-interactively: it starts the ports, prints "Press enter to exit"
and waits on stdin; the harness keeps stdin open, follows the log line by line (with
timestamps), and ends it by writing a newline (then SIGINT, then SIGKILL, all bounded).

Logs are kept in $NETVSC_DPDK_LOG_DIR (default <repo>/build/dpdk-logs) for the report.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid

import pytest

from ansible_collections.hyperv.netvsc.tests.fixtures import nspawn

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LOG_DIR = os.environ.get("NETVSC_DPDK_LOG_DIR", os.path.join(REPO, "build", "dpdk-logs"))
TESTPMD = shutil.which("dpdk-testpmd")

# EAL options of the harness (not the product's): no hugepages, no PCI scan, 2 lcores,
# private runtime files (--no-shconf, own --file-prefix), fail-safe / vdev_netvsc debug logs, version banner (-v).
HARNESS_EAL = [
    "-v", "--no-huge", "-m", "512", "--no-pci", "-l", "0-1", "--no-shconf",
    "--log-level=pmd.net.failsafe:debug", "--log-level=pmd.net.vdev_netvsc:debug",
]
HARNESS_APP = ["--total-num-mbufs=4096"]

# Anything fail-safe or the EAL says when the devargs grammar is wrong.
PARSE_ERRORS = (
    "Unrecognized device type",
    "Dangling parenthesis",
    "Error parsing parameters",
    "Parameter string too long",
    "Cannot allocate more than",
    "failed to parse device",
    "Invalid parameter",
)


# Runs argv ($2...) chrooted into the root $1 with the mounts described at the top; every
# "-b PATH" before "--" also appears at PATH inside.
CHROOT_SH = """
root=$1; shift
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
while [ "$1" = -b ]; do
    mkdir -p "$root$2"
    mount --bind "$2" "$root$2"
    shift 2
done
shift
exec chroot "$root" "$@"
"""


class Dpdk:
    """One DPDK install: where its testpmd is and how to run it in a netns."""

    def __init__(self, version, root=None):
        self.version = version
        self.root = root  # None: the host's DPDK
        # How fail-safe starts its log lines: DPDK 23.11 moved drivers to upper-case log
        # type prefixes ("net_failsafe: x" became "NET_FAILSAFE: x").
        self.failsafe_log = "net_failsafe: " if version == "22.11" else "NET_FAILSAFE: "

    def command(self, ns, binds=()):
        """argv prefix that runs dpdk-testpmd in the netns `ns` (binds: host dirs it needs)."""
        if self.root is None:
            return ns.exec([TESTPMD])
        inner = []
        for path in binds:
            inner += ["-b", str(path)]
        return ns.exec(["unshare", "--mount", "--propagation", "private", "--", "sh", "-euc",
                        CHROOT_SH, "sh", self.root] + inner + ["--", "dpdk-testpmd"])


@pytest.fixture(scope="session", params=["22.11", "24.11"], ids=lambda v: "dpdk" + v)
def dpdk(request):
    """The DPDK under test: 22.11 on the host, 24.11 in the trixie root."""
    if request.param == "22.11":
        return Dpdk("22.11")
    return Dpdk("24.11", nspawn.debian_root("trixie"))


class TestPmd:
    """One dpdk-testpmd process in a netns, log followed line by line."""

    def __init__(self, dpdk, ns, eal_args, log_name, binds=(), pci_devices=None):
        self.dpdk = dpdk
        prefix = "--file-prefix=netvsc-test-%s" % uuid.uuid4().hex[:8]
        harness, env = HARNESS_EAL, None
        if pci_devices:
            # DPDK's PCI bus scans $SYSFS_PCI_DEVICES instead of /sys/bus/pci/devices (its
            # own test hook): simulated VFs, scanned and probed by the real PMDs.
            harness = [arg for arg in HARNESS_EAL if arg != "--no-pci"] + [
                "--log-level=lib.eal:debug", "--log-level=bus.pci:debug",
                "--log-level=pmd.net.mana.*:debug"]
            env = dict(os.environ, SYSFS_PCI_DEVICES=str(pci_devices))
        self.cmd = (dpdk.command(ns, binds) + harness + [prefix]
                    + list(eal_args)
                    + ["--"] + HARNESS_APP)
        os.makedirs(LOG_DIR, exist_ok=True)
        self.log_path = os.path.join(LOG_DIR, log_name + ".log")
        self.lines = []  # (monotonic time, line)
        self.cond = threading.Condition()
        self.returncode = None
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     start_new_session=True, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.log_path, "w") as log:
            log.write("# " + " ".join(self.cmd).replace("\n", "; ") + "\n")
            for line in self.proc.stdout:
                now = time.monotonic()
                log.write("%.3f %s" % (now, line))
                log.flush()
                with self.cond:
                    self.lines.append((now, line.rstrip("\n")))
                    self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def text(self):
        with self.cond:
            return "\n".join(line for _t, line in self.lines)

    def matching(self, pattern, since=0.0):
        rx = re.compile(pattern)
        with self.cond:
            return [(t, l) for t, l in self.lines if t >= since and rx.search(l)]

    def wait_for(self, pattern, count=1, timeout=30.0, since=0.0):
        """Wait until `pattern` matched `count` lines (after `since`); return the matches."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        with self.cond:
            while True:
                hits = [(t, l) for t, l in self.lines if t >= since and rx.search(l)]
                if len(hits) >= count:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError(
                        "waited %.0fs for %d x %r, saw %d; log %s; tail:\n%s"
                        % (timeout, count, pattern, len(hits), self.log_path,
                           "\n".join(l for _t, l in self.lines[-25:])))
                self.cond.wait(min(left, 0.5))

    def stop(self, timeout=20.0):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGINT)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(5)
        self.reader.join(10)
        self.returncode = self.proc.returncode
        return self.returncode


@pytest.fixture
def testpmd(request, dpdk, tmp_path):
    """Factory: testpmd(ns, eal_args) -> running TestPmd of `dpdk`; always stopped at teardown.

    The test's tmp_path is visible to testpmd at the same path (state files for exec()).
    """
    started = []

    def start(ns, eal_args, name=None, pci_devices=None):
        pmd = TestPmd(dpdk, ns, eal_args, name or request.node.name, binds=[tmp_path],
                      pci_devices=pci_devices)
        started.append(pmd)
        return pmd

    yield start
    for pmd in started:
        pmd.stop()


@pytest.fixture(scope="session")
def dpdk_version(dpdk):
    """The dpdk-dev package version of the DPDK under test (for the log)."""
    query = ["dpkg-query", "-W", "-f", "${Version}", "dpdk-dev"]
    if dpdk.root is not None:
        query[1:1] = ["--admindir", os.path.join(dpdk.root, "var", "lib", "dpkg")]
    out = subprocess.run(query, capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"
