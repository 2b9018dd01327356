#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet-scale benchmark on the simulated fleet (demo/fleet.py --hosts N). Never fails.

1. Facts: for each size and forks, ONE ansible-playbook run with two plays on the same hosts:
   hyperv.netvsc.netvsc_facts, then the baseline ansible.builtin.setup gather_subset=network.
   Printed: wall time of each play, per-host cost (wall / hosts), ratio facts/setup
   (goal <= 0.5) and per-host cost across sizes (goal: linear, i.e. about constant per host).
2. Rerun: hyperv.netvsc.site twice on --rerun-hosts hosts (its default target netvsc_hosts:
   the MANA and uio cases of the mix are observed only); module invocations per host on the
   no-change rerun (goal <= 6, the same for 1 and 3 pairings) and the wall time of both runs.

Counts and task times come from benchmarks/callback_plugins/netvsc_count.py.

    python3 benchmarks/fleet_scale.py [--sizes 50 200 500] [--forks 10 50] [--rerun-hosts 50]
                                      [--skip-facts] [--skip-rerun] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(REPO, "benchmarks")
sys.path.insert(0, os.path.join(REPO, "demo"))
import fleet as demo_fleet  # noqa: E402  (demo/fleet.py builds the simulated hosts)

FACTS_PLAYBOOK = """---
- name: NetVSC facts
  hosts: all
  gather_facts: false
  tasks:
    - name: netvsc_facts
      hyperv.netvsc.netvsc_facts:
        sysfs_root: "{{ netvsc_sysfs_root }}"
- name: Baseline
  hosts: all
  gather_facts: false
  tasks:
    - name: setup network
      ansible.builtin.setup:
        gather_subset: [network]
"""


def ansible_bin(name):
    local = os.path.join(os.path.dirname(sys.executable), name)
    return local if os.access(local, os.X_OK) else (shutil.which(name) or name)


def environment(tmp, fleet_dir, forks):
    coll = os.path.join(tmp, "collections")
    link = os.path.join(coll, "ansible_collections", "hyperv", "netvsc")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link))
        os.symlink(REPO, link)
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": os.path.join(REPO, "demo", "ansible.cfg"),
        "ANSIBLE_INVENTORY": os.path.join(fleet_dir, "inventory", "10-fleet.yml"),
        "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.memory",
        "ANSIBLE_COLLECTIONS_PATH": coll,
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "netvsc_count",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "ansible-local"),
    })
    return env


def playbook(env, args, counts):
    env = dict(env, NETVSC_COUNT_OUT=counts)
    start = time.perf_counter()
    proc = subprocess.run([ansible_bin("ansible-playbook")] + args, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("ansible-playbook %s failed:\n%s" % (" ".join(args), proc.stdout[-4000:]))
    with open(counts) as handle:
        return wall, json.load(handle)


def facts_scale(tmp, sizes, forks_list):
    rows = []
    book = os.path.join(tmp, "facts-vs-setup.yml")
    with open(book, "w") as handle:
        handle.write(FACTS_PLAYBOOK)
    for size in sizes:
        fleet_dir = os.path.join(tmp, "fleet-%d" % size)
        demo_fleet.build_fleet(fleet_dir, count=size)
        for forks in forks_list:
            env = environment(tmp, fleet_dir, forks)
            wall, data = playbook(env, [book], os.path.join(tmp, "count.json"))
            secs = dict((t["name"], t["seconds"]) for t in data["tasks"])
            row = {"hosts": size, "forks": forks, "run_s": round(wall, 2),
                   "facts_s": secs["netvsc_facts"], "setup_s": secs["setup network"]}
            row["facts_ms_per_host"] = round(1000 * row["facts_s"] / size, 1)
            row["setup_ms_per_host"] = round(1000 * row["setup_s"] / size, 1)
            row["ratio"] = round(row["facts_s"] / row["setup_s"], 3)
            rows.append(row)
            print("  hosts %4d forks %3d: facts %7.1f s (%6.1f ms/host)  setup(network) %7.1f s "
                  "(%6.1f ms/host)  facts/setup %.2f  [load %.1f]" % (
                      size, forks, row["facts_s"], row["facts_ms_per_host"], row["setup_s"],
                      row["setup_ms_per_host"], row["ratio"], os.getloadavg()[0]), flush=True)
        shutil.rmtree(fleet_dir, ignore_errors=True)
    return rows


def rerun(tmp, hosts, forks):
    fleet_dir = os.path.join(tmp, "fleet-rerun")
    demo_fleet.build_fleet(fleet_dir, count=hosts)
    cases = demo_fleet.fleet_hosts(hosts)
    env = environment(tmp, fleet_dir, forks)
    env["ANSIBLE_INVENTORY"] = os.path.join(fleet_dir, "inventory", "10-fleet.yml")
    out = {}
    for label in ("first", "rerun"):
        wall, data = playbook(env, ["hyperv.netvsc.site"],
                              os.path.join(tmp, "count-%s.json" % label))
        managed = [h for h, c in data["hosts"].items() if c["modules"] > 0]
        per_host = sorted(data["hosts"][h]["modules"] for h in managed)
        changed = sum(c["changed"] for c in data["hosts"].values())
        by_case = {}
        for host in managed:
            by_case.setdefault(cases[host][0], set()).add(data["hosts"][host]["modules"])
        out[label] = {"wall_s": round(wall, 2), "modules_per_host_max": max(per_host or [0]),
                      "modules_per_host_median": per_host[len(per_host) // 2] if per_host else 0,
                      "modules_by_case": dict((c, sorted(n)) for c, n in sorted(by_case.items())),
                      "changed": changed, "hosts": len(data["hosts"])}
        print("  %-5s run on %d hosts (forks %d): %6.1f s; module runs per host median %d, max %d; "
              "changed results %d  [load %.1f]" % (
                  label, hosts, forks, wall, out[label]["modules_per_host_median"],
                  out[label]["modules_per_host_max"], changed, os.getloadavg()[0]), flush=True)
        print("        module runs per host by case: %s" % ", ".join(
            "%s %s" % (c, "/".join(map(str, n))) for c, n in sorted(out[label]["modules_by_case"].items())))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="fleet-scale benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--forks", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--rerun-hosts", type=int, default=50)
    parser.add_argument("--rerun-forks", type=int, default=10)
    parser.add_argument("--skip-facts", action="store_true")
    parser.add_argument("--skip-rerun", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    tmp = tempfile.mkdtemp(prefix="netvsc-fleet-bench-", dir=shm)
    result = {"cpus": os.cpu_count(), "load_start": os.getloadavg()[0]}
    try:
        if not args.skip_facts:
            print("facts vs setup(network), one run per line, same hosts (%d CPUs):" % os.cpu_count())
            rows = facts_scale(tmp, args.sizes, args.forks)
            result["facts"] = rows
            for forks in args.forks:
                per = [r["facts_ms_per_host"] for r in rows if r["forks"] == forks]
                if len(per) > 1:
                    print("  forks %d: facts ms/host across sizes %s (linear if about constant)"
                          % (forks, per))
        if not args.skip_rerun:
            print("role rerun (no change) on %d hosts:" % args.rerun_hosts)
            result["rerun"] = rerun(tmp, args.rerun_hosts, args.rerun_forks)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result["load_end"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
