# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/report.yml on the demo fleet: the data (JSON, CSV) and the page in real Chromium."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess

import pytest

PROBLEM, WARNING, OK, NOT_APPLICABLE = 0, 1, 2, 3


def rows_of(data, host, netvsc=None):
    return [r for r in data["rows"] if r["host"] == host and (netvsc is None or r["netvsc"] == netvsc)]


def one(data, host, netvsc):
    found = rows_of(data, host, netvsc)
    assert len(found) == 1, (host, netvsc, found)
    return found[0]


def test_every_host_has_rows_and_problems_come_first(report, demo_hosts):
    data = report["data"]
    assert sorted(set(r["host"] for r in data["rows"])) == demo_hosts
    severities = [r["severity"] for r in data["rows"]]
    assert severities == sorted(severities)
    assert data["summary"]["hosts"] == len(demo_hosts)
    assert data["summary"]["problem_rows"] == severities.count(PROBLEM)
    assert data["summary"]["warning_rows"] == severities.count(WARNING)


def test_problem_rows(report):
    data = report["data"]
    for host in ("kvm-01", "vmware-01"):
        (row,) = rows_of(data, host)
        assert row["severity"] == NOT_APPLICABLE and row["hyperv"] is False
        assert row["problems"] == ["not applicable: not a Hyper-V/Azure guest (no VMBus)"]
    assert data["rows"][-1]["severity"] == NOT_APPLICABLE
    assert data["summary"]["not_applicable_hosts"] == 2

    servicing = one(data, "az-servicing-01", "eth1")
    assert servicing["vf"] is None and servicing["severity"] == PROBLEM
    assert any(p.startswith("no VF") for p in servicing["problems"])

    unpaired = [r for r in rows_of(data, "az-ambiguous-01") if r["paired_by"] == "unpaired"]
    assert sorted(r["vf"] for r in unpaired) == ["enP12161s3", "enP41635s2"]
    assert all(r["severity"] == PROBLEM and r["netvsc"] is None for r in unpaired)
    ambiguous = one(data, "az-ambiguous-01", "eth1")
    assert ambiguous["problems"][0] == ("no VF paired: 2 VFs (enP12161s3, enP41635s2) and 1 NetVSC "
                                        "carry MAC 00:0d:3a:03:1e:b1")

    nodrv = one(data, "az-mana-nodrv-01", "eth1")
    assert nodrv["problems"][0] == "no VF netdev: the MANA PCI function 7870:00:00.0 has no driver bound"


def test_other_pci_nics_are_no_unpaired_vfs(report):
    data = report["data"]
    for host in ("az-hpc-01", "hv-gen1-01", "vmware-01"):
        assert not [r for r in rows_of(data, host) if r["paired_by"] == "unpaired"], host
    hpc = one(data, "az-hpc-01", "eth0")
    assert (hpc["vf"], hpc["paired_by"]) == ("enP49709s1", "kernel")
    assert data["summary"]["unpaired_vfs"] == 3  # az-ambiguous-01 (2) and az-uio-01 (1)


def test_readiness_verdicts(report):
    data = report["data"]
    mana12 = one(data, "az-mana-01", "eth1")  # Debian 12: DPDK 22.11 without the MANA PMD
    assert mana12["ready"] is False
    assert "not ready for DPDK: MANA VF, but the installed DPDK 22.11.11 has no MANA PMD" in mana12["problems"]
    mana13 = one(data, "az-mana-02", "eth1")  # Debian 13: DPDK 24.11 with it
    assert mana13["ready"] is True
    assert not [p for p in mana13["problems"] if p.startswith("not ready")]
    assert data["summary"]["not_ready"] >= 1


def test_healthy_rows_carry_the_vf_and_the_monitor_state(report):
    data = report["data"]
    cx5 = one(data, "az-cx5-01", "eth1")
    assert (cx5["vf"], cx5["kind"], cx5["pci_address"], cx5["paired_by"]) == (
        "enP41635s2", "mlx5", "a2a3:00:02.0", "kernel")
    # site.yml ran the monitor once (netvsc_manage_services: false) and it published the VF.
    assert cx5["monitor"] == "one-shot"
    assert cx5["monitor_vf"] == "a2a3:00:02.0"
    assert cx5["last_vf_change"] and cx5["last_vf_change"].endswith("UTC")
    assert cx5["severity"] == OK, cx5["problems"]
    assert cx5["ready"] is True

    mlx4 = one(data, "az-mlx4-01", "eth1")
    assert (mlx4["kind"], mlx4["paired_by"], mlx4["pci_address"]) == ("mlx4", "mac", "910e:00:02.0")

    mana = [one(data, "az-mana-01", n) for n in ("eth0", "eth1")]
    assert [m["kind"] for m in mana] == ["mana", "mana"]
    assert mana[0]["pci_address"] == mana[1]["pci_address"] == "7870:00:00.0"

    # The routed management NIC is reported, not declared to the monitor.
    mgmt = one(data, "az-cx5-01", "eth0")
    assert mgmt["addresses"] == ["10.0.0.5/24"] and mgmt["pair_id"] is None


def test_uio_bound_netvsc_is_a_warning(report):
    rows = rows_of(report["data"], "az-uio-01")
    uio = [r for r in rows if r["driver"] == "uio_hv_generic"]
    assert len(uio) == 1 and uio[0]["severity"] == WARNING


def test_csv_has_the_same_rows(report):
    with open(os.path.join(report["dir"], "report.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    data = report["data"]["rows"]
    assert len(rows) == len(data)
    assert [r["host"] for r in rows] == [r["host"] for r in data]
    assert rows[0]["severity"] == "problem" and rows[-1]["severity"] == "n/a"
    # Lists are joined, commas inside fields stay inside their quoted field.
    assert all(len(r) == 19 for r in rows)


def test_page_is_self_contained(report):
    with open(os.path.join(report["dir"], "report.html")) as handle:
        html = handle.read()
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "<style>" in html


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]


def chromium(args, profile, timeout=120):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (the fleet session installs it)")
    proc = subprocess.run([exe] + CHROMIUM_FLAGS + ["--user-data-dir=%s" % profile] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def console_errors(stderr):
    """Page-level errors Chromium logs: console messages, failed loads, uncaught exceptions."""
    return [line for line in stderr.splitlines()
            if re.search(r"CONSOLE|Uncaught|Failed to load resource|net::ERR_", line)]


def test_page_in_headless_chromium(report, demo_hosts, tmp_path):
    url = "file://" + os.path.join(report["dir"], "report.html")
    dom = chromium(["--dump-dom", url], tmp_path / "p1")
    assert not console_errors(dom.stderr), console_errors(dom.stderr)
    rows = re.findall(r'<tr class="row sev-(\d)" data-host="([^"]+)"', dom.stdout)
    data = report["data"]["rows"]
    assert [(int(s), h) for s, h in rows] == [(r["severity"], r["host"]) for r in data]
    assert set(h for _s, h in rows) == set(demo_hosts)
    assert "not applicable: not a Hyper-V/Azure guest" in dom.stdout
    assert 'class="badge b-na"' in dom.stdout and 'class="badge b-notready"' in dom.stdout

    shot = tmp_path / "report.png"
    page = chromium(["--screenshot=%s" % shot, "--window-size=1600,1100", url], tmp_path / "p2")
    assert not console_errors(page.stderr), console_errors(page.stderr)
    with open(str(shot), "rb") as handle:
        png = handle.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000
    keep = os.environ.get("FLEET_ARTIFACTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(str(shot), os.path.join(keep, "report.png"))
