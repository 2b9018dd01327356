# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netvsc_table lays out report rows; netvsc_placed places paths below the sandbox root."""

from __future__ import annotations

import base64
import copy
import json
import re

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.hyperv.netvsc.plugins.filter.netvsc_placed import netvsc_placed
from ansible_collections.hyperv.netvsc.plugins.filter.netvsc_table import netvsc_table
from ansible_collections.hyperv.netvsc.plugins.filter.report import EMPTY_ROW, report_rows
from ansible_collections.hyperv.netvsc.plugins.module_utils._scan import scan
from ansible_collections.hyperv.netvsc.tests.fixtures.cases import CASES
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import (
    build, write_simulated_network)


def facts_of(case, tmp_path):
    spec = copy.deepcopy(CASES[case])
    root = build(spec, str(tmp_path / case))
    write_simulated_network(spec, root)
    return scan(root).facts()


def state(pairs):
    raw = json.dumps({"format": 1, "pairs": pairs, "updated_at": 0, "counters": {}}).encode()
    return {"content": base64.b64encode(raw).decode(), "source": "/run/netvsc/state.json"}


def cells(lines):
    return [line.split() for line in lines[1:]]


def test_rows_of_real_scans_become_aligned_lines(tmp_path):
    rows = report_rows(facts_of("cx5_4nic", tmp_path), "cx5", state({"000d3a031eb1": {
        "mac": "00:0d:3a:03:1e:b1", "vf": "a2a3:00:02.0"}}), managed=False)
    rows += report_rows(facts_of("kvm_virtio", tmp_path), "kvm")
    rows += report_rows({}, "lost")
    lines = netvsc_table(rows)
    assert lines[0].split() == ["host", "netvsc", "vf", "pci_address", "kind", "paired_by", "monitor"]
    starts = [line.index(word) for line, word in zip(lines, ["host"] + [r[0] for r in cells(lines)])]
    assert set(starts) == {0}
    vf_column = lines[0].index("vf ")
    assert all(line[vf_column - 2:vf_column] == "  " for line in lines)
    table = cells(lines)
    assert ["cx5", "eth1", "enP41635s2", "a2a3:00:02.0", "mlx5", "kernel", "000d3a031eb1:",
            "a2a3:00:02.0"] in table
    assert table[-2:] == [["kvm", "(not", "Hyper-V)", "-", "-", "-", "-", "n/a"],
                          ["lost", "(no", "facts)", "-", "-", "-", "-", "unknown"]]


def test_declared_pairing_without_vf_and_unpaired_vf(tmp_path):
    rows = report_rows(facts_of("vf_absent_servicing", tmp_path), "servicing", state({"p1": {
        "mac": "00:0d:3a:f5:81:02", "vf": None}}), managed=False)
    assert ["servicing", "eth1", "-", "-", "-", "-", "p1:", "no", "VF"] in cells(netvsc_table(rows))
    unpaired = dict(EMPTY_ROW, host="h", hyperv=True, vf="enP1s1", paired_by="unpaired", monitor="absent")
    assert cells(netvsc_table([unpaired])) == [["h", "(unpaired)", "enP1s1", "-", "-", "-", "absent"]]


def test_hosts_and_netvscs_sort_naturally_and_host_rows_last():
    rows = [dict(EMPTY_ROW, host=host, hyperv=True, netvsc=nic, monitor="absent")
            for host, nic in [("vm10", "eth1"), ("vm2", "eth10"), ("vm2", None), ("vm2", "eth2")]]
    assert [r[:2] for r in cells(netvsc_table(rows))] == [
        ["vm2", "eth2"], ["vm2", "eth10"], ["vm2", "(no"], ["vm10", "eth1"]]


@pytest.mark.parametrize("bad", [None, "rows", [["host"]], {"host": "h"}])
def test_anything_but_a_list_of_rows_is_a_clear_error(bad):
    with pytest.raises(AnsibleFilterError, match="flat list of report_rows rows"):
        netvsc_table(bad)


@pytest.mark.parametrize("path, root, placed", [
    ("/run/netvsc/state.json", "/", "/run/netvsc/state.json"),
    ("/run/netvsc/state.json", "/srv/sandbox/", "/srv/sandbox/run/netvsc/state.json"),
    ("/run/netvsc/", "/srv/sandbox", "/srv/sandbox/run/netvsc"),
])
def test_placed(path, root, placed):
    assert netvsc_placed(path, root) == placed


@pytest.mark.parametrize("path, root, message", [
    ("run/netvsc/state.json", "/", "path 'run/netvsc/state.json' must be an absolute path"),
    ("/run/../etc/shadow", "/", "must not contain '..'"),
    ("/run/netvsc/state.json", "/srv/x/../y", "root '/srv/x/../y' must not contain '..'"),
    ("/run/netvsc\n/state.json", "/", "contains control characters"),
    (["/run"], "/", "must be a path"),
])
def test_placed_refuses_what_the_path_validator_refuses(path, root, message):
    with pytest.raises(AnsibleFilterError, match="netvsc_placed: .*" + re.escape(message)):
        netvsc_placed(path, root)
