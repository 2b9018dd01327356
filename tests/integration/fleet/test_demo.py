# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo` (demo/run.sh) on a fresh simulated fleet: it succeeds, the role ran the monitor
once on every managed host inside its sandbox, and it prints the groups, table and report."""

from __future__ import annotations

import json
import os


def test_demo_runs_and_prints_the_fleet(demo, demo_hosts):
    out = demo["output"]
    assert "demo finished in" in out
    assert "Report: %s/report/report.html" % demo["dir"] in out
    for host in demo_hosts:
        assert host in out
    assert "netvsc_vf_mana" in out and "netvsc_no_hyperv" in out
    print("demo wall time: %.1f s" % demo["seconds"])


def test_monitor_published_once_per_managed_host(demo):
    inventory = os.path.join(demo["dir"], "inventory", "10-fleet.yml")
    with open(inventory) as handle:
        text = handle.read()
    managed = text.split("netvsc_hosts:")[1].split("netvsc_observed:")[0]
    for host in ("az-cx5-01", "az-mlx4-01", "az-servicing-01", "az-big-01"):
        assert host in managed
        state = os.path.join(demo["dir"], "hosts", host, "root", "run", "netvsc", "state.json")
        with open(state) as handle:
            data = json.load(handle)
        assert data["format"] == 1 and data["pairs"], (host, data)
    cx5 = json.load(open(os.path.join(demo["dir"], "hosts", "az-cx5-01", "root", "run", "netvsc",
                                      "state.json")))
    assert sorted(p["netvsc"] for p in cx5["pairs"].values()) == ["eth1", "eth2", "eth3"]
    # Nothing was written outside the sandboxes: the routed eth0 is never declared.
    assert all(p["netvsc"] != "eth0" for p in cx5["pairs"].values())


def test_non_hyperv_host_is_left_alone(demo):
    root = os.path.join(demo["dir"], "hosts", "kvm-01", "root")
    written = [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files]
    assert written == []
