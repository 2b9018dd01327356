# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rendered unit under a real systemd (Debian 12 container, systemd-nspawn,
--private-network): with every hardening directive active the monitor still gets uevents and
reads /sys. The root comes from tests/molecule/build-root.sh (cached), the container from
tests/molecule/nspawn.sh.

Start (Type=notify: active only after READY=1) -> the published files; a VF added to the
fixture tree plus a veth inside the container (a uevent only the container's listeners see)
-> published; a declaration removed, reload (SIGHUP) -> its .vf is gone; SIGKILL ->
ExecStopPost= withdraws the addresses and Restart=on-failure republishes; stop -> result
success and no address survives; repeated SIGKILLs -> the unit fails (start limit) instead of
looping, with every address withdrawn."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from ansible_collections.hyperv.netvsc.tests.fixtures import monitor_archive as monitor_archive_builder
from ansible_collections.hyperv.netvsc.tests.integration.monitor.harness import (
    MAC1, MAC2, REPO, SPEC, declare, report, sysfs_tree)
from ansible_collections.hyperv.netvsc.plugins.module_utils._monitor_unit import render

pytestmark = pytest.mark.nspawn

MOLECULE = os.path.join(REPO, "tests", "molecule")


class Container:
    def __init__(self, started):
        self.pid, self.nspawn_pid, self.cgroup = started["pid"], started["nspawn_pid"], started["cgroup"]

    def run(self, *argv, check=True):
        proc = subprocess.run(["nsenter", "-t", str(self.pid), "-a"] + list(argv), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False)
        assert proc.returncode == 0 or not check, "%s: %s" % (" ".join(argv), proc.stdout)
        return proc.stdout.strip()

    def show(self, prop):
        return self.run("systemctl", "show", "-p", prop, "--value", "netvsc-monitor.service")

    def read(self, path):
        """A file's content inside the container, stripped; None when it does not exist."""
        proc = subprocess.run(["nsenter", "-t", str(self.pid), "-a", "cat", path], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, universal_newlines=True, timeout=30, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def wait_file(self, path, expected, timeout=10.0):
        deadline = time.monotonic() + timeout
        while self.read(path) != expected:
            if time.monotonic() > deadline:
                pytest.fail("%s is %r, expected %r\n%s" % (path, self.read(path), expected, self.run(
                    "journalctl", "-u", "netvsc-monitor", "--no-pager", "-n", "20", check=False)))
            time.sleep(0.05)


@pytest.fixture
def container(tmp_path, tmp_path_factory):
    work = tmp_path
    for name in ("lib", "units", "pairs"):
        (work / name).mkdir()
    archive = monitor_archive_builder.build(tmp_path_factory.mktemp("archive"))
    shutil.copy(archive, str(work / "lib"))
    (work / "units" / "netvsc-monitor.service").write_text(render({
        "netvsc_sysfs_root": "/srv/netvsc-sysfs", "netvsc_monitor_lib_dir": "/opt/nvlib",
        "netvsc_config_dir": "/opt/pairs"}))
    sysfs_tree.build(SPEC, str(work / "sys"))
    declare(str(work / "pairs"), "eth1", MAC1, "eth1")
    declare(str(work / "pairs"), "eth2", MAC2, "eth2")
    root = subprocess.run(["bash", os.path.join(MOLECULE, "build-root.sh")], stdout=subprocess.PIPE,
                          universal_newlines=True, timeout=1200, check=True).stdout.strip()
    name = "nvmon%d" % os.getpid()
    binds = []
    for host, inside in (("lib", "/opt/nvlib"), ("pairs", "/opt/pairs"), ("sys", "/srv/netvsc-sysfs"),
                         ("units", "/opt/units")):
        binds += ["--bind", "%s:%s" % (work / host, inside)]
    out = subprocess.run(["bash", os.path.join(MOLECULE, "nspawn.sh"), "start", name, root] + binds,
                         stdout=subprocess.PIPE, universal_newlines=True, timeout=120, check=True).stdout
    ct = Container(json.loads(out.strip().splitlines()[-1]))
    ct.work = work
    try:
        assert ct.run("systemd-detect-virt", "--container", check=False) == "systemd-nspawn"
        yield ct
    finally:
        subprocess.run(["bash", os.path.join(MOLECULE, "nspawn.sh"), "stop", name, str(ct.nspawn_pid), ct.cgroup],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=False)


def test_hardened_unit_publishes_reloads_and_restarts(container):
    ct = container
    ct.run("cp", "/opt/units/netvsc-monitor.service", "/etc/systemd/system/")
    ct.run("systemctl", "daemon-reload")
    ct.run("systemctl", "start", "netvsc-monitor.service")  # returns after READY=1
    assert ct.show("ActiveState") == "active"
    ct.wait_file("/run/netvsc/eth1.vf", "")
    ct.wait_file("/run/netvsc/eth2.vf", "0b99:00:02.0")

    sysfs_tree.add_vf(str(ct.work / "sys"), "eth1", {"kind": "mlx5", "domain": 0x2a2a})
    ct.run("ip", "link", "add", "nvk0", "type", "veth", "peer", "name", "nvk1")
    ct.wait_file("/run/netvsc/eth1.vf", "2a2a:00:02.0")

    os.remove(str(ct.work / "pairs" / "eth2.json"))
    ct.run("systemctl", "reload", "netvsc-monitor.service")
    ct.wait_file("/run/netvsc/eth2.vf", None)

    before = ct.show("MainPID")
    ct.run("systemctl", "kill", "-s", "KILL", "netvsc-monitor.service")
    deadline = time.monotonic() + 10
    while not (ct.show("MainPID") not in ("0", before) and ct.show("ActiveState") == "active"):
        assert time.monotonic() < deadline, "no restart after SIGKILL"
        time.sleep(0.1)
    ct.wait_file("/run/netvsc/eth1.vf", "2a2a:00:02.0")
    journal = ct.run("journalctl", "-u", "netvsc-monitor", "--no-pager")
    assert "withdrew the VF of" in journal, "ExecStopPost= did not run after SIGKILL"

    ct.run("systemctl", "stop", "netvsc-monitor.service")
    assert ct.show("Result") == "success"
    ct.wait_file("/run/netvsc/eth1.vf", "")  # no address outlives the monitor
    state = json.loads(ct.read("/run/netvsc/state.json"))
    assert all(pair["vf"] is None and pair["status"] == "stopped" for pair in state["pairs"].values())


def test_repeated_kills_end_in_a_failed_unit_not_a_restart_loop(container):
    ct = container
    ct.run("cp", "/opt/units/netvsc-monitor.service", "/etc/systemd/system/")
    ct.run("systemctl", "daemon-reload")
    sysfs_tree.add_vf(str(ct.work / "sys"), "eth1", {"kind": "mlx5", "domain": 0x2a2a})
    ct.run("systemctl", "start", "netvsc-monitor.service")
    ct.wait_file("/run/netvsc/eth1.vf", "2a2a:00:02.0")
    kills = 0
    while ct.show("ActiveState") != "failed":
        assert kills < 8, "still restarting after %d kills" % kills
        ct.run("systemctl", "kill", "-s", "KILL", "netvsc-monitor.service", check=False)
        kills += 1
        deadline = time.monotonic() + 5
        while ct.show("ActiveState") not in ("active", "failed") and time.monotonic() < deadline:
            time.sleep(0.05)
    report("unit_kills_until_failed", kills)
    assert "Start request repeated too quickly" in ct.run("journalctl", "-u", "netvsc-monitor", "--no-pager")
    ct.wait_file("/run/netvsc/eth1.vf", "")
