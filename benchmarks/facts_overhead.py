#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How much does hyperv.netvsc.netvsc_facts cost? (A benchmark, not a test: it never fails.)

1. End to end, on a 64-NetVSC simulated tree (tests/fixtures many(64): 128 interfaces), ad-hoc
   runs interleaved round by round (the order rotates every round):
     ansible localhost -m hyperv.netvsc.netvsc_facts -a sysfs_root=<tree>
     ansible localhost -m ansible.builtin.ping
     ansible localhost -m ansible.builtin.setup -a gather_subset=network
   Goals: median facts/ping <= 1.10 (the module, readiness probes of this machine included,
   costs about as much as the round trip any module pays), facts/setup(network) <= 0.6.
   setup reads the real host's interfaces (it has no sysfs_root), so it is a baseline for the
   price of "network facts", not for the same tree.
2. In process: scan() of a 1024-interface tree (many(512)), median of many runs. Goal < 50 ms.

    python3 benchmarks/facts_overhead.py [--rounds 15] [--scan-runs 50] [--json OUT]

Uses the `ansible` next to this Python (a venv), else the one on PATH, and the collection of
this checkout through a temporary ansible_collections symlink.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))

import sysfs_tree  # noqa: E402

GOALS = {"facts/ping": 1.10, "facts/setup_network": 0.6, "scan_1024_ms": 50.0}


def ansible_bin(name="ansible"):
    local = os.path.join(os.path.dirname(sys.executable), name)
    if os.access(local, os.X_OK):
        return local
    found = shutil.which(name)
    if not found:
        raise SystemExit("%s not found: run from a venv with ansible-core" % name)
    return found


def collections_tree(tmp):
    """A collections path whose hyperv.netvsc is this checkout (a symlink)."""
    path = os.path.join(tmp, "collections")
    os.makedirs(os.path.join(path, "ansible_collections", "hyperv"))
    os.symlink(REPO, os.path.join(path, "ansible_collections", "hyperv", "netvsc"))
    return path


def load_scan():
    """Import plugins/module_utils as a package (its files use relative imports)."""
    import types
    pkg = types.ModuleType("_netvsc_mu")
    pkg.__path__ = [os.path.join(REPO, "plugins", "module_utils")]
    sys.modules["_netvsc_mu"] = pkg
    return importlib.import_module("_netvsc_mu._scan")


def timed(cmd, env):
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or "SUCCESS" not in proc.stdout:
        raise SystemExit("failed: %s\n%s\n%s" % (" ".join(cmd), proc.stdout[-2000:],
                                                 proc.stderr[-2000:]))
    return elapsed


def end_to_end(tmp, rounds):
    tree = os.path.join(tmp, "sys64")
    sysfs_tree.build(sysfs_tree.many(64), tree)
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections_tree(tmp),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": os.path.join(tmp, "ansible-remote"),
    })
    cfg = os.path.join(tmp, "ansible.cfg")  # no user/project ansible.cfg may change the figures
    with open(cfg, "w") as handle:
        handle.write("[defaults]\n")
    env["ANSIBLE_CONFIG"] = cfg
    base = [ansible_bin(), "localhost", "-c", "local", "-i", "localhost,"]
    commands = {
        "facts": base + ["-m", "hyperv.netvsc.netvsc_facts", "-a", "sysfs_root=%s" % tree],
        "ping": base + ["-m", "ansible.builtin.ping"],
        "setup_network": base + ["-m", "ansible.builtin.setup", "-a", "gather_subset=network"],
    }
    names = list(commands)
    for name in names:  # warm-up (page cache, .pyc), not counted
        timed(commands[name], env)
    times = dict((name, []) for name in names)
    for i in range(rounds):
        order = names[i % len(names):] + names[:i % len(names)]
        for name in order:
            times[name].append(timed(commands[name], env))
    return times


def scan_in_process(tmp, runs):
    scan = load_scan().scan
    tree = os.path.join(tmp, "sys1024")
    sysfs_tree.build(sysfs_tree.many(512), tree)
    snap = scan(tree)
    count = len(snap.interfaces) + sum(1 for i in snap.interfaces.values() if i["vf"])
    samples, cpu = [], []
    for _run in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        scan(tree)
        samples.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return count, samples, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description="netvsc_facts overhead benchmark")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--scan-runs", type=int, default=50)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    # Trees on tmpfs when there is one: memory-backed like sysfs, unlike a disk filesystem.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="netvsc-facts-bench-", dir=shm)
    load_before = os.getloadavg()
    try:
        times = end_to_end(tmp, args.rounds)
        count, scan_ms, scan_cpu_ms = scan_in_process(tmp, args.scan_runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = dict((name, statistics.median(values)) for name, values in times.items())
    ratios = {"facts/ping": med["facts"] / med["ping"],
              "facts/setup_network": med["facts"] / med["setup_network"]}
    scan_median = statistics.median(scan_ms)

    def verdict(value, goal):
        return "meets goal" if value <= goal else "MISSES goal"

    load_after = os.getloadavg()
    print("netvsc_facts overhead (%d interleaved rounds, 64 NetVSC + 64 VF tree, ansible %s)" % (
        args.rounds, ansible_bin()))
    print("  load average %.2f before, %.2f after, %d CPUs; trees in %s" % (
        load_before[0], load_after[0], os.cpu_count() or 0, shm or tempfile.gettempdir()))
    for name in ("facts", "ping", "setup_network"):
        vals = times[name]
        print("  %-14s median %7.1f ms   min %7.1f   max %7.1f" % (
            name, med[name] * 1000, min(vals) * 1000, max(vals) * 1000))
    for key, value in ratios.items():
        print("  %-22s %.3f  (goal <= %.2f: %s)" % (key, value, GOALS[key], verdict(value, GOALS[key])))
    print("scan() in process, %d interfaces (many(512)), %d runs: median %.1f ms wall "
          "(min %.1f, max %.1f), median %.1f ms CPU (goal < %.0f ms wall: %s)" % (
              count, len(scan_ms), scan_median, min(scan_ms), max(scan_ms),
              statistics.median(scan_cpu_ms), GOALS["scan_1024_ms"],
              verdict(scan_median, GOALS["scan_1024_ms"])))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rounds": args.rounds,
                       "median_s": med, "samples_s": times, "ratios": ratios,
                       "scan_1024": {"interfaces": count, "median_ms": scan_median,
                                     "samples_ms": scan_ms,
                                     "cpu_median_ms": statistics.median(scan_cpu_ms)},
                       "loadavg": [load_before[0], load_after[0]],
                       "goals": GOALS}, handle, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
