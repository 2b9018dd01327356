# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Facts in inventories: ansible_facts_modules [setup, netvsc_facts] fill a jsonfile fact
cache; the ansible.builtin.constructed inventory builds groups from the cached facts."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.hyperv.netvsc.demo import fleet as demo_fleet
from ansible_collections.hyperv.netvsc.tests.integration.fleet.harness import ROOT, ansible_env, run, tool

# The Legacy Network Adapter (hv-gen1-01), the InfiniBand VF (az-hpc-01) and vmxnet3 are no
# unpaired VFs; a MANA function without a driver leaves its DPDK candidate without a VF.
EXPECTED = {
    "netvsc_no_hyperv": ["kvm-01", "vmware-01"],
    "netvsc_vf_mana": ["az-mana-01", "az-mana-02"],
    "netvsc_vf_mlx4": ["az-mlx4-01"],
    "netvsc_vf_missing": ["az-ambiguous-01", "az-mana-nodrv-01", "az-servicing-01"],
    "netvsc_vf_unpaired": ["az-ambiguous-01", "az-uio-01"],
    "netvsc_uio": ["az-uio-01"],
}


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory, collections_path):
    path = str(tmp_path_factory.mktemp("inventory-fleet"))
    demo_fleet.build_fleet(path)
    return path, ansible_env(path, collections_path)


def groups(env):
    proc = run([tool("ansible-inventory"), "--list", "--export"], env)
    inv = json.loads(proc.stdout[proc.stdout.index("{"):])
    return dict((g, sorted(v.get("hosts", []))) for g, v in inv.items() if g.startswith("netvsc_"))


def test_no_groups_before_facts_are_cached(fleet_dir):
    _path, env = fleet_dir
    found = groups(env)
    assert set(found) <= {"netvsc_hosts", "netvsc_observed"}, found


def test_gather_facts_modules_fill_the_cache_and_constructed_groups(fleet_dir, demo_hosts):
    path, env = fleet_dir
    run([tool("ansible-playbook"), os.path.join(ROOT, "demo", "gather.yml")], env)

    # What the jsonfile cache stores: the modules' raw keys (setup's ansible_* and our `netvsc`,
    # not ansible_facts.netvsc). ansible-core 2.19 names the files s1_<host> and wraps the
    # facts in {"__payload__": "<json>"}; older cores write the facts dict as <host>.
    cache = os.path.join(path, "facts")
    names = sorted(os.listdir(cache))
    assert len(names) == len(demo_hosts)
    with open(os.path.join(cache, [n for n in names if n.endswith("az-cx5-01")][0])) as handle:
        stored = json.load(handle)
    if "__payload__" in stored:
        stored = json.loads(stored["__payload__"])
    assert stored["netvsc"]["hyperv"] is True
    assert "ansible_facts" not in stored and "ansible_netvsc" not in stored
    assert "ansible_interfaces" in stored  # setup ran in the same gather_facts step
    assert stored["netvsc"]["interfaces"]["eth1"]["vf"]["pci_address"] == "a2a3:00:02.0"

    found = groups(env)
    for group, hosts in EXPECTED.items():
        assert found.get(group) == hosts, (group, found.get(group))
    assert found["netvsc_hyperv"] == sorted(h for h in demo_hosts if h not in EXPECTED["netvsc_no_hyperv"])
    assert "az-cx5-01" in found["netvsc_vf_mlx5"] and "az-mana-01" not in found["netvsc_vf_mlx5"]

    graph = run([tool("ansible-inventory"), "--graph"], env).stdout
    for group in EXPECTED:
        assert "@%s:" % group in graph

    # The groups work as play targets.
    listed = run([tool("ansible"), "netvsc_vf_missing:&netvsc_hosts", "--list-hosts"], env).stdout
    assert "az-servicing-01" in listed and "kvm-01" not in listed
