#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulated demo fleet: sysfs trees from the fixture cases, one sandbox per host.

Each host runs over the ``local`` connection with its own simulated sysfs
(``netvsc_sysfs_root``) and its own sandbox root (``netvsc_root_dir``) under the build
directory, so nothing needs root and nothing touches the real system::

    <dest>/hosts/<host>/sys/    sysfs tree (tests/fixtures/sysfs_tree.py) + simulated network,
                                with 1024 hugepages of 2 MiB reserved
    <dest>/hosts/<host>/os/     what netvsc_facts' readiness probes read (tests/fixtures/os_tree.py:
                                kernel modules, DPDK, rdma-core of Debian 12, or 13 where said)
    <dest>/hosts/<host>/root/   everything the role writes (etc/netvsc, run/netvsc, ...)
    <dest>/inventory/10-fleet.yml        generated hosts and per-host variables
    <dest>/inventory/20-constructed.yml  copy of demo/inventory/20-constructed.yml
    <dest>/facts/                        jsonfile fact cache (demo/ansible.cfg)

Commands::

    python3 demo/fleet.py build [--dest build/demo] [--hosts N]   # N>0: N hosts cycling the mix
    python3 demo/fleet.py table [--dest build/demo]                # fleet table from report.json
    python3 demo/fleet.py list                                      # the 18 demo hosts

Stdlib only; importable (``build_fleet``, ``FLEET``, ``fleet_hosts``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))

import os_tree  # noqa: E402  (tests/fixtures/os_tree.py)
import sysfs_tree  # noqa: E402  (tests/fixtures/sysfs_tree.py)

# host name -> (fixture case, what it shows, extra host variables). Hosts whose extra
# variables say "netvsc_demo_role": False are only observed (facts, report), not given the
# role: they sit in group netvsc_observed instead of netvsc_hosts (site.yml's default target).
# "netvsc_demo_os" picks the operating system the readiness probes see (default debian12).
FLEET = {
    "az-cx5-01": ("cx5_4nic", "Gen1, 4 NetVSC + ConnectX-5 VFs; eth0 routed management NIC", {}),
    "az-cx5-02": ("cx5_4nic", "second ConnectX-5 host (same size)", {}),
    "az-cx4lx-01": ("cx4lx", "one routed NetVSC with a ConnectX-4 Lx VF: left alone", {}),
    "az-mlx4-01": ("mlx4_old_kernel", "ConnectX-3 (mlx4) VF, old kernel: pairs by MAC", {}),
    # Fail-safe over MANA is refused (docs/modes.md), so MANA hosts need the netvsc PMD, whose
    # uio_hv_generic binding the sandbox cannot do (no modprobe, no real devices): observed only.
    "az-mana-01": ("mana_shared_pci", "MANA: two vPorts share one PCI function (observed)",
                   {"netvsc_mode": "netvsc_pmd", "netvsc_demo_role": False}),
    "az-mana-02": ("mana_shared_pci", "second MANA host, Debian 13: DPDK 24.11 has the MANA PMD (observed)",
                   {"netvsc_mode": "netvsc_pmd", "netvsc_demo_role": False,
                    "netvsc_demo_os": "debian13"}),
    "az-servicing-01": ("vf_absent_servicing", "host servicing: eth1's VF is gone", {}),
    # eth1 has no netdev any more, so its MAC is not in sysfs; the role's EAL step needs it
    # (a declaration written before the rebind would carry it): observed only.
    "az-uio-01": ("uio_bound", "eth1 bound to uio_hv_generic, netvsc PMD (observed)",
                  {"netvsc_mode": "netvsc_pmd", "netvsc_demo_role": False}),
    "az-ambiguous-01": ("ambiguous_macs", "two masterless VFs carry eth1's MAC: none paired", {}),
    "az-decoys-01": ("decoys", "VLAN/bridge/macvlan/tap/veth decoys with NetVSC MACs", {}),
    # eth1's MAC is garbled (no usable MAC): pair only eth2 and eth3.
    "az-garbled-01": ("garbage", "garbled sysfs attributes (warnings, no crash)",
                      {"netvsc_interfaces": ["eth2", "eth3"]}),
    "az-big-01": ("many:16", "16 NetVSC + 16 mlx5 VFs", {}),
    "az-vanishing-01": ("vanishing", "a class/net link whose device is gone", {}),
    "kvm-01": ("kvm_virtio", "KVM guest, virtio-net: not Hyper-V (skipped)", {}),
    # Not VFs (the VF rule): none of these is an unpaired VF.
    "az-hpc-01": ("hpc_infiniband", "HPC size: InfiniBand VF (ib0) beside the Ethernet VF (observed)",
                  {"netvsc_demo_role": False}),
    "hv-gen1-01": ("gen1_legacy_nic", "Gen1 with the Legacy Network Adapter kept for PXE (observed)",
                   {"netvsc_demo_role": False}),
    "az-mana-nodrv-01": ("mana_no_driver", "MANA PCI function without a driver: no VF netdev (observed)",
                         {"netvsc_demo_role": False}),
    "vmware-01": ("vmware_vmxnet3", "VMware guest, vmxnet3: not Hyper-V (observed)",
                  {"netvsc_demo_role": False}),
}
DEMO_HUGEPAGES = {"2048kB": {"nodes": [1024]}}

# Cases cycled for --hosts N (the fleet-scale benchmark): a realistic, mostly-healthy mix.
SCALE_MIX = ["cx5_4nic", "cx4lx", "mana_shared_pci", "mlx4_old_kernel", "vf_absent_servicing",
             "cx5_4nic", "mana_shared_pci", "uio_bound", "cx4lx", "kvm_virtio"]


def case_spec(name):
    if name.startswith("many:"):
        return sysfs_tree.many(int(name.split(":", 1)[1]))
    return sysfs_tree.CASES[name]


def fleet_hosts(count=0):
    """{host: (case, description, extra vars)}: the demo fleet, or count hosts cycling SCALE_MIX."""
    if not count:
        return dict(FLEET)
    # Cases the role cannot deploy in the sandbox are observed only, as in FLEET.
    observed = {"mana_shared_pci": {"netvsc_mode": "netvsc_pmd", "netvsc_demo_role": False},
                "uio_bound": {"netvsc_mode": "netvsc_pmd", "netvsc_demo_role": False}}
    return dict(("sim-%04d" % i, (SCALE_MIX[i % len(SCALE_MIX)], "scale host",
                                  observed.get(SCALE_MIX[i % len(SCALE_MIX)], {})))
                for i in range(count))


def _yaml_scalar(value):
    # JSON is valid YAML; it quotes every string safely.
    return json.dumps(value)


def write_inventory(dest, hosts):
    """Write <dest>/inventory/10-fleet.yml (+ the constructed config); return the directory."""
    inv = os.path.join(dest, "inventory")
    os.makedirs(inv, exist_ok=True)
    lines = [
        "# Generated by demo/fleet.py: do not edit (rebuilt by `make demo`).",
        "all:",
        "  vars:",
        "    ansible_connection: local",
        "    ansible_python_interpreter: \"{{ ansible_playbook_python }}\"",
        "    netvsc_manage_services: false",
        "    netvsc_non_hyperv: skip",
        "    netvsc_become: false",
        "  children:",
    ]
    groups = {"netvsc_hosts": [], "netvsc_observed": []}
    for host, (_case, _about, extra) in sorted(hosts.items()):
        groups["netvsc_hosts" if extra.get("netvsc_demo_role", True) else "netvsc_observed"].append(host)
    for group, members in sorted(groups.items()):
        if not members:
            continue
        lines.extend(["    %s:" % group, "      hosts:"])
        for host in members:
            lines.extend(host_lines(dest, host, hosts[host]))
    with open(os.path.join(inv, "10-fleet.yml"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    src = os.path.join(HERE, "inventory")
    for name in sorted(os.listdir(src)):
        if name.endswith((".yml", ".yaml")):
            shutil.copyfile(os.path.join(src, name), os.path.join(inv, name))
    return inv


def host_lines(dest, host, entry):
    """Inventory lines of one host: its sysfs tree, its sandbox root and its extra variables."""
    case, about, extra = entry
    base = os.path.join(dest, "hosts", host)
    hostvars = {"netvsc_demo_case": case, "netvsc_demo_about": about,
                "netvsc_sysfs_root": os.path.join(base, "sys"),
                "netvsc_root_dir": os.path.join(base, "root")}
    hostvars["netvsc_readiness_root"] = os.path.join(base, "os")
    hostvars.update((k, v) for k, v in extra.items() if k not in ("netvsc_demo_role", "netvsc_demo_os"))
    lines = ["        %s:" % host]
    for key in sorted(hostvars):
        lines.append("          %s: %s" % (key, _yaml_scalar(hostvars[key])))
    return lines


def build_fleet(dest, count=0, clean=True):
    """Build every host's sysfs tree and sandbox root, and the inventory; return the hosts."""
    dest = os.path.abspath(dest)
    hosts = fleet_hosts(count)
    if clean:
        for sub in ("hosts", "inventory", "facts", "report"):
            shutil.rmtree(os.path.join(dest, sub), ignore_errors=True)
    specs = {}
    for host, (case, _about, extra) in sorted(hosts.items()):
        base = os.path.join(dest, "hosts", host)
        if case not in specs:
            specs[case] = dict(case_spec(case), hugepages=DEMO_HUGEPAGES)
        spec = specs[case]
        sysfs_tree.build(spec, os.path.join(base, "sys"))
        sysfs_tree.write_simulated_network(spec, os.path.join(base, "sys"))
        os_tree.build(extra.get("netvsc_demo_os", "debian12"), os.path.join(base, "os"))
        os.makedirs(os.path.join(base, "root"), exist_ok=True)
    write_inventory(dest, hosts)
    return hosts


def fleet_table(report_json, out=sys.stdout):
    """Print the report rows (problems first) as a plain text table."""
    with open(report_json) as handle:
        data = json.load(handle)
    cols = [("STATUS", lambda r: ["PROBLEM", "warning", "ok", "n/a"][r["severity"]]),
            ("HOST", lambda r: r["host"]),
            ("NETVSC", lambda r: (r["netvsc"] or "-") if len(r["netvsc"] or "") <= 16
             else r["netvsc"][:13] + "..."),
            ("VF", lambda r: r["vf"] or ("absent" if r["driver"] else "-")),
            ("KIND", lambda r: r["kind"] or "-"),
            ("PCI", lambda r: r["pci_address"] or "-"),
            ("PAIRED_BY", lambda r: r["paired_by"] or "-"),
            ("DPDK", lambda r: {True: "ready", False: "NOT READY"}.get(r["ready"], "-")),
            ("MONITOR", lambda r: r["monitor"] or "-"),
            ("NOTE", lambda r: (r["problems"] or [""])[0][:60])]
    rows = [[fn(r) for _name, fn in cols] for r in data["rows"]]
    widths = [max([len(name)] + [len(row[i]) for row in rows]) for i, (name, _fn) in enumerate(cols)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    out.write(fmt % tuple(name for name, _fn in cols) + "\n")
    for row in rows:
        out.write((fmt % tuple(row)).rstrip() + "\n")
    s = data["summary"]
    out.write("\n%d hosts (%d Hyper-V, %d not applicable), %d NetVSCs, %d with VF, %d without, "
              "%d unpaired VFs, %d not ready for DPDK; %d rows with problems, %d with warnings\n" % (
                  s["hosts"], s["hyperv_hosts"], s["not_applicable_hosts"], s["netvscs"], s["with_vf"],
                  s["without_vf"], s["unpaired_vfs"], s["not_ready"], s["problem_rows"], s["warning_rows"]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the trees, sandboxes and inventory")
    b.add_argument("--dest", default=os.path.join(REPO, "build", "demo"))
    b.add_argument("--hosts", type=int, default=0, help="N simulated hosts instead of the demo fleet")
    t = sub.add_parser("table", help="print the fleet table from the report's JSON")
    t.add_argument("--dest", default=os.path.join(REPO, "build", "demo"))
    sub.add_parser("list", help="list the demo hosts")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        hosts = build_fleet(args.dest, args.hosts)
        print("built %d hosts in %s" % (len(hosts), os.path.abspath(args.dest)))
    elif args.cmd == "table":
        fleet_table(os.path.join(args.dest, "report", "report.json"))
    else:
        for host, (case, about, _extra) in sorted(FLEET.items()):
            print("%-18s %-20s %s" % (host, case, about))
    return 0


if __name__ == "__main__":
    sys.exit(main())
