# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real-DPDK harness: dpdk-testpmd (Debian 12: DPDK 22.11) inside a throw-away netns
(fixture ``netns``, tests/fixtures/netns.py). Tests here are marked ``dpdk`` (tests/conftest.py).

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


class TestPmd:
    """One dpdk-testpmd process in a netns, log followed line by line."""

    def __init__(self, ns, eal_args, log_name):
        prefix = "--file-prefix=netvsc-test-%s" % uuid.uuid4().hex[:8]
        self.cmd = ns.exec([TESTPMD] + HARNESS_EAL + [prefix] + list(eal_args)
                           + ["--"] + HARNESS_APP)
        os.makedirs(LOG_DIR, exist_ok=True)
        self.log_path = os.path.join(LOG_DIR, log_name + ".log")
        self.lines = []  # (monotonic time, line)
        self.cond = threading.Condition()
        self.returncode = None
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.log_path, "w") as log:
            log.write("# " + " ".join(self.cmd) + "\n")
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
def testpmd(request):
    """Factory: testpmd(ns, eal_args) -> running TestPmd; always stopped at teardown."""
    started = []

    def start(ns, eal_args, name=None):
        pmd = TestPmd(ns, eal_args, name or request.node.name)
        started.append(pmd)
        return pmd

    yield start
    for pmd in started:
        pmd.stop()


@pytest.fixture(scope="session")
def dpdk_version():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "dpdk-dev"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"
