#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hot-plug a VF in a simulated sysfs tree (CLI over tests/fixtures/sysfs_tree.py's mutators).

Used by the Molecule side effects on the host, where the instance's fixture dir is
bind-mounted into its container (the container sees each change at once):

    fixture_hotplug.py remove-vf ROOT VF_NAME
    fixture_hotplug.py add-vf ROOT NETVSC [--domain HEX] [--serial N] [--name NAME]
                                          [--ifindex N] [--kind mlx5|mlx4|mana]
    fixture_hotplug.py rebind ROOT CASE NETVSC... [--driver uio_hv_generic] [--vf-kind mana]

remove-vf and add-vf print one JSON line describing the VF as the tree now has it (add-vf:
name, mac, pci_address, ifindex; remove-vf: the removed name and what it was), so a playbook
can create/delete the matching real veth and know the PCI address the monitor must publish.
rebind writes ROOT anew: CASE as the kernel shows it once the NetVSCs are bound to the driver
(sysfs_tree.rebound: no netdev, the VF without master; --vf-kind: the VM moved to that VF
kind), and prints {"rebound": [NETVSC...]}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "fixtures"))
import sysfs_tree  # noqa: E402  pylint: disable=wrong-import-position


def _read(path):
    with open(path) as handle:
        return handle.read().strip()


def describe(root, name):
    """name, mac, pci_address and ifindex of netdev NAME in the tree ROOT."""
    ndir = os.path.join(root, "class", "net", name)
    return {
        "name": name,
        "mac": _read(os.path.join(ndir, "address")),
        "ifindex": int(_read(os.path.join(ndir, "ifindex"))),
        "pci_address": os.path.basename(os.path.realpath(os.path.join(ndir, "device"))),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="action", required=True)
    rem = sub.add_parser("remove-vf", help="hot-remove a VF netdev (and its PCI function)")
    rem.add_argument("root")
    rem.add_argument("vf")
    add = sub.add_parser("add-vf", help="hot-add a VF for a NetVSC (name or VMBus GUID)")
    add.add_argument("root")
    add.add_argument("netvsc")
    add.add_argument("--kind", default="mlx5", choices=sorted(sysfs_tree.KINDS))
    add.add_argument("--domain", type=lambda value: int(value, 16),
                     help="PCI domain in hex (default: first free from 1000)")
    add.add_argument("--serial", type=int, help="PCI slot number (default: first free)")
    add.add_argument("--name", help="netdev name (default: enP<domain>s<serial>)")
    add.add_argument("--ifindex", type=int, help="default: highest ifindex + 1")
    bind = sub.add_parser("rebind", help="rebuild CASE as the kernel shows it once NETVSCs are bound")
    bind.add_argument("root")
    bind.add_argument("case", choices=sorted(sysfs_tree.CASES))
    bind.add_argument("netvsc", nargs="+")
    bind.add_argument("--driver", default="uio_hv_generic", choices=["hv_netvsc", "uio_hv_generic"])
    bind.add_argument("--vf-kind", choices=sorted(sysfs_tree.KINDS))
    args = parser.parse_args(argv)

    if args.action == "rebind":
        spec = sysfs_tree.rebound(sysfs_tree.CASES[args.case], args.netvsc, args.driver, args.vf_kind)
        shutil.rmtree(args.root, ignore_errors=True)
        sysfs_tree.build(spec, args.root)
        print(json.dumps({"rebound": args.netvsc}))
        return 0

    if args.action == "remove-vf":
        before = describe(args.root, args.vf)
        sysfs_tree.remove_vf(args.root, args.vf)
        if os.path.lexists(os.path.join(args.root, "class", "net", args.vf)):
            raise SystemExit("%s is still in %s" % (args.vf, args.root))
        print(json.dumps({"removed": before}, sort_keys=True))
        return 0

    spec = {"kind": args.kind}
    for key in ("domain", "serial", "name", "ifindex"):
        if getattr(args, key) is not None:
            spec[key] = getattr(args, key)
    name = sysfs_tree.add_vf(args.root, args.netvsc, spec)
    print(json.dumps({"added": describe(args.root, name)}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
