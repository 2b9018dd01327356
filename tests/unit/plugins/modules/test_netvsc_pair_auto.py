# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netvsc_pair driver=auto (Microsoft's guidance, _mode.choose) on fixture hosts with the
operating-system trees of real DPDK layouts, and the same VM going from an mlx5 VF to a MANA
VF: what the next run declares, binds and renders."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils._mode import FAILSAFE_OVER_MANA
from ansible_collections.hyperv.netvsc.plugins.modules import netvsc_failsafe
from ansible_collections.hyperv.netvsc.tests.fixtures import os_tree
from ansible_collections.hyperv.netvsc.tests.fixtures.cases import CASES
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import add_vf, remove_vf
from ansible_collections.hyperv.netvsc.tests.unit.plugins.modules.test_netvsc_pair import (  # noqa: F401  pylint: disable=unused-import
    ETH1_GUID, ETH1_ID, ETH1_MAC, Env, commands, run)
from ansible_collections.hyperv.netvsc.tests.unit.plugins.modules.utils import run_module

MICROSOFT = "which Microsoft recommends from DPDK 22.11 on"
OLD_DPDK = dict(os_tree.PRESETS["debian12"], dpdk=dict(os_tree.PRESETS["debian12"]["dpdk"],
                                                       version="21.11.7", abi="22.0"))


@pytest.fixture
def host(tmp_path, commands):
    """host(os preset or spec, case) -> (Env, readiness root)."""
    def make(system, case="cx5_4nic"):
        return Env(tmp_path, case), os_tree.build(system, str(tmp_path / "os"))
    return make


def test_auto_binds_for_the_netvsc_pmd_where_dpdk_has_it(host, capsys):
    env, root = host("debian12")
    result = run(capsys, env.args(pairings=[{"netvsc": "eth1"}], driver="auto", readiness_root=root))
    assert result["rc"] == 0, result
    (pair,) = result["pairs"]
    assert (pair["mode"], pair["mode_reason"]) == (
        "netvsc_pmd", "DPDK 22.11.11 has the netvsc PMD, " + MICROSOFT)
    assert pair["declaration"]["driver"] == "uio_hv_generic"
    assert env.driver_file("hv_netvsc", "unbind") == ETH1_GUID + "\n"  # the sandbox's driver files


def test_auto_keeps_hv_netvsc_where_dpdk_is_older(host, capsys):
    env, root = host(OLD_DPDK)
    result = run(capsys, env.args(pairings=[{"netvsc": "eth1"}], driver="auto", readiness_root=root))
    (pair,) = result["pairs"]
    assert (pair["declaration"]["driver"], pair["mode"]) == ("hv_netvsc", "failsafe")
    assert pair["mode_reason"].startswith("DPDK 21.11.7 is older than 22.11")
    assert env.written() == {}


def test_auto_never_binds_a_netvsc_that_carries_the_management_connection(host, capsys):
    env, root = host("debian13")
    result = run(capsys, env.args(pairings=[{"netvsc": "eth0", "allow_management": True},
                                            {"netvsc": "eth1", "driver": "hv_netvsc"}],
                                  driver="auto", readiness_root=root))
    assert result["rc"] == 0, result
    eth0, eth1 = result["pairs"]
    assert (eth0["declaration"]["driver"], eth0["mode"]) == ("hv_netvsc", "failsafe")
    assert eth0["mode_reason"].startswith("eth0 is management (eth0 holds the IPv4 default route")
    assert (eth1["declaration"]["driver"], eth1["mode"]) == ("hv_netvsc", None)  # named: kept


def test_a_mana_vf_on_a_netvsc_that_may_not_be_bound_is_refused(tmp_path, commands, capsys):
    env = Env(tmp_path, "mana_shared_pci")
    root = os_tree.build("debian13", str(tmp_path / "os"))
    result = run(capsys, env.args(pairings=[{"netvsc": "eth0", "allow_management": True}],
                                  driver="auto", readiness_root=root))
    assert result["rc"] == 1
    assert result["msg"].startswith("Refusing eth0, nothing was changed: pairing 00224871c28c: its VF "
                                    "7870:00:00.0 is a MANA device, which needs the netvsc PMD")
    assert result["msg"].endswith("but eth0 is management (eth0 holds the IPv4 default route "
                                  "(table main)); or name its driver on its item.")
    assert env.declarations() == {}


def test_automatic_selection_is_in_the_natural_order_of_names(tmp_path, commands, capsys, monkeypatch):
    spec = {"gen": 2, "netvsc": [{"name": name, "mac": "00:0d:3a:00:00:%02x" % number}
                                 for number, name in ((10, "eth10"), (2, "eth2"), (9, "eth9"))]}
    monkeypatch.setitem(CASES, "natural", spec)
    env = Env(tmp_path, "natural", addresses=False)
    result = run(capsys, env.args(auto=True))
    assert result["rc"] == 0, result
    assert [p["netvsc"]["name"] for p in result["pairs"]] == ["eth2", "eth9", "eth10"]


# ---------------------------------------------------------------------- mlx5 -> MANA

def failsafe(capsys, env, **kwargs):
    args = dict(sysfs_root=str(env.root), config_dir=str(env.config_dir), **kwargs)
    return run_module(netvsc_failsafe, capsys, args)


def test_the_vm_moves_from_mlx5_to_mana(tmp_path, commands, capsys):
    """Deallocated and started again on MANA hardware (Azure, since 2026-05): the next run
    switches auto's pairing to the netvsc PMD with the MANA arguments; a fail-safe mode asked
    for by name is no longer valid and says so."""
    spec = copy.deepcopy(CASES["cx5_4nic"])
    env = Env(tmp_path, "cx5_4nic")
    root = os_tree.build("debian13", str(tmp_path / "os"))
    first = run(capsys, env.args(pairings=[{"netvsc": "eth1", "id": "dpdk0", "driver": "hv_netvsc"}]))
    assert first["rc"] == 0, first
    assert failsafe(capsys, env)["mode"] == {"dpdk0": "failsafe"}
    rule = env.rule_path("dpdk0").read_text()
    assert 'DRIVERS=="mana", RUN{builtin}+="kmod load mana_ib ib_uverbs"' in rule  # every kind

    # The mlx5 VF is gone; a MANA vPort with eth1's MAC is there.
    (mlx5,) = [vf["name"] for vf in spec["vfs"] if vf["master"] == "eth1"]
    remove_vf(str(env.root), mlx5)
    add_vf(str(env.root), "eth1", {"kind": "mana", "domain": 0x7870})

    stale = failsafe(capsys, env)  # the declared mode, fail-safe, is no longer valid
    assert stale["rc"] == 1
    assert stale["msg"].startswith("pairing dpdk0: mode failsafe is not valid for it: its VF "
                                   "7870:00:00.0 is a MANA device")
    declared = failsafe(capsys, env, mode="auto", readiness_root=root)  # hv_netvsc declared
    assert declared["rc"] == 1 and "pair it again with driver auto" in declared["msg"]
    assert FAILSAFE_OVER_MANA in declared["msg"]

    # The next run: auto binds eth1 for the netvsc PMD, because its VF is MANA now.
    again = run(capsys, env.args(pairings=[{"netvsc": "eth1", "id": "dpdk0"}], driver="auto",
                                 readiness_root=root))
    assert again["rc"] == 0, again
    (pair,) = again["pairs"]
    assert (pair["mode"], pair["declaration"]["driver"]) == ("netvsc_pmd", "uio_hv_generic")
    assert pair["mode_reason"] == "its VF is a MANA device: Microsoft supports only the netvsc PMD on MANA"
    assert env.driver_file("uio_hv_generic", "bind") == ETH1_GUID + "\n"
    assert env.rule_path("dpdk0").read_text() == rule  # the same udev rule loads mana_ib

    rendered = failsafe(capsys, env, mode="auto", readiness_root=root, dest=str(tmp_path / "eal.env"),
                        format="env", units=["dpdk-app.service"], units_dir=str(tmp_path / "system"))
    assert rendered["rc"] == 0, rendered
    assert rendered["eal_args"] == ["--vdev", "7870:00:00.0,mac=%s" % ETH1_MAC]
    assert rendered["pairs"]["dpdk0"]["mode"] == "netvsc_pmd" and rendered["monitor_needed"] is False
    assert rendered["ports"][0]["device"] == ETH1_GUID
    dropin = (tmp_path / "system" / "dpdk-app.service.d" / "50-hyperv-netvsc.conf").read_text()
    assert "in %s) ip link set dev" % ETH1_MAC in dropin and "netvsc-monitor" not in dropin
    assert json.loads((env.config_dir / "dpdk0.json").read_text())["driver"] == "uio_hv_generic"
