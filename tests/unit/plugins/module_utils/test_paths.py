# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_paths: the one validator of path variables, tried with what people type and paste."""

from __future__ import annotations

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _paths
from ansible_collections.hyperv.netvsc.plugins.module_utils._paths import PathError, check


@pytest.mark.parametrize("value, expected", [
    ("/etc/netvsc", "/etc/netvsc"),
    ("/etc/netvsc/", "/etc/netvsc"),
    ("/etc/netvsc///", "/etc/netvsc"),
    ("/usr/local/lib/hyperv-netvsc", "/usr/local/lib/hyperv-netvsc"),
    ("/run/netvsc", "/run/netvsc"),
    ("/etc/netvsc-custom", "/etc/netvsc-custom"),
    ("/srv/dpdk conf/netvsc", "/srv/dpdk conf/netvsc"),
    ("/opt/..hidden", "/opt/..hidden"),
    ("/home/alice/netvsc", "/home/alice/netvsc"),
])
def test_good_paths_come_back_normalised(value, expected):
    assert check(value, "netvsc_config_dir") == expected


@pytest.mark.parametrize("value, words", [
    ("etc/netvsc", ["netvsc_x", "'etc/netvsc'", "absolute"]),
    ("", ["netvsc_x", "absolute"]),
    ("~/netvsc", ["absolute"]),
    ("/etc/netvsc/../ssh", ["netvsc_x", "'..'", "/etc/ssh"]),
    ("/etc/netvsc/..", ["'..'", "/etc"]),
    ("/../etc/netvsc", ["'..'"]),
    ("/etc/./netvsc", ["not normalised", "write /etc/netvsc"]),
    ("/etc//netvsc", ["not normalised", "write /etc/netvsc"]),
    ("//etc/netvsc", ["not normalised", "write /etc/netvsc"]),
    ("/etc/netvsc\n/etc", ["control characters"]),
    ("/etc/net\x00vsc", ["control characters"]),
    ("/", ["netvsc_x must not be /"]),
    ("///", ["netvsc_x must not be /"]),
])
def test_bad_paths_name_the_variable_and_the_fix(value, words):
    with pytest.raises(PathError) as exc:
        check(value, "netvsc_x")
    for word in words:
        assert word in str(exc.value)


@pytest.mark.parametrize("value", [None, 5, ["/etc/netvsc"], {"path": "/etc"}, b"/etc/netvsc"])
def test_a_value_that_is_not_a_string_is_refused(value):
    with pytest.raises(PathError, match="netvsc_state_dir must be a path"):
        check(value, "netvsc_state_dir")


@pytest.mark.parametrize("value", [
    "/etc", "/etc/", "/usr", "/usr/local", "/usr/local/lib", "/usr/lib", "/var", "/var/lib",
    "/var/run", "/run", "/run/systemd", "/run/user", "/run/private", "/lib", "/lib64", "/opt",
    "/srv", "/home", "/root", "/tmp", "/boot", "/sys", "/proc", "/dev", "/etc/ssh",
    "/etc/systemd/system", "/etc/udev/rules.d", "/etc/systemd/network", "/etc/driverctl.d",
])
def test_a_system_directory_on_its_own_is_refused(value):
    with pytest.raises(PathError) as exc:
        check(value, "netvsc_monitor_lib_dir")
    message = str(exc.value)
    assert message.startswith("netvsc_monitor_lib_dir must not be the system directory %s "
                              % value.rstrip("/"))
    assert "%s/netvsc" % value.rstrip("/") in message  # the fix


def test_system_ok_admits_directories_the_collection_only_drops_files_into():
    assert check("/etc/udev/rules.d", "udev_rules_dir", system_ok=True) == "/etc/udev/rules.d"
    assert check("/sys/", "sysfs_root", system_ok=True) == "/sys"
    # ...but not / nor a path that is not normalised.
    with pytest.raises(PathError, match="must not be /"):
        check("/", "udev_rules_dir", system_ok=True)
    with pytest.raises(PathError, match="'..'"):
        check("/etc/udev/../ssh", "udev_rules_dir", system_ok=True)


def test_root_ok_admits_the_real_root_only():
    assert check("/", "netvsc_root_dir", root_ok=True) == "/"
    assert check("/srv/sandbox/", "netvsc_root_dir", root_ok=True) == "/srv/sandbox"
    with pytest.raises(PathError, match="system directory /tmp"):
        check("/tmp", "netvsc_root_dir", root_ok=True)


def test_the_list_holds_only_normalised_absolute_paths():
    for path in _paths.SYSTEM_DIRS:
        assert check(path, "x", system_ok=True) == path


def test_check_all_reports_every_bad_variable_at_once():
    good, errors = _paths.check_all(
        {"netvsc_config_dir": "/etc", "netvsc_state_dir": "run/netvsc",
         "netvsc_eal_dir": "/etc/netvsc/", "udev_rules_dir": "/etc/udev/rules.d",
         "netvsc_root_dir": "/"},
        system_ok=("udev_rules_dir",), root_ok=("netvsc_root_dir",))
    assert good == {"netvsc_eal_dir": "/etc/netvsc", "udev_rules_dir": "/etc/udev/rules.d",
                    "netvsc_root_dir": "/"}
    assert len(errors) == 2
    assert errors[0].startswith("netvsc_config_dir must not be the system directory /etc")
    assert errors[1].startswith("netvsc_state_dir 'run/netvsc' must be an absolute path")


@pytest.mark.parametrize("root, path, placed", [
    ("/", "/etc/netvsc", "/etc/netvsc"),
    ("/srv/box", "/etc/netvsc", "/srv/box/etc/netvsc"),
    ("/srv/box", "/", "/srv/box"),
    ("/", "/", "/"),
])
def test_place_puts_a_path_below_the_sandbox_root(root, path, placed):
    assert _paths.place(root, path) == placed
