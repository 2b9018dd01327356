# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_rolevars: the failsafe role's variables as people write and paste them."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.hyperv.netvsc.plugins.module_utils import _rolevars
from ansible_collections.hyperv.netvsc.plugins.module_utils._rolevars import RoleVarsError

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "failsafe")
with open(os.path.join(ROLE, "defaults", "main.yml")) as _handle:
    DEFAULTS = yaml.safe_load(_handle)
with open(os.path.join(ROLE, "meta", "argument_specs.yml")) as _handle:
    KNOWN = set(yaml.safe_load(_handle)["argument_specs"]["main"]["options"])
CONSTANTS = {"unit_path": "/etc/systemd/system/netvsc-monitor.service",
             "udev_rules_dir": "/etc/udev/rules.d", "network_dir": "/etc/systemd/network",
             "monitor_archive": "netvsc-monitor.pyz",
             "manifest": "/var/lib/hyperv-netvsc/manifest.json"}


def check(**changes):
    return _rolevars.check(dict(DEFAULTS, **changes), KNOWN, CONSTANTS)


def errors(**changes):
    with pytest.raises(RoleVarsError) as exc:
        check(**changes)
    return exc.value.errors


def test_defaults_select_automatically_with_every_path_in_place():
    result = check()
    assert result["auto"] is True and "pairings" not in result and result["managed"] is True
    assert result["paths"] == {
        "root": "/", "sysfs_root": "/sys", "config_dir": "/etc/netvsc/pairs.d",
        "state_dir": "/run/netvsc", "eal_dir": "/etc/netvsc", "eal_env": "/etc/netvsc/eal.env",
        "eal_args_dir": "/etc/netvsc/eal.d", "port_map": "/etc/netvsc/ports.map",
        "lib_dir": "/usr/local/lib/hyperv-netvsc",
        "monitor": "/usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz", "textfile": "",
        "unit": "/etc/systemd/system/netvsc-monitor.service", "units_dir": "/etc/systemd/system",
        "readiness_root": "/", "udev_rules_dir": "/etc/udev/rules.d",
        "network_dir": "/etc/systemd/network", "manifest": "/var/lib/hyperv-netvsc/manifest.json"}
    assert result["directories"] == ["/usr/local/lib/hyperv-netvsc"]
    assert result["record_files"] == ["/usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz", "/run/netvsc/state.json"]
    assert result["record_directories"] == ["/run/netvsc", "/run/private/netvsc"]
    assert check(netvsc_monitor_user="netvsc-mon")["record_directories"] == ["/run/netvsc"]
    assert check(netvsc_mode="netvsc_pmd")["driver"] == "uio_hv_generic" and check()["driver"] == "hv_netvsc"
    assert check(netvsc_mode="auto")["driver"] == "auto" and check(netvsc_mode="vdev_netvsc")["driver"] == "hv_netvsc"
    # What goes when no pairing reads the monitor's files.
    assert result["monitor_paths"] == ["/etc/systemd/system/netvsc-monitor.service",
                                       "/usr/local/lib/hyperv-netvsc", "/run/netvsc", "/run/private/netvsc"]


def test_a_sandbox_places_every_path_below_its_root():
    result = check(netvsc_root_dir="/srv/box/", netvsc_manage_services=False,
                   netvsc_monitor_textfile="/var/lib/node_exporter/netvsc.prom")
    paths = result["paths"]
    assert paths["root"] == "/srv/box" and paths["sysfs_root"] == "/sys"
    assert paths["config_dir"] == "/srv/box/etc/netvsc/pairs.d"
    assert paths["manifest"] == "/srv/box/var/lib/hyperv-netvsc/manifest.json"
    assert paths["textfile"] == "/srv/box/var/lib/node_exporter/netvsc.prom"
    assert result["directories"] == ["/srv/box/usr/local/lib/hyperv-netvsc", "/srv/box/run/netvsc"]
    assert result["record_directories"] == []
    assert "/srv/box/var/lib/node_exporter/netvsc.prom" in result["record_files"]
    assert paths["units_dir"] == "/srv/box/etc/systemd/system" and paths["port_map"] == "/srv/box/etc/netvsc/ports.map"
    assert result["monitor_paths"] == [
        "/srv/box/etc/systemd/system/netvsc-monitor.service", "/srv/box/usr/local/lib/hyperv-netvsc",
        "/srv/box/run/netvsc", "/srv/box/var/lib/node_exporter/netvsc.prom"]
    assert check(netvsc_readiness_root="/srv/os")["paths"]["readiness_root"] == "/srv/os"  # read, not placed


@pytest.mark.parametrize("value, pairings", [
    ("eth1", [{"netvsc": "eth1"}]),
    ("eth1, 00-0D-3A-03-18-C9  000d3a0319f7,",
     [{"netvsc": "eth1"}, {"netvsc": "00-0D-3A-03-18-C9"}, {"netvsc": "000d3a0319f7"}]),
    (["eth1", {"name": " eth2 ", "id": "dpdk1", "force": "yes", "require_vf": "false"}],
     [{"netvsc": "eth1"}, {"netvsc": "eth2", "id": "dpdk1", "force": True, "require_vf": False}]),
    ([{"netvsc": "eth3", "allow_management": True, "driver": "uio_hv_generic"}],
     [{"netvsc": "eth3", "allow_management": True, "driver": "uio_hv_generic"}]),
])
def test_what_people_paste_becomes_pairings(value, pairings):
    result = check(netvsc_interfaces=value)
    assert result["pairings"] == pairings and "auto" not in result


@pytest.mark.parametrize("value, message", [
    ([{"name": "eth1", "allow_managment": True}],
     "netvsc_interfaces item 1 has unknown keys allow_managment; an item may have name, netvsc, id"),
    ([{"id": "dpdk0"}], "netvsc_interfaces item 1 needs the NetVSC as name"),
    ([{"name": "eth1", "netvsc": "eth1"}], "netvsc_interfaces item 1 needs the NetVSC as name"),
    (["eth1", ""], "netvsc_interfaces item 2 is an empty string"),
    ([["eth1"]], "netvsc_interfaces item 1 must be a NetVSC name, MAC or VMBus GUID, or a dict"),
    ([{"name": "eth1", "force": "maybe"}], "netvsc_interfaces item 1: force must be true or false, not 'maybe'"),
    ([{"name": "eth1", "driver": "vfio-pci"}], "netvsc_interfaces item 1: driver must be one of hv_netvsc, uio_hv_generic, auto"),
    ({"name": "eth1"}, "netvsc_interfaces must be a list (or a string of words separated by commas)"),
])
def test_items_that_cannot_be_used_are_refused(value, message):
    assert any(e.startswith(message) for e in errors(netvsc_interfaces=value)), errors(netvsc_interfaces=value)


@pytest.mark.parametrize("typo, meant", [
    ("netvsc_interface", "netvsc_interfaces"), ("netvsc_intefaces", "netvsc_interfaces"),
    ("netvsc_interfaces_list", "netvsc_interfaces"), ("netvsc_config_dr", "netvsc_config_dir"),
    ("netvsc_require_vfs", "netvsc_require_vf"), ("netvsc_modes", "netvsc_mode"),
])
def test_a_misspelt_variable_is_an_error_naming_the_one_it_resembles(typo, meant):
    assert errors(**{typo: ["eth1"]}) == [
        "%s is not a variable of the hyperv.netvsc.failsafe role; did you mean %s? (a misspelt "
        "variable would leave the role on its default)" % (typo, meant)]


def test_other_netvsc_variables_are_left_alone():
    check(netvsc_target="all", netvsc_serial="10%", netvsc_become=False, netvsc_max_fail_percentage=0,
          netvsc_report_dir="/tmp/r", netvsc_report_stale_after=300, netvsc_demo_case="cx5_4nic",
          netvsc_fixtures="/x", other_var=1)


@pytest.mark.parametrize("changes, message", [
    ({"netvsc_config_dir": "/etc"}, "netvsc_config_dir must not be the system directory /etc on its own"),
    ({"netvsc_monitor_lib_dir": "/usr/local/lib"}, "netvsc_monitor_lib_dir must not be the system directory /usr/local/lib"),
    ({"netvsc_eal_dir": "/"}, "netvsc_eal_dir must not be /"),
    ({"netvsc_state_dir": "/run"}, "netvsc_state_dir must not be the system directory /run"),
    ({"netvsc_state_dir": "run/netvsc"}, "netvsc_state_dir 'run/netvsc' must be an absolute path"),
    ({"netvsc_root_dir": "/srv/../etc", "netvsc_manage_services": False}, "netvsc_root_dir '/srv/../etc' must not contain '..'"),
    ({"netvsc_monitor_textfile": "prom/x"}, "netvsc_monitor_textfile 'prom/x' must be an absolute path"),
    ({"netvsc_root_dir": "/srv/box"}, "with netvsc_manage_services true, systemd must see the files"),
    ({"netvsc_state_dir": "/run/netvsc/b"}, "with netvsc_manage_services true, netvsc_state_dir must be /run/<name>"),
    ({"netvsc_manage_services": "sometimes"}, "netvsc_manage_services must be true or false"),
])
def test_paths_and_service_constraints(changes, message):
    assert any(e.startswith(message) for e in errors(**changes)), errors(**changes)


def test_every_problem_is_reported_at_once():
    found = errors(netvsc_interface=["eth1"], netvsc_config_dir="/etc", netvsc_interfaces=[5])
    assert len(found) == 3
    assert str(RoleVarsError(found)) == "; ".join(found)


def test_dpdk_units_as_a_string():
    assert check(netvsc_dpdk_units="a.service b.service")["dpdk_units"] == ["a.service", "b.service"]


@pytest.mark.parametrize("units", [["../x.service"], ["dpdk-app"], "a.service ../../etc/x.service", [7]])
def test_dpdk_units_that_are_no_service_unit_names_are_refused(units):
    (error,) = errors(netvsc_dpdk_units=units)
    assert error.startswith("netvsc_dpdk_units: ") and "is not the name of a systemd service unit" in error
