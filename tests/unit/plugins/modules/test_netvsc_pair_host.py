# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netvsc_pair taking the whole host in one call: a list of pairings, automatic selection,
exclusive mode, the management guard on real topologies (the guard_* fixture cases), and
"plan everything, change nothing when anything is refused"."""

from __future__ import annotations

import hashlib
import json

import pytest

# commands, env and real_system are fixtures: pytest finds them in this module's namespace.
from ansible_collections.hyperv.netvsc.tests.unit.plugins.modules.test_netvsc_pair import (  # noqa: F401  pylint: disable=unused-import
    ETH1_GUID, ETH1_MAC, Env, commands, env, real_system, run, uio_env)

GUARD = {"eth0": "00:0d:3a:5e:00:00", "eth1": "00:0d:3a:5e:00:01", "eth2": "00:0d:3a:5e:00:02"}
HINT = "set allow_management: true on its item if you really mean it"


def state(env):
    """sha256 of every file the module may write (declarations, rules, driver files)."""
    found = {}
    for base in (env.config_dir.parent.parent, env.root / "bus" / "vmbus" / "drivers"):
        if base.exists():
            for path in sorted(base.rglob("*")):
                if path.is_file():
                    found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def ids(result):
    return [p["id"] for p in result["pairs"]]


# -- the list form ----------------------------------------------------------------------------

def test_a_list_keeps_its_order_and_takes_any_mac_form(env, capsys):
    pairings = [{"netvsc": "eth3", "id": "port0"},
                {"netvsc": "00-0D-3A-03-1E-B1", "id": "port1"},  # eth1, as Azure shows it
                {"name": "000D3A0318C9", "id": "port2"}]          # eth2, bare, upper case
    before = state(env)
    check = run(capsys, env.args(pairings=pairings), check_mode=True, diff=True)
    assert check["rc"] == 0 and check["changed"] is True and ids(check) == ["port0", "port1", "port2"]
    assert state(env) == before
    result = run(capsys, env.args(pairings=pairings))
    assert result["rc"] == 0, result
    assert ids(result) == ["port0", "port1", "port2"]
    assert [p["netvsc"]["name"] for p in result["pairs"]] == ["eth3", "eth1", "eth2"]
    assert result["pairs"][1]["declaration"]["netvsc"]["mac"] == ETH1_MAC
    assert sorted(env.declarations()) == ["port0.json", "port1.json", "port2.json"]
    assert result["vf_policy_changed"] == ["00:0d:3a:03:18:c9", "00:0d:3a:03:19:f7", ETH1_MAC]
    assert "pair" not in result  # only with netvsc
    again = run(capsys, env.args(pairings=pairings), check_mode=True, diff=True)
    assert again["changed"] is False and "diff" not in again and again["vf_policy_changed"] == []


def test_every_refused_netvsc_is_listed_and_nothing_is_changed(env, capsys):
    run(capsys, env.args(pairings=[{"netvsc": "eth3", "id": "keep"}]))
    before = state(env)
    result = run(capsys, env.args(pairings=[
        {"netvsc": "eth1"},                                   # fine
        {"netvsc": "eth0", "force": True},                    # management: force is not enough
        {"netvsc": "eth9"},                                   # no such NetVSC
        {"netvsc": "enP41635s2"},                             # a VF
        {"netvsc": "eth2", "id": "keep"},                     # id of another NetVSC
        {"netvsc": "00:0d:3a:03:1e:b1", "id": "again"},       # eth1 twice
    ], exclusive=True))
    assert result["rc"] == 1
    assert result["msg"].startswith("Refusing 5 of 6 pairings, nothing was changed: eth0: eth0 holds "
                                    "the IPv4 default route (table main); " + HINT + ".")
    assert [r["netvsc"] for r in result["refused"]] == [
        "eth0", "eth9", "enP41635s2", "eth2", "00:0d:3a:03:1e:b1"]
    reasons = dict((r["netvsc"], " ".join(r["reasons"])) for r in result["refused"])
    assert reasons["eth9"].startswith("unknown interface eth9; NetVSC interfaces on this host: eth0")
    assert reasons["enP41635s2"] == "enP41635s2 is the VF of eth1; pass eth1"
    assert reasons["eth2"].startswith("pairing id keep is declared for another NetVSC")
    assert reasons["00:0d:3a:03:1e:b1"] == "eth1 is listed twice (items 1 and 6)"
    assert state(env) == before


def test_id_given_twice_is_refused(env, capsys):
    before = state(env)
    result = run(capsys, env.args(pairings=[{"netvsc": "eth1", "id": "a"}, {"netvsc": "eth2", "id": "a"}]))
    assert result["rc"] == 1 and result["refused"] == [
        {"netvsc": "eth2", "reasons": ["pairing id a is given twice (items 1 and 2)"]}]
    assert state(env) == before


def test_item_options_override_the_defaults(env, capsys, real_system):
    result = run(capsys, env.args(pairings=[{"netvsc": "eth1", "require_vf": False},
                                            {"netvsc": "eth2", "driver": "hv_netvsc"}],
                                  driver="uio_hv_generic", require_vf=True))
    assert result["rc"] == 0, result
    first, second = (p["declaration"] for p in result["pairs"])
    assert (first["driver"], first["require_vf"]) == ("uio_hv_generic", False)
    assert (second["driver"], second["require_vf"]) == ("hv_netvsc", True)


def test_single_pairing_options_are_refused_with_a_list(env, capsys):
    before = state(env)
    for extra in ({"force": True}, {"allow_management": True}, {"id": "x"}):
        result = run(capsys, env.args(pairings=[{"netvsc": "eth1"}], **extra))
        assert result["rc"] == 1 and "options of one pairing, only with netvsc" in result["msg"]
    result = run(capsys, env.args(netvsc="eth1", auto=True))
    assert result["rc"] == 1 and "mutually exclusive" in result["msg"]
    result = run(capsys, env.args(auto=True, state="absent"))
    assert result["rc"] == 1 and "only for state=present" in result["msg"]
    assert state(env) == before


# -- exclusive ------------------------------------------------------------------------------------

def test_exclusive_removes_what_is_not_listed(env, capsys):
    run(capsys, env.args(pairings=[{"netvsc": "eth1"}, {"netvsc": "eth2"}, {"netvsc": "eth3"}]))
    env.config_dir.joinpath("notes.txt").write_text("mine")
    env.config_dir.joinpath("broken.json").write_text("{")
    result = run(capsys, env.args(pairings=[{"netvsc": "eth2"}], exclusive=True), diff=True)
    assert result["rc"] == 0 and result["changed"] is True, result
    assert [r["id"] for r in result["removed"]] == ["000d3a0319f7", "000d3a031eb1"]  # by id
    assert sorted(env.declarations()) == ["000d3a0318c9.json", "broken.json", "notes.txt"]
    assert sorted(env.policy()) == ["01-hyperv-netvsc-vf-000d3a0318c9.network",
                                    "90-hyperv-netvsc-vf-000d3a0318c9.rules"]
    assert result["vf_policy_changed"] == ["00:0d:3a:03:19:f7", ETH1_MAC]
    assert any("broken.json" in w for w in result["warnings"])
    everything = run(capsys, env.args(pairings=[], exclusive=True))
    assert [r["id"] for r in everything["removed"]] == ["000d3a0318c9"]
    assert sorted(env.declarations()) == ["broken.json", "notes.txt"] and env.policy() == {}
    assert run(capsys, env.args(pairings=[], exclusive=True))["changed"] is False


def test_exclusive_gives_a_uio_netvsc_back_to_hv_netvsc(tmp_path, capsys, commands):
    env = uio_env(tmp_path)
    result = run(capsys, env.args(pairings=[], exclusive=True))
    assert result["rc"] == 0 and result["changed"] is True, result
    assert env.written()["hv_netvsc/bind"] == ETH1_GUID + "\n"
    assert env.declarations() == {} and env.policy() == {}
    assert not (env.udev_dir / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID)).exists()


def test_exclusive_replaces_the_id_of_a_netvsc(tmp_path, capsys, commands):
    """eth1 (on uio_hv_generic) declared as 000d3a031eb1, now wanted as dpdk0: the old files
    go, the binding stays (no unbind and rebind)."""
    env = uio_env(tmp_path)
    refused = run(capsys, env.args(pairings=[{"netvsc": "eth1", "id": "dpdk0", "driver": "uio_hv_generic"}]))
    assert refused["rc"] == 1 and "already declared as pairing 000d3a031eb1" in refused["msg"]
    result = run(capsys, env.args(pairings=[{"netvsc": "eth1", "id": "dpdk0", "driver": "uio_hv_generic"}],
                                  exclusive=True))
    assert result["rc"] == 0, result
    assert sorted(env.declarations()) == ["dpdk0.json"]
    assert [r["id"] for r in result["removed"]] == ["000d3a031eb1"]
    # No unbind and rebind; the boot-time rule only gets the new pairing id in its comment.
    rule = env.udev_dir / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID)
    assert env.written() == {} and result["pairs"][0]["binding_steps"] == ["write %s" % rule]
    assert "(pairing dpdk0)" in rule.read_text()


# -- the management guard on real topologies --------------------------------------------------------

@pytest.mark.parametrize("case, reason", [
    ("guard_bridge", "eth1 is a port of bridge br0, which holds the IPv4 default route (table main)"),
    ("guard_vlan", "eth1 is the lower device of VLAN eth1.100, which holds the IPv4 default route"),
    ("guard_bond", "eth1 is a port of bond bond0, which holds the IPv4 default route"),
    ("guard_macvlan", "eth1 is the lower device of macvlan mv0, which holds the IPv4 default route"),
    ("guard_vf_address", "eth1's VF enP2561s1 holds the IPv4 default route"),
    ("guard_ipv6_only", "eth1 holds the IPv6 default route"),
    ("guard_policy", "eth1 holds the IPv4 default route (table 100)"),
    ("guard_ssh_secondary", "eth1 holds 10.1.0.5, the local address of the SSH connection from 198.51.100.7"),
    ("guard_vrf", "eth1 is a port of VRF vrf0, which holds the IPv4 default route (table 10)"),
    ("guard_stacked", "eth1 is a port of bond bond0, which is the lower device of VLAN bond0.10, "
                      "which is a port of bridge br0, which holds the IPv4 default route"),
])
def test_management_topologies(tmp_path, capsys, commands, case, reason):
    env = Env(tmp_path, case)
    before = state(env)
    for item in ({"netvsc": "eth1"}, {"netvsc": "eth1", "force": True}):
        result = run(capsys, env.args(pairings=[item, {"netvsc": "eth2", "force": True}]))
        assert result["rc"] == 1, result
        assert [r["netvsc"] for r in result["refused"]] == ["eth1"]
        assert any(r.startswith(reason) and r.endswith(HINT) for r in result["refused"][0]["reasons"]), result
        assert state(env) == before
    auto = run(capsys, env.args(auto=True), check_mode=True)
    assert auto["rc"] == 0, auto
    assert "eth1" in [s["netvsc"] for s in auto["left_alone"]]
    assert "eth1" not in [p["netvsc"]["name"] for p in auto["pairs"]]
    allowed = run(capsys, env.args(pairings=[{"netvsc": "eth1", "allow_management": True}]))
    assert allowed["rc"] == 0 and allowed["changed"] is True, allowed


def test_traffic_without_management_needs_force(tmp_path, capsys, commands):
    """guard_policy: eth2 has an address, its default route is in a table no rule looks up."""
    env = Env(tmp_path, "guard_policy")
    result = run(capsys, env.args(netvsc="eth2"))
    assert result["rc"] == 1 and result["refused"][0]["reasons"] == [
        "eth2 carries traffic: it or a device above it (eth2, enP2562s2) has addresses; set force: "
        "true on its item to pair it anyway"]
    assert run(capsys, env.args(netvsc="eth2", force=True))["rc"] == 0


def test_the_ssh_connection_from_the_environment_counts(tmp_path, capsys, commands, monkeypatch):
    env = Env(tmp_path, "guard_bridge")
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.9 50000 10.9.9.9 22")
    result = run(capsys, env.args(netvsc="eth2"))
    assert result["rc"] == 0, result  # 10.9.9.9 is nobody's address here: eth2 stays free


# -- automatic selection ------------------------------------------------------------------------------

def test_auto_pairs_every_netvsc_that_carries_no_traffic(env, capsys):
    result = run(capsys, env.args(auto=True, exclusive=True))
    assert result["rc"] == 0, result
    assert [p["netvsc"]["name"] for p in result["pairs"]] == ["eth1", "eth2", "eth3"]
    assert result["left_alone"] == [{"netvsc": "eth0", "reasons": ["eth0 holds the IPv4 default route (table main)"]}]
    again = run(capsys, env.args(auto=True, exclusive=True))
    assert again["changed"] is False


def test_auto_keeps_the_ids_and_the_declarations_of_absent_netvscs(env, capsys):
    run(capsys, env.args(pairings=[{"netvsc": "eth1", "id": "dpdk0"}]))
    gone = {"driver": "hv_netvsc", "force": False, "format": 1, "id": "gone", "require_vf": False,
            "netvsc": {"mac": "00:0d:3a:99:99:99", "name": "eth9",
                       "vmbus_id": "000d3a99-9999-000d-3a99-9999000d3a99"}}
    env.config_dir.joinpath("gone.json").write_text(json.dumps(gone))
    result = run(capsys, env.args(auto=True, exclusive=True))
    assert result["rc"] == 0, result
    assert ids(result) == ["dpdk0", "000d3a0318c9", "000d3a0319f7"]
    assert result["removed"] == [] and "gone.json" in env.declarations()
    listed = run(capsys, env.args(pairings=[{"netvsc": "eth1"}], exclusive=True))
    assert [r["id"] for r in listed["removed"]] == ["000d3a0318c9", "000d3a0319f7", "gone"]


def test_auto_skips_a_uio_netvsc_without_a_recorded_mac(tmp_path, capsys, commands):
    env = Env(tmp_path, "uio_bound")
    result = run(capsys, env.args(auto=True))
    assert result["rc"] == 0, result
    assert [s["netvsc"] for s in result["left_alone"] if "no declaration recorded its MAC" in s["reasons"][0]] == [ETH1_GUID]


# -- absent with a list, non Hyper-V ----------------------------------------------------------------

def test_absent_with_a_list(env, capsys):
    run(capsys, env.args(pairings=[{"netvsc": "eth1", "id": "a"}, {"netvsc": "eth2", "id": "b"},
                                   {"netvsc": "eth3", "id": "c"}]))
    result = run(capsys, env.args(pairings=[{"netvsc": "eth1"}, {"netvsc": "eth3", "id": "c"}], state="absent"))
    assert result["rc"] == 0 and [r["id"] for r in result["removed"]] == ["a", "c"]
    assert sorted(env.declarations()) == ["b.json"]


def test_non_hyperv_skip(tmp_path, capsys, commands):
    env = Env(tmp_path, "kvm_virtio")
    assert run(capsys, env.args(auto=True))["rc"] == 1
    result = run(capsys, env.args(auto=True, non_hyperv="skip"))
    assert result["rc"] == 0 and result["hyperv"] is False and result["changed"] is False


def test_manifest_records_the_declarations_and_policy_files(env, capsys):
    manifest = env.config_dir.parent / "manifest.json"
    result = run(capsys, env.args(pairings=[{"netvsc": "eth1"}], manifest=str(manifest)))
    assert result["rc"] == 0, result
    recorded = json.loads(manifest.read_text())
    assert recorded["files"] == sorted([str(env.config_dir / "000d3a031eb1.json"), str(env.rule_path()),
                                        str(env.network_path())])
    assert str(env.config_dir) in recorded["directories"] and str(env.udev_dir) in recorded["directories"]
