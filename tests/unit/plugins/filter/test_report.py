# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's rules (plugins/filter/report.py) on facts from real scans of fixture trees."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from ansible_collections.hyperv.netvsc.plugins.filter import report as rules
from ansible_collections.hyperv.netvsc.plugins.filter.report import (
    NOT_APPLICABLE, OK, PROBLEM, WARNING, FilterModule, monitor_state, natural_key, report,
    report_rows)
from ansible_collections.hyperv.netvsc.plugins.module_utils._mode import FAILSAFE_OVER_MANA
from ansible_collections.hyperv.netvsc.plugins.module_utils._readiness import readiness
from ansible_collections.hyperv.netvsc.plugins.module_utils._scan import scan
from ansible_collections.hyperv.netvsc.tests.fixtures import os_tree
from ansible_collections.hyperv.netvsc.tests.fixtures.cases import CASES
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import (
    build, write_simulated_network)

NOW = 1_800_000_000.0
PATH = "/run/netvsc/state.json"


@pytest.fixture
def facts(tmp_path):
    """facts(case, os preset=None, **spec overrides) -> ansible_facts.netvsc of a real scan."""
    def make(case, system=None, **overrides):
        spec = dict(copy.deepcopy(CASES[case]), **overrides)
        root = build(spec, str(tmp_path / ("sys-" + case)))
        write_simulated_network(spec, root)
        snap = scan(root)
        found = snap.facts()
        if system is not None and snap.hyperv:
            found["readiness"] = readiness(snap.interfaces, os_tree.build(
                system, str(tmp_path / ("os-" + case))), root, "x86_64")
        return found
    return make


def slurped(state):
    """A successful slurp result of state (a dict, or raw bytes)."""
    raw = state if isinstance(state, bytes) else json.dumps(state).encode()
    return {"content": base64.b64encode(raw).decode(), "encoding": "base64", "source": PATH}


def failed(msg):
    return {"failed": True, "msg": msg}


def state(pairs, updated_at=NOW - 10):
    return slurped({"format": 1, "pairs": pairs, "updated_at": updated_at, "counters": {}})


def pair(mac, vf, netvsc="eth1", changed_at=NOW - 100, changes=3):
    return {"netvsc": netvsc, "mac": mac, "vf": vf, "vf_name": None, "kind": "mlx5",
            "changed_at": changed_at, "changes": changes}


def rows_of(found, result=None, **kwargs):
    kwargs.setdefault("now", NOW)
    return dict(((row["netvsc"] or row["vf"] or "-"), row)
                for row in report_rows(found, "h1", result, state_path=PATH, **kwargs))


CX5_ETH1 = pair("00:0d:3a:03:1e:b1", "a2a3:00:02.0")


def declaration(pair_id, nic, driver):
    """A pairing declaration of nic (a fact dict), as netvsc_facts returns it."""
    return {"format": 1, "id": pair_id, "driver": driver, "force": False, "require_vf": False,
            "netvsc": {"mac": nic["mac"], "name": nic["name"], "vmbus_id": nic["vmbus_id"]}}


# ------------------------------------------------------------------- severity and notes


def test_healthy_declared_pairing_is_ok(facts):
    row = rows_of(facts("cx5_4nic"), state({"eth1": CX5_ETH1}))["eth1"]
    assert (row["severity"], row["problems"], row["monitor"], row["pair_id"]) == (OK, [], "running", "eth1")
    assert (row["vf"], row["kind"], row["pci_address"], row["paired_by"]) == (
        "enP41635s2", "mlx5", "a2a3:00:02.0", "kernel")
    assert row["last_vf_change"] == "2027-01-15 07:58:20 UTC" and row["vf_changes"] == 3


def test_routed_management_nic_is_not_declared_and_ok(facts):
    row = rows_of(facts("cx5_4nic"), state({"eth1": CX5_ETH1}))["eth0"]
    assert (row["severity"], row["monitor"], row["addresses"]) == (OK, "running, not declared", ["10.0.0.5/24"])


def test_not_a_hyperv_guest_is_not_applicable_not_a_problem(facts):
    (row,) = report_rows(facts("kvm_virtio"), "kvm-01", failed("File not found: " + PATH))
    assert (row["severity"], row["monitor"], row["hyperv"]) == (NOT_APPLICABLE, "n/a", False)
    assert row["problems"] == ["not applicable: not a Hyper-V/Azure guest (no VMBus)"]


def test_no_facts_is_a_problem():
    (row,) = report_rows({}, "h1")
    assert (row["severity"], row["problems"]) == (PROBLEM, ["no NetVSC facts"])


def test_hyperv_guest_without_netvsc(facts):
    found = facts("cx4lx")
    found["interfaces"] = {}
    (row,) = report_rows(found, "h1", state({}), now=NOW)
    assert (row["severity"], row["problems"]) == (PROBLEM, ["Hyper-V guest without any NetVSC"])


def test_servicing_missing_vf(facts):
    row = rows_of(facts("vf_absent_servicing"), state({"eth1": pair("00:0d:3a:f5:81:02", None)}))["eth1"]
    assert row["severity"] == PROBLEM
    assert row["problems"] == ["no VF: Accelerated Networking off, or VF removed (host servicing)"]


def test_ambiguous_mac_names_the_vfs(facts):
    rows = rows_of(facts("ambiguous_macs"), state({}))
    assert rows["eth1"]["problems"][0] == (
        "no VF paired: 2 VFs (enP12161s3, enP41635s2) and 1 NetVSC carry MAC 00:0d:3a:03:1e:b1")
    for name in ("enP12161s3", "enP41635s2"):
        assert rows[name]["severity"] == PROBLEM and rows[name]["paired_by"] == "unpaired"
        assert rows[name]["problems"] == [
            "unpaired VF: 2 VFs (enP12161s3, enP41635s2) and 1 NetVSC carry MAC 00:0d:3a:03:1e:b1"]


def test_vf_function_without_driver_is_the_cause(facts):
    rows = rows_of(facts("mana_no_driver"), state({}))
    assert rows["eth1"]["problems"][0] == "no VF netdev: the MANA PCI function 7870:00:00.0 has no driver bound"
    assert rows["eth0"]["severity"] == WARNING  # routed: left alone


def test_vf_function_bound_without_netdev(facts):
    found = facts("mana_no_driver")
    found["vf_functions_without_netdev"][0]["driver"] = "vfio-pci"
    assert rows_of(found, state({}))["eth1"]["problems"][0] == (
        "no VF netdev: the MANA PCI function 7870:00:00.0 is bound to vfio-pci without a netdev")


def test_uio_bound_netvsc_and_its_unpaired_vf_are_warnings(facts):
    rows = rows_of(facts("uio_bound"), state({}))
    uio = [row for row in rows.values() if row["driver"] == "uio_hv_generic"]
    assert len(uio) == 1 and uio[0]["severity"] == WARNING
    assert uio[0]["problems"] == ["bound to uio_hv_generic: the DPDK netvsc PMD pairs the VF itself"]
    (vf,) = [row for row in rows.values() if row["paired_by"] == "unpaired"]
    assert vf["severity"] == WARNING
    assert vf["problems"] == ["unpaired VF: no NetVSC carries its MAC 00:0d:3a:03:1e:b1; a NetVSC here "
                              "is bound to uio_hv_generic, whose netvsc PMD pairs it by MAC"]


# ------------------------------------------------------------------------- monitor state


@pytest.mark.parametrize("result, expected_state, note", [
    (failed("File not found: " + PATH), "absent", "monitor not running: no state.json at " + PATH),
    (failed("file not found: " + PATH), "absent", "monitor not running: no state.json at " + PATH),
    (failed("File is not readable: " + PATH), "unreadable",
     "monitor state unknown: cannot read %s: File is not readable: %s; %s" % (PATH, PATH, rules.BECOME_HINT)),
    (failed("Source is a directory and must be a file: " + PATH), "unreadable",
     "monitor state unknown: cannot read %s: Source is a directory and must be a file: %s" % (PATH, PATH)),
    (failed("Missing sudo password"), "unreadable",
     "monitor state unknown: cannot read %s: Missing sudo password" % PATH),
    (slurped(b"{not json"), "invalid", None),
    (slurped(b"[1, 2]"), "invalid", "monitor state unknown: %s is not the monitor's state (no pairs map)" % PATH),
    (slurped({"pairs": {}, "updated_at": "soon"}), "invalid",
     "monitor state unknown: %s has no valid updated_at" % PATH),
    (state({}, updated_at=NOW - 3600), "stale",
     "monitor not running: state.json last updated 2027-01-15 07:00:00 UTC, 3600 s ago (stale after 300 s)"),
])
def test_monitor_state_names_the_real_cause(facts, result, expected_state, note):
    row = rows_of(facts("vf_absent_servicing"), result)["eth1"]
    assert row["monitor"] in (expected_state, expected_state + ", not declared")
    notes = [p for p in row["problems"] if p.startswith("monitor")]
    assert len(notes) == 1 and row["severity"] == PROBLEM
    if note:
        assert notes[0] == note
    else:
        assert notes[0].startswith("monitor state unknown: %s is not valid JSON: " % PATH)


def test_one_shot_and_running_are_not_problems(facts):
    one_shot = rows_of(facts("cx5_4nic"), state({"eth1": CX5_ETH1}, updated_at=NOW - 99999), managed=False)
    assert (one_shot["eth1"]["monitor"], one_shot["eth1"]["severity"]) == ("one-shot", OK)
    assert monitor_state(state({}), now=NOW)["state"] == "running"
    assert monitor_state(None)["state"] == "unknown"


def test_pairings_join_netvscs_by_guid_too(facts):
    found = facts("uio_bound")
    (guid,) = [key for key, nic in found["interfaces"].items() if nic["name"] is None]
    record = dict(pair(None, None, netvsc=None), vmbus_id=guid)
    rows = rows_of(found, state({"dpdk0": record}))
    assert rows[guid]["pair_id"] == "dpdk0" and rows[guid]["monitor"] == "running"


def test_conflicting_pairing_is_a_problem_on_both_netvscs(facts):
    found = facts("cx5_4nic")
    record = dict(pair("00:0d:3a:03:1e:b1", None), vmbus_id=found["interfaces"]["eth2"]["vmbus_id"])
    rows = rows_of(found, state({"bad": record}))
    for name in ("eth1", "eth2"):
        assert rows[name]["pair_id"] is None and rows[name]["severity"] == PROBLEM
        (note,) = [p for p in rows[name]["problems"] if p.startswith("pairing bad:")]
        assert note.endswith("designates 2 NetVSCs: eth1 (by MAC), eth2 (by VMBus GUID); "
                             "the monitor publishes no VF for it")


def test_monitor_publishing_another_vf_is_a_warning(facts):
    row = rows_of(facts("cx5_4nic"), state({"eth1": pair("00:0d:3a:03:1e:b1", "b00c:00:02.0")}))["eth1"]
    assert (row["severity"], row["problems"]) == (WARNING, ["monitor publishes b00c:00:02.0, sysfs shows a2a3:00:02.0"])


# ------------------------------------------------------------------------------ readiness


def test_declared_pairing_not_ready_is_a_problem(facts):
    mac = CASES["mana_shared_pci"]["netvsc"][1]["mac"]
    found = facts("mana_shared_pci", "debian12", hugepages={"2048kB": {"nodes": [512]}})
    row = rows_of(found, state({"eth1": pair(mac, "7870:00:00.0,mac=" + mac)}))["eth1"]
    assert row["ready"] is False and row["severity"] == PROBLEM
    assert row["problems"][:2] == [
        "not ready for DPDK: MANA VF, but the installed DPDK 22.11.11 has no MANA PMD",
        "not ready for DPDK: MANA VF, but kernel 6.1.0-28-amd64 has no mana_ib module (MANA RDMA needs kernel >= 6.2)"]
    assert "DPDK: fail-safe over MANA is not supported: use the netvsc PMD" in row["problems"]


def test_undeclared_candidate_not_ready_is_a_warning_and_routed_nics_get_no_readiness_notes(facts):
    found = facts("cx5_4nic", "debian12")  # no hugepages
    rows = rows_of(found, state({}))
    assert rows["eth2"]["severity"] == WARNING and rows["eth2"]["ready"] is False
    assert rows["eth2"]["problems"] == ["not ready for DPDK: no hugepages are reserved (nr_hugepages is 0 for "
                                        "1048576kB, 2048kB)"]
    assert rows["eth0"]["problems"] == [] and rows["eth0"]["ready"] is False


def test_ready_pairing_without_vf_does_not_repeat_the_no_vf_note(facts):
    found = facts("vf_absent_servicing", "debian13", hugepages={"2048kB": {"nodes": [512]}})
    row = rows_of(found, state({"eth1": pair("00:0d:3a:f5:81:02", None)}))["eth1"]
    assert row["ready"] is True
    assert row["problems"] == ["no VF: Accelerated Networking off, or VF removed (host servicing)"]


def test_dpdk_mode_is_auto_per_microsoft_with_the_reason(facts):
    rows = rows_of(facts("cx5_4nic", "debian12", hugepages={"2048kB": {"nodes": [512]}}), state({}))
    assert (rows["eth2"]["dpdk_mode"], rows["eth2"]["dpdk_mode_reason"]) == (
        "netvsc_pmd", "DPDK 22.11.11 has the netvsc PMD, which Microsoft recommends from DPDK 22.11 on")
    assert rows["eth0"]["dpdk_mode"] is None  # routed: no DPDK candidate
    mana = rows_of(facts("mana_shared_pci", "debian13"), state({}))["eth1"]
    assert mana["dpdk_mode"] == "netvsc_pmd" and "MANA" in mana["dpdk_mode_reason"]


def test_declared_pairing_follows_its_driver(facts):
    found = facts("cx5_4nic", "debian12")
    found["declarations"] = {"dpdk0": declaration("dpdk0", found["interfaces"]["eth1"], "hv_netvsc")}
    row = rows_of(found, state({}))["eth1"]
    assert row["dpdk_mode"] == "failsafe"
    assert row["dpdk_mode_reason"].startswith("the NetVSC is declared with driver hv_netvsc (netvsc_pair")


def test_vf_became_mana_on_a_hv_netvsc_pairing_is_a_problem(facts):
    """mlx5 yesterday, MANA after a deallocate: the fail-safe pairing is no longer valid."""
    found = facts("mana_shared_pci", "debian13", hugepages={"2048kB": {"nodes": [512]}})
    found["declarations"] = {"dpdk0": declaration("dpdk0", found["interfaces"]["eth1"], "hv_netvsc")}
    row = rows_of(found, state({}))["eth1"]
    assert row["severity"] == PROBLEM and row["dpdk_mode"] is None
    assert [p for p in row["problems"] if p.startswith("DPDK mode: ")] == [
        "DPDK mode: pairing dpdk0: its VF 7870:00:00.0 is a MANA device, which needs the netvsc PMD "
        "and the NetVSC bound to uio_hv_generic (%s), but it is declared with driver hv_netvsc; pair "
        "it again with driver auto or uio_hv_generic (the failsafe role with netvsc_mode auto does "
        "so at its next run)" % FAILSAFE_OVER_MANA]


# ----------------------------------------------------------------------- the whole report


def test_report_orders_problems_first_in_natural_order_and_sums_up(facts):
    many = facts("cx5_4nic")
    many["interfaces"] = dict(("eth%d" % i, dict(many["interfaces"]["eth1"], name="eth%d" % i))
                              for i in (10, 2, 1))
    hosts = ["host10", "host2", "kvm-01", "down-1"]
    per_host = [report_rows(many, "host10", state({}), now=NOW),
                report_rows(many, "host2", state({}), now=NOW),
                report_rows(facts("kvm_virtio"), "kvm-01"), None]
    data = report(per_host, hosts, ["down-1"], generated_at="now")
    order = [(r["severity"], r["host"], r["netvsc"]) for r in data["rows"]]
    assert order[0] == (PROBLEM, "down-1", None)
    assert [o[1:] for o in order if o[1].startswith("host")] == [
        ("host2", "eth1"), ("host2", "eth2"), ("host2", "eth10"),
        ("host10", "eth1"), ("host10", "eth2"), ("host10", "eth10")]
    assert order[-1] == (NOT_APPLICABLE, "kvm-01", None)
    summary = data["summary"]
    assert (summary["hosts"], summary["hyperv_hosts"], summary["not_applicable_hosts"], summary["failed_hosts"]) == (4, 2, 1, 1)
    assert (summary["netvscs"], summary["with_vf"], summary["without_vf"]) == (6, 6, 0)
    assert summary["kinds"] == {"mlx5": 6, "mlx4": 0, "mana": 0, "unknown": 0}
    assert summary["problem_rows"] == 1 and summary["problem_hosts"] == 1
    assert data["generated_at"] == "now" and data["format"] == 1
    assert set(data["rows"][0]) == set(rules.EMPTY_ROW)


def test_natural_key():
    names = ["eth10", "eth2", "eth1", "enP2969s1", "enP12161s3", "ib0", None]
    assert sorted(names, key=natural_key) == [None, "enP2969s1", "enP12161s3", "eth1", "eth2", "eth10", "ib0"]


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"report_rows", "report"}
