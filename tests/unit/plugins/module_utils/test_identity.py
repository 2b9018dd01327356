# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one matcher: tokens and declarations designate exactly one NetVSC, or none."""

from __future__ import annotations

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils._identity import (
    Conflict, InterfaceError, designated, designates, describe, is_netdev_name, normalize_guid,
    normalize_mac)

MAC1, GUID1 = "00:0d:3a:03:1e:b1", "000d3a03-1eb1-000d-3a03-1eb1000d3a03"
MAC2, GUID2 = "00:0d:3a:03:18:c9", "000d3a03-18c9-000d-3a03-18c9000d3a03"
NICS = {
    "eth1": {"name": "eth1", "mac": MAC1, "vmbus_id": GUID1},
    "eth2": {"name": "eth2", "mac": MAC2, "vmbus_id": GUID2},
}


def declaration(mac, guid, name="eth1"):
    return {"id": "dpdk0", "netvsc": {"mac": mac, "name": name, "vmbus_id": guid}}


@pytest.mark.parametrize("text", [
    "00:0d:3a:03:1e:b1", "00-0D-3A-03-1E-B1", "000d3a031eb1", "000D3A031EB1", " 00:0D:3a:03:1E:b1\n"])
def test_every_pasted_mac_form_normalises(text):
    assert normalize_mac(text) == MAC1


@pytest.mark.parametrize("text", [
    "00:0d:3a:03:1e", "00:0d-3a:03:1e:b1", "00:0d:3a:03:1e:b1:00", "000d3a031eb", "0g0d3a031eb1",
    "00.0d.3a.03.1e.b1", "", None, 12, b"000d3a031eb1", ["00:0d:3a:03:1e:b1"]])
def test_junk_is_no_mac(text):
    assert normalize_mac(text) is None


@pytest.mark.parametrize("text", [GUID1, GUID1.upper(), "{%s}" % GUID1.upper(), " %s " % GUID1])
def test_guid_forms(text):
    assert normalize_guid(text) == GUID1


@pytest.mark.parametrize("text", [GUID1[:-1], GUID1 + "0", GUID1.replace("-", ""), None, 7, {}])
def test_junk_is_no_guid(text):
    assert normalize_guid(text) is None


@pytest.mark.parametrize("name, valid", [
    ("eth1", True), ("enP41635s2", True), ("a" * 15, True), ("a" * 16, False), ("", False),
    (".", False), ("..", False), ("eth/1", False), ("eth:1", False), ("eth 1", False),
    ("eth\n1", False), ("eth\x7f", False), (None, False), (1, False)])
def test_netdev_names_follow_the_kernel(name, valid):
    assert is_netdev_name(name) is valid


@pytest.mark.parametrize("token", ["eth2", "00-0D-3A-03-18-C9", "000d3a0318c9", "{%s}" % GUID2.upper()])
def test_a_token_designates_by_name_mac_or_guid(token):
    assert designated(token, NICS) == ("eth2", NICS["eth2"])
    assert designates(token, NICS["eth2"]) and not designates(token, NICS["eth1"])


def test_a_declaration_designates_by_mac_and_guid_never_by_name():
    assert designated(declaration(MAC2, GUID2, name="eth1"), NICS)[0] == "eth2"
    # The MAC of a NetVSC that lost its netdev is unknown: the GUID still designates it.
    nics = {GUID1: dict(NICS["eth1"], name=None, mac=None)}
    assert designated(declaration(MAC1, GUID1), nics)[0] == GUID1
    assert designated(declaration("00:0d:3a:99:99:99", "99999999-9999-9999-9999-999999999999"),
                      NICS) == (None, None)


def test_mac_of_one_and_guid_of_another_is_a_conflict():
    with pytest.raises(Conflict) as caught:
        designated(declaration(MAC1, GUID2), NICS)
    assert str(caught.value) == (
        "pairing dpdk0: MAC 00:0d:3a:03:1e:b1 and VMBus GUID %s designates 2 NetVSCs: "
        "eth1 (by MAC), eth2 (by VMBus GUID)" % GUID2)
    assert isinstance(caught.value, InterfaceError)


def test_a_token_that_is_one_name_and_another_mac_is_a_conflict():
    nics = dict(NICS, **{"000d3a0318c9": {"name": "000d3a0318c9", "mac": "00:0d:3a:55:55:55",
                                          "vmbus_id": "55555555-5555-5555-5555-555555555555"}})
    with pytest.raises(Conflict, match=r"^000d3a0318c9 designates 2 NetVSCs: eth2 \(by MAC\), "
                                       r"000d3a0318c9 \(by name\)$"):
        designated("000d3a0318c9", nics)


def test_two_netvscs_with_one_mac_are_a_conflict():
    nics = dict(NICS, eth3={"name": "eth3", "mac": MAC1, "vmbus_id": "33333333-3333-3333-3333-333333333333"})
    with pytest.raises(Conflict, match="eth1 .by MAC and VMBus GUID., eth3 .by MAC."):
        designated(declaration(MAC1, GUID1), nics)


def test_state_json_records_match_like_declarations():
    record = {"netvsc": "eth9", "mac": MAC2, "vmbus_id": GUID2, "vf": None}
    assert designates(record, NICS["eth2"]) and not designates(record, NICS["eth1"])


@pytest.mark.parametrize("junk", [None, 7, [], {"netvsc": 5}, {"netvsc": {"mac": 1, "vmbus_id": []}}, ""])
def test_junk_designates_nothing(junk):
    assert designated(junk, NICS) == (None, None)
    assert describe(junk)
