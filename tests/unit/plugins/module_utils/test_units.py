# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_units: the drop-in of a DPDK unit, per mode, and the values it refuses to write.

Under real systemd (drop-in read, EnvironmentFile split, ExecStartPre run, try-restart):
extensions/molecule/units."""

from __future__ import annotations

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _units
from ansible_collections.hyperv.netvsc.plugins.module_utils._units import UnitError

GUID1 = "000d3a03-1eb1-000d-3a03-1eb1000d3a03"
GUID2 = "f8615163-0000-1000-2000-6045bdf3fb7b"
ENV = "/etc/netvsc/eal.env"


def port(pid, mode, mac="00:0d:3a:03:1e:b1", guid=GUID1, netvsc="eth1", vf_kind="mlx5"):
    return {"position": 0, "id": pid, "device": "x", "mode": mode, "netvsc": netvsc, "mac": mac,
            "vmbus_id": guid, "vf_kind": vf_kind}


def test_failsafe_orders_after_the_monitor_and_nothing_else():
    text = _units.dropin(ENV, [port("dpdk0", "failsafe")], "netvsc-monitor.service")
    assert text == (
        _units.HEADER
        + "# Remove the unit from netvsc_dpdk_units (or the pairings) to drop it.\n"
        "\n[Unit]\n"
        "# fail-safe's exec() reads the VF the monitor publishes.\n"
        "After=netvsc-monitor.service\nWants=netvsc-monitor.service\n"
        "\n[Service]\nEnvironmentFile=/etc/netvsc/eal.env\n")
    assert _units.is_ours(text)


def test_netvsc_pmd_checks_the_binding_and_sets_mana_links_down():
    text = _units.dropin(ENV, [port("p", "netvsc_pmd"),
                               port("m", "netvsc_pmd", "60:45:bd:f3:fb:7b", GUID2, None, "mana")],
                         "netvsc-monitor.service")
    assert "[Unit]" not in text and "netvsc-monitor" not in text  # nothing reads its files
    assert text.count("ExecStartPre=") == 3
    assert ("ExecStartPre=/bin/sh -c 'test -e /sys/bus/vmbus/drivers/uio_hv_generic/%s || "
            "{ echo \"pairing p: eth1 (VMBus %s) is not bound to uio_hv_generic\" >&2; exit 1; }'\n"
            % (GUID1, GUID1)) in text
    assert "pairing m: NetVSC (VMBus %s)" % GUID2 in text  # no netdev name: none shown
    assert text.endswith(
        "ExecStartPre=/bin/sh -c 'for dev in /sys/class/net/*; do case \"$$(cat \"$$dev/address\" "
        "2>/dev/null)\" in 60:45:bd:f3:fb:7b) ip link set dev \"$${dev##*/}\" down || exit 1;; "
        "esac; done'\n")


def test_mixed_modes_get_both():
    text = _units.dropin(ENV, [port("f", "failsafe", netvsc="eth2"), port("p", "netvsc_pmd")],
                         "my-monitor.service")
    assert "After=my-monitor.service" in text and "uio_hv_generic/%s" % GUID1 in text


def test_no_pairings_still_give_the_environment():
    assert "EnvironmentFile=/etc/netvsc/eal.env" in _units.dropin(ENV, [], "netvsc-monitor.service")


@pytest.mark.parametrize("name", ["eth1'; reboot; '", 'eth"1', "eth$1", "eth%i", "eth 1", None])
def test_hostile_netvsc_names_never_reach_the_shell(name):
    text = _units.dropin(ENV, [port("p", "netvsc_pmd", netvsc=name)], "netvsc-monitor.service")
    assert "pairing p: NetVSC (VMBus" in text
    assert "reboot" not in text and 'eth"1' not in text and "eth%i" not in text


@pytest.mark.parametrize("bad", [
    {"mac": "60:45:bd:f3:fb:7b'; reboot"}, {"mac": None}, {"mac": "60-45-BD-F3-FB-7B"},
])
def test_a_bad_mac_is_refused(bad):
    with pytest.raises(UnitError, match="pairing m: MAC"):
        _units.dropin(ENV, [dict(port("m", "netvsc_pmd", vf_kind="mana"), **bad)], "netvsc-monitor.service")


@pytest.mark.parametrize("guid", ["'; reboot; '", GUID1.upper(), "{%s}" % GUID1, None])
def test_a_bad_guid_is_refused(guid):
    with pytest.raises(UnitError, match="pairing p: VMBus GUID"):
        _units.dropin(ENV, [port("p", "netvsc_pmd", guid=guid)], "netvsc-monitor.service")


@pytest.mark.parametrize("env", ["etc/eal.env", "/etc/eal env", "/etc/%i.env", "/etc/$X", "/e'x", None])
def test_a_bad_environment_file_is_refused(env):
    with pytest.raises(UnitError, match="EnvironmentFile"):
        _units.dropin(env, [], "netvsc-monitor.service")


@pytest.mark.parametrize("unit", ["dpdk-app.service", "app@1.service", "app@.service", "a:b_c.d-e.service",
                                  "x\\x2dy.service"])
def test_unit_names(unit):
    assert _units.dropin_path("/etc/systemd/system", unit) == "/etc/systemd/system/%s.d/%s" % (
        unit, _units.DROPIN_NAME)


@pytest.mark.parametrize("unit", ["../../etc/passwd.service", "a/b.service", "dpdk-app", "app.socket",
                                  "", ".service", "a b.service", "x" * 250 + ".service", None, 7])
def test_bad_unit_names(unit):
    with pytest.raises(UnitError, match="is not the name of a systemd service unit"):
        _units.dropin_path("/etc/systemd/system", unit)
    with pytest.raises(UnitError):
        _units.dropin(ENV, [port("f", "failsafe")], unit)


def test_the_binding_check_reads_the_sysfs_root_it_is_given():
    text = _units.dropin(ENV, [port("p", "netvsc_pmd")], "netvsc-monitor.service", "/srv/fixture/sys/")
    assert "test -e /srv/fixture/sys/bus/vmbus/drivers/uio_hv_generic/%s ||" % GUID1 in text


@pytest.mark.parametrize("root", ["sys", "/srv/a b", "/srv/$(reboot)", "/srv/a;b", "/srv/`x`", None])
def test_a_bad_sysfs_root_is_refused(root):
    with pytest.raises(UnitError, match="sysfs root"):
        _units.dropin(ENV, [], "netvsc-monitor.service", root)
