# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VF policy of one pairing: files netvsc_pair writes so that the SR-IOV VF, whenever it
(re)appears, is left alone by network managers and has the RDMA verbs modules DPDK needs.

* ``<udev_rules_dir>/90-hyperv-netvsc-vf-<id>.rules`` matches the VF as "PCI net device with
  the NetVSC's MAC" (the NetVSC has the same MAC but is a VMBus device, never below PCI), so
  it applies at the VF's first ``add`` event. It sets NM_UNMANAGED, ID_NET_MANAGED_BY and
  NETVSC_VF_UNMANAGED (``unmanaged``) and loads the RDMA modules of each VF kind (``modules``).
* ``<network_dir>/01-hyperv-netvsc-vf-<id>.network`` (``unmanaged``) makes systemd-networkd
  older than 255, which ignores ID_NET_MANAGED_BY, leave the VF unmanaged.

:func:`files` says what each file must hold (None: must not exist), :func:`plan` turns that
into a :class:`_plan.Plan`, applied unless in check mode. Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import os

from ._plan import Plan
from ._scan import KIND_MODULES, KINDS

DEFAULT_NETWORK_DIR = "/etc/systemd/network"
UDEV_RULE_PREFIX = "90-hyperv-netvsc-vf-"
NETWORK_PREFIX = "01-hyperv-netvsc-vf-"

FILES = ("udev_rule", "network")


def _udev_rule_name(pair_id):
    return "%s%s.rules" % (UDEV_RULE_PREFIX, pair_id)


def _network_name(pair_id):
    return "%s%s.network" % (NETWORK_PREFIX, pair_id)


def _header(pair_id, mac):
    return ("# Managed by hyperv.netvsc.netvsc_pair, pairing %s (NetVSC MAC %s).\n"
            "# DPDK owns this pairing's SR-IOV VF. Remove with netvsc_pair state=absent.\n"
            % (pair_id, mac))


def udev_rule(pair_id, mac, unmanaged=True, modules=True):
    """Text of the pairing's udev rule (mac: lowercase colon form), None if both options are off."""
    if not (unmanaged or modules):
        return None
    match = 'SUBSYSTEM=="net", ACTION!="remove", SUBSYSTEMS=="pci", ATTR{address}=="%s"' % mac
    text = _header(pair_id, mac) + (
        "# The VF is the PCI net device with the NetVSC's MAC (the NetVSC has the same MAC but is\n"
        "# a VMBus device, never below PCI); this holds from the VF's first \"add\" event.\n")
    if unmanaged:
        text += (
            "# Keep network managers off the VF:\n"
            "#   NM_UNMANAGED=1              NetworkManager\n"
            "#   ID_NET_MANAGED_BY=unmanaged systemd-networkd >= 255\n"
            "#   NETVSC_VF_UNMANAGED=1       older systemd-networkd (%s)\n"
            '%s, ENV{NETVSC_VF_UNMANAGED}="1", ENV{ID_NET_MANAGED_BY}="unmanaged", '
            'ENV{NM_UNMANAGED}="1"\n' % (_network_name(pair_id), match))
    if modules:
        text += (
            "# Load the RDMA verbs modules the mlx4/mlx5/MANA PMDs need; they are not loaded with\n"
            "# the VF's driver. One line per VF kind, whatever the VF is now: after live migration\n"
            "# or host servicing the VF can come back as another kind.\n")
        for kind in KINDS:
            if kind in KIND_MODULES:
                driver, names = KIND_MODULES[kind]
                text += '%s, DRIVERS=="%s", RUN{builtin}+="kmod load %s"\n' % (
                    match, driver, " ".join(names))
    return text


def network_file(pair_id, mac):
    """Text of the pairing's systemd-networkd file (mac: lowercase colon form)."""
    return _header(pair_id, mac) + (
        "# systemd-networkd must not configure the VF. The MAC alone would also match the NetVSC,\n"
        "# which has the same MAC: NETVSC_VF_UNMANAGED=1 is set on the VF only, by\n"
        "# %s. The low number sorts this file before catch-all ones.\n"
        "[Match]\n"
        "MACAddress=%s\n"
        "Property=NETVSC_VF_UNMANAGED=1\n"
        "\n"
        "[Link]\n"
        "Unmanaged=yes\n" % (_udev_rule_name(pair_id), mac))


def files(pair_id, mac, udev_rules_dir, network_dir, unmanaged=True, modules=True):
    """{name in FILES: (path, text)} of one pairing; text None: the file must not exist.

    Both options off (what state=absent asks for) needs no mac.
    """
    return {
        "udev_rule": (os.path.join(udev_rules_dir, _udev_rule_name(pair_id)),
                      udev_rule(pair_id, mac, unmanaged, modules)),
        "network": (os.path.join(network_dir, _network_name(pair_id)),
                    network_file(pair_id, mac) if unmanaged else None),
    }


def plan(policy_files, move=None):
    """The Plan that brings the files of files() to their wanted content or removes them."""
    result = Plan(move)
    for path, text in policy_files.values():
        if text is None:
            result.remove(path)
        else:
            result.write(path, text)
    return result


def written(policy_files):
    """{name in FILES: path, or None when that file is not wanted (or not planned at all)}."""
    paths = dict.fromkeys(FILES)
    paths.update((name, path) for name, (path, text) in policy_files.items() if text is not None)
    return paths
