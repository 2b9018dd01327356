# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_selection: the rule of what one netvsc_pair call may take, with made-up guard verdicts
on a fixture snapshot (the guard itself is tested in test_guard.py)."""

from __future__ import annotations

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _declarations, _selection
from ansible_collections.hyperv.netvsc.plugins.module_utils._guard import Verdict
from ansible_collections.hyperv.netvsc.plugins.module_utils._scan import scan
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import CASES, build

FREE = Verdict(False, False, (), ())
BUSY = Verdict(False, True, (), ("eth2", "br1"))
MGMT = Verdict(True, True, ("eth1 is a port of bridge br0, which holds the IPv4 default route (table main)",),
               ("eth1", "br0"))


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    root = tmp_path_factory.mktemp("sel") / "sys"
    build(CASES["cx5_4nic"], str(root))
    return scan(str(root))


def verdicts(**special):
    return dict((key, special.get(key, FREE)) for key in ("eth0", "eth1", "eth2", "eth3"))


@pytest.mark.parametrize("force, allow, refused", [
    (False, False, True), (True, False, True), (False, True, False), (True, True, False)])
def test_management_needs_allow_management_and_force_never_overrides_it(snapshot, force, allow, refused):
    item = _selection.Item("eth1", force=force, allow_management=allow)
    targets, refusals = _selection.resolve([item], snapshot, verdicts(eth1=MGMT), [])
    assert bool(refusals) is refused and bool(targets) is not refused
    if refused:
        assert refusals[0].reasons == (MGMT.reasons[0] + "; " + _selection.MANAGEMENT_HINT,)


@pytest.mark.parametrize("force, allow, refused", [
    (False, False, True), (True, False, False), (False, True, False)])
def test_traffic_needs_force_or_allow_management(snapshot, force, allow, refused):
    item = _selection.Item("eth2", force=force, allow_management=allow)
    targets, refusals = _selection.resolve([item], snapshot, verdicts(eth2=BUSY), [])
    assert bool(refusals) is refused
    if refused:
        assert refusals[0].reasons == ("eth2 carries traffic: it or a device above it (eth2, br1) has "
                                       "addresses; " + _selection.TRAFFIC_HINT,)


def test_a_guard_that_cannot_read_refuses_everything(snapshot):
    unknown = Verdict(True, True, ("the guard cannot tell whether eth1 carries management traffic: x",), ())
    items, left_alone = _selection.automatic(snapshot, dict.fromkeys(verdicts(), unknown), [])
    assert items == [] and [s.netvsc for s in left_alone] == ["eth0", "eth1", "eth2", "eth3"]


def test_automatic_takes_the_free_ones_in_key_order(snapshot):
    items, left_alone = _selection.automatic(snapshot, verdicts(eth1=MGMT, eth2=BUSY), [],
                                             driver="uio_hv_generic", require_vf=True)
    assert [i.netvsc for i in items] == [snapshot.interfaces[k]["vmbus_id"] for k in ("eth0", "eth3")]
    assert all(i.driver == "uio_hv_generic" and i.require_vf and not i.force for i in items)
    assert left_alone == [
        _selection.LeftAlone("eth1", MGMT.reasons),
        _selection.LeftAlone("eth2", ("eth2 carries traffic: it or a device above it (eth2, br1) has addresses",))]


def test_ids_default_to_the_declared_one_then_the_mac(snapshot):
    eth1 = snapshot.interfaces["eth1"]
    declared = _declarations.build("dpdk0", eth1)
    targets, refusals = _selection.resolve([_selection.Item("eth1"), _selection.Item("eth2")],
                                           snapshot, verdicts(), [declared])
    assert refusals == [] and [t.pair_id for t in targets] == ["dpdk0", "000d3a0318c9"]
    assert targets[0].declared == declared


def test_unwanted_keeps_absent_netvscs_only_when_asked(snapshot):
    gone = _declarations.build("gone", {"mac": "00:0d:3a:99:99:99", "name": "eth9",
                                        "vmbus_id": "000d3a99-9999-000d-3a99-9999000d3a99"})
    here = _declarations.build("here", snapshot.interfaces["eth3"])
    assert _selection.unwanted([gone, here], [], snapshot) == [gone, here]
    assert _selection.unwanted([gone, here], [], snapshot, keep_absent=True) == [here]


def test_message_names_every_refused_netvsc():
    refusals = [_selection.Refusal("eth1", ("a", "b")), _selection.Refusal("eth9", ("c",))]
    assert _selection.message(refusals, 3) == (
        "Refusing 2 of 3 pairings, nothing was changed: eth1: a; b. eth9: c.")
    assert _selection.message(refusals[:1], 1) == "Refusing eth1, nothing was changed: a; b."
