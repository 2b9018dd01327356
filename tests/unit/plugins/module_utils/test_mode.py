# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_mode.choose(): auto per Microsoft's guidance, on hosts probed from operating-system trees
of real layouts (tests/fixtures/os_tree.py), and modes that are no longer valid."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _mode
from ansible_collections.hyperv.netvsc.plugins.module_utils._mode import Choice, ModeError, choose
from ansible_collections.hyperv.netvsc.plugins.module_utils._readiness import probe
from ansible_collections.hyperv.netvsc.tests.fixtures import os_tree

MICROSOFT = "which Microsoft recommends from DPDK 22.11 on"


@pytest.fixture
def host(tmp_path):
    """host(preset or spec, **changes) -> the _readiness.probe() of a new OS tree."""
    count = [0]

    def make(system, **changes):
        count[0] += 1
        spec = copy.deepcopy(os_tree.PRESETS[system] if isinstance(system, str) else system)
        for key, value in changes.items():
            if key == "dpdk" and value is not None:
                spec["dpdk"].update(value)
            else:
                spec[key] = value
        root = os_tree.build(spec, str(tmp_path / ("os%d" % count[0])))
        return probe(root, str(tmp_path / "nosys"), machine="x86_64")
    return make


def test_auto_picks_the_netvsc_pmd_on_debian12(host):
    assert choose("auto", "mlx5", host("debian12")) == Choice(
        "netvsc_pmd", "uio_hv_generic", "DPDK 22.11.11 has the netvsc PMD, " + MICROSOFT)


def test_auto_picks_the_netvsc_pmd_without_a_vf(host):
    assert choose("auto", None, host("debian13")).mode == "netvsc_pmd"


@pytest.mark.parametrize("changes, reason", [
    ({"dpdk": {"version": "21.11.7", "abi": "22.0"}},
     "DPDK 21.11.7 is older than 22.11, from which Microsoft recommends the netvsc PMD"),
    ({"dpdk": {"version": "20.11.10", "abi": "21.0"}},
     "DPDK 20.11.10 is older than 22.11, from which Microsoft recommends the netvsc PMD"),
    ({"dpdk": {"pmds": ["failsafe", "vdev_netvsc", "tap", "mlx5", "bus_vmbus"]}},
     "DPDK 22.11.11 has no netvsc PMD"),
    ({"dpdk": {"pmds": ["failsafe", "tap", "mlx5"]}},
     "DPDK 22.11.11 has no netvsc PMD and no VMBus bus driver"),
    ({"dpdk": None}, "no DPDK installation was found (libdpdk.pc, a PMD directory or librte_eal "
                     "in /usr/local/lib or /usr/lib)"),
    ({"modules": ["hv_netvsc", "mlx5_core", "mlx5_ib", "ib_uverbs"]},
     "kernel 6.1.0-28-amd64 has no uio_hv_generic module"),
])
def test_auto_falls_back_to_failsafe_and_says_why(host, changes, reason):
    assert choose("auto", "mlx5", host("debian12", **changes)) == Choice(
        "failsafe", "hv_netvsc", reason)


def test_auto_unknown_dpdk_version_is_failsafe(host):
    found = host("debian12", dpdk={"pc": False, "abi": "23.1"})  # no .pc, not an LTS ABI
    assert found["dpdk"]["version"] is None
    assert choose("auto", "mlx5", found).reason.startswith("the version of the DPDK in ")


def test_auto_unreadable_modules_do_not_rule_out_the_pmd(host):
    """Unknown is not missing: a kernel whose modules.dep cannot be read keeps the PMD."""
    found = host("debian12", modules_dep=False)
    assert found["kernel"]["modules"]["uio_hv_generic"] == "unknown"
    assert choose("auto", "mlx5", found).mode == "netvsc_pmd"


def test_auto_leaves_a_netvsc_that_may_not_be_bound(host):
    why = "eth1 carries traffic: binding it to uio_hv_generic would remove its netdev"
    assert choose("auto", "mlx5", host("debian13"), unbindable=why) == Choice(
        "failsafe", "hv_netvsc", why)


@pytest.mark.parametrize("driver", [None, "uio_hv_generic"])
def test_auto_mana_is_always_the_netvsc_pmd(host, driver):
    """Even where DPDK is too old or absent: fail-safe over MANA is never an option."""
    for found in (host("debian13"), host("debian12", dpdk={"version": "21.11.7", "abi": "22.0"}), None):
        choice = choose("auto", "mana", found, driver)
        assert choice.mode == "netvsc_pmd" and choice.driver == "uio_hv_generic"
    assert choose("auto", "mana", None, None).reason == (
        "its VF is a MANA device: Microsoft supports only the netvsc PMD on MANA")


def test_auto_mana_on_a_netvsc_declared_hv_netvsc_says_to_pair_again():
    with pytest.raises(ModeError) as exc:
        choose("auto", "mana", None, "hv_netvsc", pair_id="dpdk0", vf="7870:00:00.0")
    assert str(exc.value).startswith(
        "pairing dpdk0: its VF 7870:00:00.0 is a MANA device, which needs the netvsc PMD and the "
        "NetVSC bound to uio_hv_generic (fail-safe over MANA is not supported")
    assert str(exc.value).endswith(
        "but it is declared with driver hv_netvsc; pair it again with driver auto or "
        "uio_hv_generic (the failsafe role with netvsc_mode auto does so at its next run)")


def test_auto_mana_that_may_not_be_bound_is_an_error(host):
    with pytest.raises(ModeError, match="MANA device.*, but eth1 carries the management"):
        choose("auto", "mana", host("debian13"), unbindable="eth1 carries the management connection")


def test_auto_follows_a_declared_driver(host):
    assert choose("auto", "mlx5", host("debian12"), "uio_hv_generic") == Choice(
        "netvsc_pmd", "uio_hv_generic", "the NetVSC is declared with driver uio_hv_generic")
    assert choose("auto", "mlx5", host("debian12"), "hv_netvsc") == Choice(
        "failsafe", "hv_netvsc", "the NetVSC is declared with driver hv_netvsc (netvsc_pair with "
        "driver auto would bind it to uio_hv_generic for the netvsc PMD of DPDK 22.11.11)")
    old = host("debian12", dpdk={"version": "21.11.7", "abi": "22.0"})
    assert choose("auto", "mlx5", old, "hv_netvsc").reason.startswith("DPDK 21.11.7 is older")
    assert choose("auto", "mlx5", None, "hv_netvsc") == Choice(
        "failsafe", "hv_netvsc", "the NetVSC is declared with driver hv_netvsc")


def test_auto_without_a_probe_and_without_a_driver_is_failsafe():
    assert choose("auto", "mlx4") == Choice("failsafe", "hv_netvsc",
                                            "the installed DPDK was not probed")


@pytest.mark.parametrize("asked", ["failsafe", "vdev_netvsc"])
@pytest.mark.parametrize("kind", [None, "mlx4", "mlx5", "unknown"])
def test_asked_failsafe_modes_stay_valid_without_mana(asked, kind):
    assert choose(asked, kind, None, "hv_netvsc") == Choice(
        asked, "hv_netvsc", "mode %s was asked for" % asked)


@pytest.mark.parametrize("asked", ["failsafe", "vdev_netvsc"])
def test_asked_failsafe_mode_is_no_longer_valid_on_mana(asked):
    """mlx5 -> MANA after a deallocate: the mode asked for is refused, with the way out."""
    with pytest.raises(ModeError) as exc:
        choose(asked, "mana", None, "hv_netvsc", pair_id="dpdk0", vf="7870:00:00.0")
    message = str(exc.value)
    assert message.startswith("pairing dpdk0: mode %s is not valid for it: its VF 7870:00:00.0 is "
                              "a MANA device (Azure moves VMs to MANA hardware after a deallocate)"
                              % asked)
    assert message.endswith("Use mode auto, which switches it to the netvsc PMD (DPDK >= 22.11, "
                            "the NetVSC bound to uio_hv_generic), or mode netvsc_pmd.")


def test_asked_netvsc_pmd_needs_uio():
    assert choose("netvsc_pmd", "mana", None, "uio_hv_generic").mode == "netvsc_pmd"
    assert choose("netvsc_pmd", "mlx5", None, None) == Choice(
        "netvsc_pmd", "uio_hv_generic", "mode netvsc_pmd was asked for")
    with pytest.raises(ModeError, match="pairing p: mode netvsc_pmd needs the NetVSC bound to "
                                        "uio_hv_generic, but it is declared with driver hv_netvsc"):
        choose("netvsc_pmd", "mlx5", None, "hv_netvsc", pair_id="p")


@pytest.mark.parametrize("asked", ["bond", "", None, "AUTO", "netvsc"])
def test_unknown_mode(asked):
    with pytest.raises(ModeError, match="is not one of failsafe, vdev_netvsc, netvsc_pmd, auto"):
        choose(asked, "mlx5")


@pytest.mark.parametrize("version, release", [
    ("22.11.11", (22, 11)), ("24.11.8", (24, 11)), ("21.11", (21, 11)), ("25.07.0-rc1", (25, 7)),
    (None, None), ("", None), ("git", None)])
def test_dpdk_release(version, release):
    assert _mode.dpdk_release({"version": version}) == release
