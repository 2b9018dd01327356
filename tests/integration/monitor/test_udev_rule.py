# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A pairing's udev rule, exactly as netvsc_pair writes it (_vfpolicy), run by the real udev:
`udevadm test` on this host's PCI network device, in a private mount namespace where it is
the only rule and /run is a scratch tmpfs. (`udevadm verify` needs systemd >= 254.)

The declared MAC on a device with a PCI parent gets the three properties that keep network
managers off the VF; another MAC, or a device without a PCI parent, gets none; the RDMA kmod
line runs only for the VF's PCI driver."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _vfpolicy

pytestmark = pytest.mark.root

PROPERTIES = re.compile(r"^(NETVSC_VF_UNMANAGED|ID_NET_MANAGED_BY|NM_UNMANAGED)=.*$", re.M)
PROBLEMS = re.compile(r"invalid|unknown key|failed to parse|ignoring line", re.I)
ONLY_RULE = """mount -t tmpfs tmpfs /run &&
mount --bind "$1/empty" /usr/lib/udev/rules.d &&
{ [ ! -d /lib/udev/rules.d ] || [ /lib -ef /usr/lib ] || mount --bind "$1/empty" /lib/udev/rules.d; } &&
mount --bind "$1/rules" /etc/udev/rules.d &&
exec udevadm test --action=add "$2"
"""


def rule(mac):
    return _vfpolicy.files("udevtest", mac, "/udev", "/network")["udev_rule"][1]


@pytest.fixture
def udevadm_test(tmp_path):
    """udevadm_test(rule_text, device) -> udevadm test's output with only that rule."""
    for name in ("empty", "rules"):
        (tmp_path / name).mkdir()

    def run(text, device):
        (tmp_path / "rules" / "90-hyperv-netvsc-vf-udevtest.rules").write_text(text)
        proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", ONLY_RULE,
                               "sh", str(tmp_path), device], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=60, check=False)
        return proc.stdout
    return run


@pytest.fixture(scope="module")
def pci_netdev():
    """(sysfs path, MAC, PCI driver) of a network device of this host with a PCI parent."""
    for name in sorted(os.listdir("/sys/class/net")):
        device = os.path.realpath("/sys/class/net/%s/device" % name)
        if "/pci" not in device:
            continue
        while os.path.basename(os.path.realpath(device + "/subsystem")) != "pci":
            device = os.path.dirname(device)
        with open("/sys/class/net/%s/address" % name) as handle:
            mac = handle.read().strip()
        driver = os.path.basename(os.path.realpath(device + "/driver"))
        return "/sys/class/net/" + name, mac, driver
    pytest.fail("this host has no network device with a PCI parent")


def test_declared_mac_gets_the_three_properties(udevadm_test, pci_netdev):
    out = udevadm_test(rule(pci_netdev[1]), pci_netdev[0])
    assert not PROBLEMS.search(out), out
    assert len(PROPERTIES.findall(out)) == 3, out


def test_the_check_reports_a_broken_rule(udevadm_test, pci_netdev):
    out = udevadm_test('SUBSYSTEM=="net", BOGUS{x}="y"\n', pci_netdev[0])
    assert PROBLEMS.search(out), out


def test_kmod_line_runs_for_the_vf_pci_driver_only(udevadm_test, pci_netdev):
    path, mac, driver = pci_netdev
    assert "run: 'kmod load" not in udevadm_test(rule(mac), path)
    # With this host's PCI driver in place of mlx5_core, udev runs the mlx5 line.
    out = udevadm_test(rule(mac).replace('DRIVERS=="mlx5_core"', 'DRIVERS=="%s"' % driver), path)
    assert "run: 'kmod load mlx5_ib ib_uverbs'" in out.splitlines(), out


def test_other_mac_gets_nothing(udevadm_test, pci_netdev):
    out = udevadm_test(rule("00:0d:3a:00:00:99"), pci_netdev[0])
    assert PROPERTIES.findall(out) == [], out


def test_device_without_pci_parent_gets_nothing(udevadm_test):
    out = udevadm_test(rule("00:00:00:00:00:00"), "/sys/class/net/lo")
    assert PROPERTIES.findall(out) == [], out
