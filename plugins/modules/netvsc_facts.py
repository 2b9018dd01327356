#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netvsc_facts
short_description: Gather NetVSC and SR-IOV VF facts on Hyper-V and Azure guests
version_added: 0.1.0
description:
  - Reads sysfs and returns every NetVSC (synthetic Hyper-V NIC, driver C(hv_netvsc)) with the
    SR-IOV virtual function (VF) the host paired with it for Accelerated Networking.
  - "Pairing rule: (1) a VF whose C(master) link points at a NetVSC is paired to it
    (RV(ansible_facts.netvsc.interfaces.vf.paired_by=kernel)); (2) otherwise a VF without
    a master pairs by exactly one MAC match with a NetVSC that has no VF yet (C(mac));
    (3) when two or more masterless VFs carry the same NetVSC MAC none is paired, they are
    reported in RV(ansible_facts.netvsc.unpaired_vfs) and a warning is issued."
  - "VF rule: on a Hyper-V guest (VMBus present) a PCI Ethernet netdev is a VF candidate when
    its PCI ids are a known Hyper-V VF family (mlx4, mlx5 VF ids, MANA), or it carries a
    NetVSC's MAC, or the kernel links it to a NetVSC (its C(master)). Other PCI NICs (emulated,
    other hypervisors', passthrough, InfiniBand) are reported in
    RV(ansible_facts.netvsc.other_pci_nics), never as unpaired VFs. On a host that is not a
    Hyper-V guest RV(ansible_facts.netvsc.unpaired_vfs) is empty."
  - VLAN, bridge, macvlan, tap, veth and bond devices are not on the PCI bus and never pair,
    whatever their MAC.
  - Every warning starts with the host's node name (and the O(sysfs_root) when it is not
    C(/sys)), so warnings of a fleet run say which host they come from.
  - NetVSC VMBus devices without a netdev (for example bound to C(uio_hv_generic) for the
    DPDK netvsc PMD) are reported under their VMBus GUID, with the MAC that
    M(hyperv.netvsc.netvsc_pair) recorded in O(config_dir), so their VF still pairs by MAC.
  - Addresses come from the kernel over rtnetlink and are kept only for interfaces whose
    kernel name and ifindex match the sysfs tree, so a tree from another host never borrows
    local addresses.
  - "Readiness for DPDK (O(readiness)): the installed DPDK and its relevant PMDs, the kernel
    release and its modules, rdma-core's verbs providers and hugepages per size and NUMA node,
    all read from files (no program is run); then per NetVSC a V(ready) verdict with the
    reasons, for example C(MANA VF, but the installed DPDK 22.11 has no MANA PMD)."
  - Never changes anything. Works inside C(gather_facts) through C(ansible_facts_modules).
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
  - hyperv.netvsc.paths
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
options:
  interfaces:
    description:
      - Only report these NetVSC interfaces, given by netdev name, MAC or VMBus GUID.
      - An entry that is not a NetVSC fails the task with a message that names the valid
        interfaces, or the NetVSC a VF belongs to.
    type: list
    elements: str
  readiness:
    description:
      - Gather RV(ansible_facts.netvsc.readiness) on Hyper-V guests. V(false) skips it.
    type: bool
    default: true
  readiness_root:
    description:
      - Directory the readiness probes read C(/proc/sys/kernel/osrelease), C(/lib/modules),
        and the DPDK and rdma-core libraries below (a container's or chroot's root, or a test
        tree). Loaded modules and hugepages are read from O(sysfs_root).
    type: path
    default: /
notes:
  - Reference the facts as C(ansible_facts['netvsc']); top-level fact injection is deprecated.
seealso:
  - module: hyperv.netvsc.netvsc_pair
  - module: hyperv.netvsc.netvsc_failsafe
"""

EXAMPLES = r"""
- name: Gather NetVSC facts
  hyperv.netvsc.netvsc_facts:

- name: Show the VF of eth1
  ansible.builtin.debug:
    msg: "{{ ansible_facts['netvsc']['interfaces']['eth1']['vf'] }}"

- name: Gather only two interfaces, one of them by MAC
  hyperv.netvsc.netvsc_facts:
    interfaces:
      - eth1
      - 00:0d:3a:03:18:c9

# Gather them with the core facts in every play (ansible.cfg or inventory):
#   [defaults]
#   facts_modules = ansible.builtin.setup, hyperv.netvsc.netvsc_facts
# or per play:
- name: Gather core and NetVSC facts together
  hosts: azure_dpdk
  vars:
    ansible_facts_modules:
      - ansible.builtin.setup
      - hyperv.netvsc.netvsc_facts
  tasks:
    - name: List hosts whose VF is missing
      ansible.builtin.debug:
        msg: "{{ inventory_hostname }}: {{ item.key }} has no VF"
      loop: "{{ ansible_facts['netvsc']['interfaces'] | dict2items }}"
      when: item.value.vf is none
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to C(ansible_facts).
  returned: always
  type: dict
  contains:
    netvsc:
      description: NetVSC interfaces, their VFs, and VFs that pair with nothing.
      returned: always
      type: dict
      contains:
        hyperv:
          description: Whether this host is a Hyper-V or Azure guest (VMBus present, or DMI says
            C(Microsoft Corporation) C(Virtual Machine)).
          returned: always
          type: bool
          sample: true
        interfaces:
          description: One entry per NetVSC, keyed by netdev name, or by VMBus GUID when the
            device has no netdev.
          returned: always
          type: dict
          contains:
            name:
              description: Netdev name; V(null) when the device has no netdev.
              type: str
              returned: always
              sample: eth1
            mac:
              description: Lowercase MAC; V(null) when the device has no netdev.
              type: str
              returned: always
              sample: "00:0d:3a:03:1e:b1"
            vmbus_id:
              description: VMBus instance GUID, lowercase, without braces.
              type: str
              returned: always
              sample: 000d3a03-1eb1-000d-3a03-1eb1000d3a03
            driver:
              description: Driver bound to the VMBus device (C(hv_netvsc), C(uio_hv_generic)).
              type: str
              returned: always
              sample: hv_netvsc
            ifindex:
              description: Kernel interface index.
              type: int
              returned: always
              sample: 3
            mtu:
              description: MTU in bytes.
              type: int
              returned: always
              sample: 1500
            operstate:
              description: RFC 2863 operational state from sysfs.
              type: str
              returned: always
              sample: up
            addresses:
              description:
                - IPv4 and IPv6 addresses with prefix length, link-local IPv6 left out.
                - A NetVSC with addresses carries routed traffic, maybe the management
                  connection; the other modules refuse it unless forced.
              type: list
              elements: str
              returned: always
              sample: ["10.0.1.4/24"]
            vf:
              description: The paired VF, V(null) when none is paired.
              type: dict
              returned: always
              contains:
                name:
                  description: VF netdev name.
                  type: str
                  returned: always
                  sample: enP41635s2
                mac:
                  description: VF MAC (equal to the NetVSC MAC).
                  type: str
                  returned: always
                  sample: "00:0d:3a:03:1e:b1"
                pci_address:
                  description: PCI address (domain:bus:device.function).
                  type: str
                  returned: always
                  sample: "a2a3:00:02.0"
                driver:
                  description: PCI driver bound to the VF.
                  type: str
                  returned: always
                  sample: mlx5_core
                kind:
                  description: VF family from the PCI ids.
                  type: str
                  returned: always
                  choices: [mlx4, mlx5, mana, unknown]
                  sample: mlx5
                vendor_id:
                  description: PCI vendor id.
                  type: str
                  returned: always
                  sample: "0x15b3"
                device_id:
                  description: PCI device id.
                  type: str
                  returned: always
                  sample: "0x1018"
                ifindex:
                  description: Kernel interface index of the VF.
                  type: int
                  returned: always
                  sample: 8
                mtu:
                  description: VF MTU.
                  type: int
                  returned: always
                  sample: 1500
                operstate:
                  description: VF operational state.
                  type: str
                  returned: always
                  sample: up
                numa_node:
                  description: NUMA node of the PCI device (V(-1) when unknown).
                  type: int
                  returned: always
                  sample: 0
                master:
                  description: Netdev the kernel enslaved the VF to, or V(null).
                  type: str
                  returned: always
                  sample: eth1
                paired_by:
                  description: How the pairing was found.
                  type: str
                  returned: always
                  choices: [kernel, mac]
                  sample: kernel
        unpaired_vfs:
          description:
            - VF candidates that pair with no NetVSC, with the same fields as
              RV(ansible_facts.netvsc.interfaces.vf) (C(paired_by) is V(null)) plus
              C(unpaired_reason).
            - C(unpaired_reason) names the cause, for example C(2 VFs (enP12161s3, enP41635s2)
              and 1 NetVSC carry MAC 00:0d:3a:03:1e:b1), C(no NetVSC carries its MAC ...),
              C(enslaved to br0, which is not a NetVSC).
            - Always empty on a host that is not a Hyper-V guest.
          returned: always
          type: list
          elements: dict
          sample: []
        other_pci_nics:
          description:
            - PCI network devices that are not VF candidates (see the VF rule above), such as
              the emulated Legacy Network Adapter of a Gen1 VM, VMware vmxnet3, a passthrough
              NIC, the primary of a KVM C(net_failover) pair, an InfiniBand VF's IPoIB netdev.
            - Sorted by name.
          returned: always
          type: list
          elements: dict
          contains:
            name:
              description: Netdev name.
              type: str
              returned: always
              sample: enp0s10
            mac:
              description: Lowercase MAC; V(null) for non-Ethernet devices.
              type: str
              returned: always
              sample: "00:15:5d:0a:1e:06"
            link_type:
              description: V(ether), V(infiniband), or C(arphrd <n>) for other link types.
              type: str
              returned: always
              sample: ether
            pci_address:
              description: PCI address.
              type: str
              returned: always
              sample: "0000:00:0a.0"
            driver:
              description: PCI driver bound to the device.
              type: str
              returned: always
              sample: tulip
            vendor_id:
              description: PCI vendor id.
              type: str
              returned: always
              sample: "0x1011"
            device_id:
              description: PCI device id.
              type: str
              returned: always
              sample: "0x0009"
            master:
              description: Netdev the device is enslaved to (bridge, bond, C(net_failover)), or V(null).
              type: str
              returned: always
              sample: null
        vf_functions_without_netdev:
          description:
            - PCI functions with a known VF family's ids that have no netdev, because no driver
              is bound (the image lacks C(mana), C(mlx5_core), C(mlx4_core)), a driver is still
              probing, or a userspace driver holds them. Their NetVSCs show no VF. Empty when
              there is no VMBus.
          returned: always
          type: list
          elements: dict
          contains:
            pci_address:
              description: PCI address.
              type: str
              returned: always
              sample: "7870:00:00.0"
            kind:
              description: VF family from the PCI ids.
              type: str
              returned: always
              choices: [mlx4, mlx5, mana]
              sample: mana
            vendor_id:
              description: PCI vendor id.
              type: str
              returned: always
              sample: "0x1414"
            device_id:
              description: PCI device id.
              type: str
              returned: always
              sample: "0x00ba"
            driver:
              description: PCI driver bound to the function, V(null) when none.
              type: str
              returned: always
              sample: null
        readiness:
          description:
            - What DPDK on this host needs, and one verdict per NetVSC. Only on Hyper-V guests
              and with O(readiness=true).
          returned: when O(readiness=true) and the host is a Hyper-V guest
          type: dict
          contains:
            kernel:
              description:
                - C(release); C(modules_dep), the modules.dep read (V(null) when none was
                  readable) and C(error), why not.
                - C(modules) maps C(uio_hv_generic) and each VF family's driver and RDMA
                  modules to V(builtin), V(loaded), V(available), V(missing) or V(unknown)
                  (no readable modules.dep and not loaded).
              type: dict
              returned: always
              sample: {release: 6.1.0-28-amd64, modules_dep: /lib/modules/6.1.0-28-amd64/modules.dep,
                       error: null, modules: {uio_hv_generic: available, mana_ib: missing}}
            dpdk:
              description:
                - The DPDK installation pkg-config finds first (C(/usr/local) before C(/usr)),
                  from C(libdpdk.pc) and the PMD libraries in C(<libdir>/dpdk/pmds-<ABI>/).
                - C(version) (from C(libdpdk.pc), else the LTS release of the ABI), C(abi),
                  C(libdir), C(pc), C(others) (other lib directories holding a DPDK) and
                  C(pmds), which maps C(failsafe), C(vdev_netvsc), C(netvsc), C(tap), C(mlx4),
                  C(mlx5), C(mana) and C(bus_vmbus) to V(shared) (a shared library),
                  V(static) (only in the static libraries of C(libdpdk.pc)) or V(null).
                - All V(null) when DPDK is not installed.
              type: dict
              returned: always
              sample: {version: 22.11.11, abi: "23.0", libdir: /usr/lib/x86_64-linux-gnu,
                       pc: /usr/lib/x86_64-linux-gnu/pkgconfig/libdpdk.pc, others: [],
                       pmds: {failsafe: shared, netvsc: shared, mana: null}}
            rdma_core:
              description: rdma-core's C(version) (from C(libibverbs.so.1.*)) and which verbs
                C(providers) (C(mlx4), C(mlx5), C(mana)) are installed.
              type: dict
              returned: always
              sample: {version: "44.0", providers: {mlx4: true, mlx5: true, mana: true}}
            hugepages:
              description: C(sizes) maps a page size (C(2048kB)) to its C(total) and C(free)
                pages; C(nodes) maps a NUMA node number to the same per size.
              type: dict
              returned: always
              sample: {sizes: {2048kB: {total: 1024, free: 1024}},
                       nodes: {"0": {2048kB: {total: 1024, free: 1024}}}}
            pairings:
              description:
                - One verdict per NetVSC of RV(ansible_facts.netvsc.interfaces), same keys.
                - C(ready) (bool); C(modes), the DPDK modes of M(hyperv.netvsc.netvsc_failsafe)
                  that can run (C(netvsc_pmd), C(failsafe), C(vdev_netvsc); fail-safe modes are
                  left out for MANA and for a NetVSC bound to C(uio_hv_generic)); C(reasons), why
                  it is not ready; C(warnings), what works but deserves a look.
              type: dict
              returned: always
              sample:
                eth1:
                  ready: false
                  modes: [netvsc_pmd]
                  reasons: ["MANA VF, but the installed DPDK 22.11.11 has no MANA PMD"]
                  warnings: ["fail-safe over MANA is not supported: use the netvsc PMD"]
        declarations:
          description:
            - The pairing declarations in O(config_dir), keyed by pairing id, as
              M(hyperv.netvsc.netvsc_pair) wrote them. Broken files are left out with a warning.
            - Lets a play find pairings it no longer wants, and reports show what is declared.
          returned: always
          type: dict
          sample:
            eth1:
              driver: hv_netvsc
              force: false
              format: 1
              id: eth1
              netvsc: {mac: "00:0d:3a:03:1e:b1", name: eth1,
                       vmbus_id: 000d3a03-1eb1-000d-3a03-1eb1000d3a03}
              require_vf: false
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ..module_utils._declarations import known_macs, load_all
from ..module_utils._readiness import readiness
from ..module_utils._scan import InterfaceError, scan


def select(snapshot, wanted):
    """Keep only the wanted NetVSC interfaces; raise InterfaceError on a bad entry."""
    keys = [snapshot.lookup(token)[0] for token in wanted]
    return dict((key, snapshot.interfaces[key]) for key in keys)


def host_label(sysfs_root):
    """What warnings start with: this host's node name, and the sysfs root when not /sys."""
    label = os.uname()[1]
    if os.path.normpath(sysfs_root) != "/sys":
        label += " (sysfs %s)" % sysfs_root
    return label


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sysfs_root=dict(type="path", default="/sys"),
            config_dir=dict(type="path", default="/etc/netvsc/pairs.d"),
            interfaces=dict(type="list", elements="str"),
            readiness=dict(type="bool", default=True),
            readiness_root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    declarations, errors = load_all(module.params["config_dir"])
    snapshot = scan(module.params["sysfs_root"], known_macs=known_macs(declarations))
    label = host_label(module.params["sysfs_root"])
    for warning in errors + snapshot.warnings:
        module.warn("%s: %s" % (label, warning))
    facts = snapshot.facts()
    facts["declarations"] = dict((d["id"], d) for d in declarations)
    if module.params["interfaces"]:
        try:
            facts["interfaces"] = select(snapshot, module.params["interfaces"])
        except InterfaceError as exc:
            module.fail_json(msg=str(exc))
    if module.params["readiness"] and snapshot.hyperv:
        facts["readiness"] = readiness(facts["interfaces"], module.params["readiness_root"],
                                       module.params["sysfs_root"])
    module.exit_json(changed=False, ansible_facts={"netvsc": facts})


if __name__ == "__main__":
    main()
