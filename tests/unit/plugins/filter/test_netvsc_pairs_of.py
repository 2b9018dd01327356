# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netvsc_pairs_of joins pairings to NetVSCs with the modules' matcher."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.hyperv.netvsc.plugins.filter.netvsc_pairs_of import FilterModule

pairs_of = FilterModule().filters()["netvsc_pairs_of"]

ETH1 = {"name": "eth1", "mac": "00:0d:3a:03:1e:b1", "vmbus_id": "000d3a03-1eb1-000d-3a03-1eb1000d3a03"}


def test_state_json_pairs_by_mac_or_guid_never_by_name():
    pairs = {
        "b_by_mac": {"netvsc": "eth9", "mac": "00:0d:3a:03:1e:b1", "vmbus_id": None},
        "a_by_guid": {"netvsc": "eth9", "mac": None, "vmbus_id": ETH1["vmbus_id"]},
        "by_name_only": {"netvsc": "eth1", "mac": "00:0d:3a:00:00:01", "vmbus_id": None},
        "junk": "not a pairing",
    }
    assert pairs_of(pairs, ETH1) == ["a_by_guid", "b_by_mac"]


def test_declarations_pair_too():
    declarations = {"dpdk0": {"id": "dpdk0", "netvsc": {"mac": "00-0D-3A-03-1E-B1", "name": "x",
                                                        "vmbus_id": None}}}
    assert pairs_of(declarations, ETH1) == ["dpdk0"]
    assert pairs_of(declarations, dict(ETH1, mac="00:0d:3a:00:00:02", vmbus_id="x")) == []


def test_wrong_types_are_an_error():
    with pytest.raises(AnsibleFilterError):
        pairs_of(["x"], ETH1)
