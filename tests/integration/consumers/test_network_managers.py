# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd-networkd and NetworkManager read netvsc_pair's per-pairing VF policy
(plugins/module_utils/_vfpolicy.py) and leave the VF alone, on Debian 11, 12 and 13.

One container per Debian release (tests/fixtures/nspawn.py), with real udevd, networkd
and NetworkManager of that release. The links are veths in the container:

* ``eth1``: the NetVSC stand-in, MAC M (the pairing's MAC);
* ``enP1s1``: its VF stand-in, also MAC M;
* ``enP2s2``: the VF stand-in of a pairing without policy files (MAC N): the control, it
  shows that these veths are links the managers do manage.

An administrator's configuration matches M and N by MAC alone (what cloud images write), so
without the policy both VF stand-ins would be configured. The policy files are written by
_vfpolicy.files() for the pairing (M); the udev rule is the product's with ONE change: a veth
is not a PCI device, so its ``SUBSYSTEMS=="pci"`` match becomes ``KERNEL=="enP1s1"``
(the NetVSC stand-in has the same MAC and must stay unmatched, as a VMBus NetVSC does).

Expected: ``networkctl`` and ``nmcli`` show enP1s1 unmanaged while eth1 is configured /
connected with the administrator's settings and enP2s2 is managed.

What the container needs that a VM has by itself: udevd (nspawn mounts /sys read-only and
systemd then treats udev as absent; the test remounts the container's own /sys top directory
read-write, its sysfs mounts below stay read-only), and NetworkManager's own udev rule that
leaves every veth not named eth* unmanaged is masked (here the veths stand for real NICs;
without masking, the VF stand-in would be unmanaged whatever the policy says).
"""

from __future__ import annotations

import json
import re
import time

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _vfpolicy
from ansible_collections.hyperv.netvsc.tests.fixtures import nspawn

pytestmark = [pytest.mark.nspawn, pytest.mark.root]

PAIR_ID = "000d3a031eb1"
MAC = "00:0d:3a:03:1e:b1"
OTHER_MAC = "00:0d:3a:03:18:c9"
NETVSC, VF, OTHER_VF = "eth1", "enP1s1", "enP2s2"
ADMIN_ADDRESS = "192.0.2.10/24"
OTHER_ADDRESS = "198.51.100.10/24"

# Real udevd and systemd-networkd's udev use in the container (see the module docstring).
PREPARE = """
mount -o remount,rw /sys
ln -sfn /dev/null /etc/udev/rules.d/85-nm-unmanaged.rules
ln -sfn /dev/null /etc/systemd/system/systemd-udev-trigger.service
systemctl daemon-reload
systemctl start systemd-udevd.service
"""
LINKS = """
udevadm control --reload
ip link add {netvsc} address {mac} type veth peer name p-{netvsc}
ip link add {vf} address {mac} type veth peer name p-{vf}
ip link add {other} address {other_mac} type veth peer name p-{other}
for dev in {netvsc} {vf} {other}; do ip link set p-$dev up; done
udevadm settle
""".format(netvsc=NETVSC, vf=VF, other=OTHER_VF, mac=MAC, other_mac=OTHER_MAC)
NETWORKD_ADMIN = """[Match]
MACAddress={mac} {other_mac}

[Network]
Address={address}
""".format(mac=MAC, other_mac=OTHER_MAC, address=ADMIN_ADDRESS)
NM_PROFILE = """[connection]
id={name}
type=ethernet

[ethernet]
mac-address={mac}

[ipv4]
method=manual
address1={address}

[ipv6]
method=disabled
"""


def veth_rule(rule):
    """The product's udev rule, matching the VF stand-in instead of a PCI net device."""
    assert rule.count('SUBSYSTEMS=="pci"') >= 1, rule
    return rule.replace('SUBSYSTEMS=="pci"', 'KERNEL=="%s"' % VF)


@pytest.fixture(scope="module", params=sorted(nspawn.SUITES))
def box(request):
    """A container of one Debian release with udevd, the policy files and the veths."""
    reason = nspawn.unavailable_reason()
    if reason:
        pytest.skip(reason)
    container = nspawn.Container("consumers", nspawn.debian_root(request.param)).start()
    try:
        container.suite = request.param
        container.sh(PREPARE)
        policy = _vfpolicy.files(PAIR_ID, MAC, "/etc/udev/rules.d", "/etc/systemd/network")
        for name, (path, text) in policy.items():
            container.run(["tee", path], input=veth_rule(text) if name == "udev_rule" else text)
        container.sh(LINKS)
        yield container
    finally:
        container.stop()


def udev_properties(box, link):
    out = box.run(["udevadm", "info", "--query=property", "/sys/class/net/" + link]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait(what, read, ready, timeout=45.0):
    """read() until ready(value); fail with the last value after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ready(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s: still %r after %.0fs" % (what, value, timeout))
        time.sleep(0.5)


def test_udev_tags_only_the_vf(box):
    vf, netvsc, other = (udev_properties(box, link) for link in (VF, NETVSC, OTHER_VF))
    assert (vf.get("NETVSC_VF_UNMANAGED"), vf.get("ID_NET_MANAGED_BY"),
            vf.get("NM_UNMANAGED")) == ("1", "unmanaged", "1"), vf
    for props in (netvsc, other):
        assert "NETVSC_VF_UNMANAGED" not in props and props.get("NM_UNMANAGED") != "1", props


def networkctl_setup(box):
    out = box.run(["networkctl", "list", "--no-pager", "--no-legend"]).stdout
    # "IDX LINK TYPE OPERATIONAL SETUP"
    return {f[1]: f[4] for f in (line.split() for line in out.splitlines()) if len(f) >= 5}


def test_networkd_leaves_the_vf_unmanaged(box):
    box.run(["tee", "/etc/systemd/network/50-admin.network"], input=NETWORKD_ADMIN)
    box.run(["systemctl", "start", "systemd-networkd.service"])
    try:
        setup = wait("networkctl list", lambda: networkctl_setup(box),
                     lambda s: s.get(NETVSC) == s.get(OTHER_VF) == "configured")
        print("%s: systemd %s networkctl: %s" % (
            box.suite, nspawn.SUITES[box.suite]["systemd"], json.dumps(setup, sort_keys=True)))
        assert setup[VF] == "unmanaged", setup
        status = box.run(["networkctl", "status", "--no-pager", VF]).stdout
        assert re.search(r"State: \S+ \(unmanaged\)", status), status
        addresses = box.run(["ip", "-o", "-4", "addr", "show"]).stdout
        assert ADMIN_ADDRESS in addresses and OTHER_ADDRESS not in addresses
        assert re.search(r"\d+: %s\s+inet %s" % (NETVSC, re.escape(ADMIN_ADDRESS)), addresses)
        assert not re.search(r"\d+: %s\s+inet " % VF, addresses), addresses
    finally:
        box.sh("systemctl stop systemd-networkd.service systemd-networkd.socket; "
               "rm /etc/systemd/network/50-admin.network; "
               "for dev in %s %s %s; do ip addr flush dev $dev; done" % (NETVSC, VF, OTHER_VF))


def nmcli_states(box):
    out = box.run(["nmcli", "-t", "-f", "DEVICE,STATE,CONNECTION", "device"]).stdout
    return {f[0]: (f[1], f[2]) for f in (line.split(":") for line in out.splitlines()) if len(f) >= 3}


def test_networkmanager_leaves_the_vf_unmanaged(box):
    profiles = {"admin": (MAC, ADMIN_ADDRESS), "other": (OTHER_MAC, OTHER_ADDRESS)}
    for name, (mac, address) in profiles.items():
        path = "/etc/NetworkManager/system-connections/%s.nmconnection" % name
        box.run(["tee", path], input=NM_PROFILE.format(name=name, mac=mac.upper(), address=address))
        box.run(["chmod", "0600", path])
    box.run(["systemctl", "start", "NetworkManager.service"])
    try:
        states = wait("nmcli device", lambda: nmcli_states(box),
                      lambda s: s.get(NETVSC, ("",))[0] == s.get(OTHER_VF, ("",))[0] == "connected")
        print("%s: NetworkManager %s nmcli: %s" % (
            box.suite, box.run(["NetworkManager", "--version"]).stdout.strip(),
            json.dumps(states, sort_keys=True)))
        assert states[VF][0] == "unmanaged", states
        assert states[NETVSC] == ("connected", "admin"), states
        assert states[OTHER_VF] == ("connected", "other"), states
        managed = box.run(["nmcli", "-g", "GENERAL.NM-MANAGED", "device", "show", VF]).stdout
        assert managed.strip() == "no"
    finally:
        box.sh("systemctl stop NetworkManager.service; "
               "rm -f /etc/NetworkManager/system-connections/*.nmconnection")
