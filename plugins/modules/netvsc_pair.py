#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netvsc_pair
short_description: Declare the NetVSC/VF pairings of a host for DPDK on Hyper-V and Azure guests
version_added: 0.1.0
description:
  - Writes pairing declarations, C(<config_dir>/<id>.json), each naming one NetVSC (synthetic
    Hyper-V NIC) by identities that survive renames and rebinding (MAC and VMBus GUID).
    M(hyperv.netvsc.netvsc_failsafe) and the hot-plug monitor read these declarations.
  - Takes one NetVSC (O(netvsc)), a list of pairings (O(pairings)), or every NetVSC that
    carries no traffic (O(auto=true)); with O(exclusive=true) the declarations of pairings not
    wanted are removed in the same call, with their VF policy files, and a NetVSC they bound to
    C(uio_hv_generic) is given back to C(hv_netvsc).
  - "Everything is planned first: when any wanted pairing is refused, nothing is changed and
    the failure lists every refused NetVSC with every reason (RV(refused))."
  - "The management guard decides from the kernel which NetVSCs must not be taken: a NetVSC is
    I(management) when it, its VF or any device above either (bridge, bond, team, VRF, Open vSwitch, VLAN,
    macvlan, ipvlan, transitively) holds a default route (IPv4 or IPv6, of the main table, a
    table a policy rule looks up, or a VRF table) or an SSH connection to this host (found in
    the kernel, and in C(SSH_CONNECTION) when the module sees it). It I(carries traffic) when any
    of them has an address. docs/user-guide.md states the rule with its topology cases."
  - "A management NetVSC is refused unless its pairing says O(pairings[].allow_management=true);
    O(pairings[].force=true) never overrides that. A NetVSC that carries traffic is refused
    unless its pairing says O(pairings[].force=true) (or O(pairings[].allow_management=true))."
  - Also refused, changing nothing, a name, MAC or GUID that designates no NetVSC or several
    (the message lists the valid ones, or names the NetVSC of a VF), a NetVSC listed twice, an
    id given twice or declared for another NetVSC, a NetVSC declared under another id (unless
    O(exclusive=true), which replaces that declaration), a NetVSC without netdev whose MAC no
    declaration recorded, replacing or removing a file in O(config_dir) that is not a valid
    declaration, and with O(pairings[].require_vf=true) a NetVSC without a VF after
    O(wait_for_vf) seconds.
  - The VF is not written to the declaration; it comes and goes (host servicing) and is found
    live by the pairing rule of M(hyperv.netvsc.netvsc_facts). The live NetVSC and VF are
    returned in RV(pairs).
  - With O(pairings[].driver=uio_hv_generic) the NetVSC is taken from the kernel network stack
    and bound to C(uio_hv_generic) for the DPDK netvsc PMD, and the binding is made persistent
    across reboots. The MAC is recorded first, because the netdev disappears.
  - Persists the VF policy of each pairing, applied whenever the VF (re)appears, in a udev rule
    C(<udev_rules_dir>/90-hyperv-netvsc-vf-<id>.rules) and a systemd-networkd file
    C(<network_dir>/01-hyperv-netvsc-vf-<id>.network), see O(vf_unmanaged) and O(vf_modules).
    The rule finds the VF as the PCI net device with the declared NetVSC MAC, so it works with
    either driver. Removing a pairing removes both files.
  - Invalid declarations in O(config_dir) are skipped with a warning that names the file and
    the field, and are never removed.
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - hyperv.netvsc.paths
  - hyperv.netvsc.manifest
attributes:
  check_mode:
    support: full
    details: Read-only commands (C(driverctl -b vmbus list-overrides)) still run.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  netvsc:
    description:
      - One NetVSC, by netdev name (V(eth1)), MAC (V(00:0d:3a:03:1e:b1), V(00-0D-3A-03-1E-B1)
        as Azure shows it, or V(000d3a031eb1), any case) or VMBus GUID. It must designate one
        NetVSC. O(id), O(force) and O(allow_management) apply to it.
      - A NetVSC bound to C(uio_hv_generic) has no netdev; it is found by its VMBus GUID, or
        through its declaration by its last seen name or MAC.
      - Exactly one of O(netvsc), O(pairings) and O(auto) is needed.
    type: str
  pairings:
    description:
      - The pairings of the host, in this order (RV(pairs) keeps it). With O(state=absent),
        the pairings to remove.
      - An empty list with O(exclusive=true) removes every declared pairing.
    type: list
    elements: dict
    suboptions:
      netvsc:
        description: The NetVSC, as for O(netvsc).
        type: str
        required: true
        aliases: [name]
      id:
        description: Pairing id, as for O(id).
        type: str
      driver:
        description: Driver of the NetVSC, as for O(driver) (which is the default).
        type: str
        choices: [hv_netvsc, uio_hv_generic, auto]
      force:
        description: Pair it although it carries traffic (never when it is management).
        type: bool
        default: false
      allow_management:
        description: Pair it although it is management (it carries a default route or the SSH
          connection, directly or through a device above it). Implies O(pairings[].force).
        type: bool
        default: false
      require_vf:
        description: As for O(require_vf) (which is the default).
        type: bool
  auto:
    description:
      - Pair every NetVSC that carries no traffic (the guard says it is not management and no
        device of it has an address) and whose MAC is known, with O(driver) and
        O(require_vf). Those left alone are returned in RV(left_alone) with the reasons.
      - A NetVSC declared earlier keeps its id.
      - With O(exclusive=true), the declaration of a NetVSC that is not present now is kept,
        since whether it would be selected cannot be told.
    type: bool
    default: false
  exclusive:
    description:
      - Remove every valid declaration in O(config_dir) that is not one of the wanted pairings,
        with its VF policy files and its C(uio_hv_generic) binding, in the same call.
      - Only with O(state=present).
    type: bool
    default: false
  state:
    description:
      - V(present) writes the declarations (and binds the drivers).
      - V(absent) removes the pairings of O(netvsc) or O(pairings); one declared with
        C(uio_hv_generic) is given back to C(hv_netvsc) and its boot-time binding removed.
    type: str
    choices: [present, absent]
    default: present
  id:
    description:
      - Pairing id of O(netvsc), used in file names and DPDK device names (C(net_failsafe_<id>)).
      - Must match C(^[a-z0-9_]{1,32}$).
      - Defaults to the id the NetVSC is declared under, else its MAC without colons, for
        example V(000d3a031eb1).
      - With O(state=absent) it selects the declaration to remove; it must declare this NetVSC.
    type: str
  require_vf:
    description:
      - Fail when no VF is paired with the NetVSC after O(wait_for_vf) seconds.
      - Recorded in the declaration. The default of O(pairings[].require_vf) and O(auto).
    type: bool
    default: false
  wait_for_vf:
    description:
      - Seconds to wait for a VF to pair with each NetVSC (sysfs is read every half second).
      - Waiting ends as soon as every NetVSC has a VF. Without O(require_vf=true) a missing VF
        is only a warning.
    type: int
    default: 0
  force:
    description:
      - Pair O(netvsc) although it carries traffic (it or a device above it has an address).
        Never overrides the management guard; see O(allow_management).
      - Recorded in the declaration (it becomes C(force=1) for vdev_netvsc).
    type: bool
    default: false
  allow_management:
    description:
      - Pair O(netvsc) although it is management. Pairing it can cut the host off. Implies
        O(force).
    type: bool
    default: false
  driver:
    description:
      - Driver for the NetVSC VMBus device; the default of O(pairings[].driver) and O(auto).
      - V(hv_netvsc) keeps the kernel netdev (for the fail-safe and vdev_netvsc modes). If the
        device is bound to C(uio_hv_generic), it is bound back.
      - V(uio_hv_generic) is needed by the DPDK netvsc PMD. The module loads that kernel
        module (C(modprobe), skipped when C(<sysfs_root>/module/uio_hv_generic) exists),
        registers the NetVSC class id with it, unbinds the device from C(hv_netvsc) and binds
        it to C(uio_hv_generic). It persists the binding with C(driverctl -b vmbus set-override)
        when C(driverctl) is installed, else with a udev rule
        C(<udev_rules_dir>/70-hyperv-netvsc-<vmbus guid>.rules) that, when the device is added
        (at boot too), sets its C(driver_override), loads C(uio_hv_generic) and re-probes it.
        Kernel 4.18 or later is needed for C(driver_override) on VMBus.
      - V(auto) decides per NetVSC as Microsoft recommends, as the C(auto) mode of
        M(hyperv.netvsc.netvsc_failsafe) does. It binds C(uio_hv_generic) for the netvsc PMD
        when its VF is MANA, or when the DPDK installed below O(readiness_root) is 22.11 or
        newer with the netvsc PMD, the kernel has C(uio_hv_generic) and the NetVSC may be bound
        (it carries no traffic and is not management, since binding removes its netdev); else
        it keeps C(hv_netvsc) for fail-safe. RV(pairs[].mode) and RV(pairs[].mode_reason) say what and why. A NetVSC
        whose VF is MANA but that may not be bound is refused (name its driver explicitly).
      - With a O(sysfs_root) that is not a mounted sysfs (a simulated tree; a symlink to or a
        bind mount of the real sysfs counts as real), C(driverctl) and
        C(modprobe) are never run, since they act on the real system; the binding persists with
        the udev rule, and the modprobe step is only reported in RV(pairs[].binding_steps).
    type: str
    choices: [hv_netvsc, uio_hv_generic, auto]
    default: hv_netvsc
  readiness_root:
    description:
      - With O(driver=auto), the directory below which the installed DPDK and the kernel's
        modules are looked for (as M(hyperv.netvsc.netvsc_facts)'s option of this name).
    type: path
    default: /
  non_hyperv:
    description:
      - On a host that is not a Hyper-V/Azure guest, V(fail) fails the task, V(skip) changes
        nothing and returns RV(hyperv=false).
    type: str
    choices: [fail, skip]
    default: fail
  udev_rules_dir:
    description:
      - Directory of the udev rules, the VF policy rule and the one that persists a
        C(uio_hv_generic) binding when C(driverctl) is not installed.
      - Use V(/run/udev/rules.d) for rules that do not survive a reboot.
    type: path
    default: /etc/udev/rules.d
  vf_unmanaged:
    description:
      - Keep network managers off the VF (DPDK owns it). The udev rule sets
        C(NM_UNMANAGED=1) (NetworkManager), C(ID_NET_MANAGED_BY=unmanaged) (systemd-networkd
        255 and later) and C(NETVSC_VF_UNMANAGED=1) on the VF, and
        C(<network_dir>/01-hyperv-netvsc-vf-<id>.network) matches that property and the MAC
        with C(Unmanaged=yes) for older systemd-networkd (the MAC alone would match the
        NetVSC too).
      - V(false) removes the C(.network) file and these udev lines.
    type: bool
    default: true
  vf_modules:
    description:
      - Load the RDMA verbs kernel modules the mlx4, mlx5 and MANA PMDs need when the VF
        appears, from the udev rule (C(RUN{builtin}+="kmod load ...")), by the VF's PCI
        driver, C(mlx4_core) C(mlx4_ib ib_uverbs), C(mlx5_core) C(mlx5_ib ib_uverbs),
        C(mana) C(mana_ib ib_uverbs). The kernel does not load them with the VF's driver.
      - Lines for all kinds are written, whatever the VF is now, because after live
        migration the VF can come back as another kind.
      - With O(vf_unmanaged=false) and O(vf_modules=false) the udev rule is removed.
    type: bool
    default: true
  network_dir:
    description:
      - Directory of the systemd-networkd file written with O(vf_unmanaged=true). Created with
        mode C(0755) when missing.
    type: path
    default: /etc/systemd/network
notes:
  - The declaration and the VF policy files are written atomically with mode C(0644); missing
    directories are created with mode C(0755).
  - The VF policy files use the MAC of the declaration, so a NetVSC bound to C(uio_hv_generic)
    keeps them.
  - The VF policy applies to the next uevents of the VF (when it reappears). A VF present now is
    not re-evaluated; the module runs neither C(udevadm trigger) nor C(networkctl reload).
    RV(vf_policy_changed) lists the MACs whose VF policy files changed, for a handler.
  - A rerun with the same options changes nothing. The live VF state is reported, not written.
  - Files touched for C(uio_hv_generic), besides the declaration,
    C(<sysfs_root>/bus/vmbus/drivers/uio_hv_generic/new_id),
    C(<sysfs_root>/bus/vmbus/drivers/hv_netvsc/unbind),
    C(<sysfs_root>/bus/vmbus/drivers/uio_hv_generic/bind), either C(/etc/driverctl.d/vmbus-<guid>)
    (through C(driverctl)) or C(<udev_rules_dir>/70-hyperv-netvsc-<guid>.rules).
seealso:
  - module: hyperv.netvsc.netvsc_facts
  - module: hyperv.netvsc.netvsc_failsafe
  - name: DPDK netvsc poll mode driver
    description: Binding a NetVSC to uio_hv_generic.
    link: https://doc.dpdk.org/guides/nics/netvsc.html
"""

EXAMPLES = r"""
- name: Declare the pairings of this host, in port order, and remove any other
  hyperv.netvsc.netvsc_pair:
    pairings:
      - netvsc: eth1
        id: dpdk0
      - netvsc: 00-0D-3A-03-18-C9  # as the Azure portal shows it
        id: dpdk1
        driver: uio_hv_generic
    exclusive: true
    require_vf: true
    wait_for_vf: 30

- name: Pair every NetVSC that carries no traffic
  hyperv.netvsc.netvsc_pair:
    auto: true
    exclusive: true

- name: Pair eth0 although the SSH connection comes in on the bridge it is a port of
  hyperv.netvsc.netvsc_pair:
    netvsc: eth0
    allow_management: true

- name: Declare eth3, let NetworkManager manage its VF, keep loading the RDMA modules
  hyperv.netvsc.netvsc_pair:
    netvsc: eth3
    id: dpdk2
    vf_unmanaged: false

- name: Remove a pairing (and its VF policy files) and give the NetVSC back to the kernel
  hyperv.netvsc.netvsc_pair:
    netvsc: "00:0d:3a:03:18:c9"
    id: dpdk1
    state: absent

- name: Remove every pairing
  hyperv.netvsc.netvsc_pair:
    pairings: []
    exclusive: true
"""

RETURN = r"""
pairs:
  description:
    - The wanted pairings after the task, in the order of O(pairings) (with O(auto), in the
      natural order of the NetVSC names, C(eth2) before C(eth10)); with O(state=absent), the
      removed ones (RV(pairs[].declaration=null)).
    - In check mode, what the task would do.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Pairing id.
      type: str
      returned: always
      sample: dpdk0
    path:
      description: Path of the declaration file.
      type: str
      returned: always
      sample: /etc/netvsc/pairs.d/dpdk0.json
    declaration:
      description: The declaration as written (the file content), V(null) after O(state=absent).
      type: dict
      returned: always
      sample:
        driver: hv_netvsc
        force: false
        format: 1
        id: dpdk0
        netvsc:
          mac: "00:0d:3a:03:1e:b1"
          name: eth1
          vmbus_id: 000d3a03-1eb1-000d-3a03-1eb1000d3a03
        require_vf: false
    netvsc:
      description:
        - The live NetVSC, the same dict as in RV(hyperv.netvsc.netvsc_facts#module:ansible_facts.netvsc.interfaces),
          or V(null) when it is not present now.
        - In check mode it shows the state before the task.
      type: dict
      returned: always
      sample:
        name: eth1
        mac: "00:0d:3a:03:1e:b1"
        vmbus_id: 000d3a03-1eb1-000d-3a03-1eb1000d3a03
        driver: hv_netvsc
        ifindex: 3
        mtu: 1500
        operstate: up
        addresses: []
        vf: {}
    vf:
      description: The live VF paired with the NetVSC (same dict as in
        RV(hyperv.netvsc.netvsc_facts#module:ansible_facts.netvsc.interfaces.vf)), V(null) when none.
      type: dict
      returned: always
      sample:
        name: enP41635s2
        mac: "00:0d:3a:03:1e:b1"
        pci_address: "a2a3:00:02.0"
        driver: mlx5_core
        kind: mlx5
        paired_by: kernel
    paired_by:
      description: How the VF was paired (V(kernel) master link, V(mac) match), V(null) when no VF.
      type: str
      returned: always
      sample: kernel
    persistence:
      description: How a C(uio_hv_generic) binding persists, V(driverctl) or the udev rule path;
        V(null) with C(hv_netvsc).
      type: str
      returned: always
      sample: /etc/udev/rules.d/70-hyperv-netvsc-000d3a03-1eb1-000d-3a03-1eb1000d3a03.rules
    vf_policy:
      description: The VF policy files of the pairing after the task.
      type: dict
      returned: always
      contains:
        udev_rule:
          description: Path of the udev rule, V(null) when there is none (removed, or both
            O(vf_unmanaged) and O(vf_modules) off).
          type: str
          returned: always
          sample: /etc/udev/rules.d/90-hyperv-netvsc-vf-dpdk0.rules
        network:
          description: Path of the systemd-networkd file, V(null) when there is none (removed,
            O(vf_unmanaged=false)).
          type: str
          returned: always
          sample: /etc/systemd/network/01-hyperv-netvsc-vf-dpdk0.network
    binding_steps:
      description: Driver binding steps taken for this pairing.
      type: list
      elements: str
      returned: always
      sample:
        - modprobe uio_hv_generic
        - bind 000d3a03-1eb1-000d-3a03-1eb1000d3a03 to uio_hv_generic
    mode:
      description: With O(driver=auto), the DPDK mode the driver was chosen for
        (V(netvsc_pmd) or V(failsafe)); else V(null).
      type: str
      returned: always
      sample: netvsc_pmd
    mode_reason:
      description: With O(driver=auto), why that mode; else V(null).
      type: str
      returned: always
      sample: DPDK 22.11.11 has the netvsc PMD, which Microsoft recommends from DPDK 22.11 on
    changed:
      description: Whether anything of this pairing changed.
      type: bool
      returned: always
pair:
  description: With O(netvsc), RV(pairs[0]) (the pairing after the task).
  returned: success and O(netvsc) is given
  type: dict
vf_policy:
  description: With O(netvsc), RV(pairs[0].vf_policy).
  returned: success and O(netvsc) is given
  type: dict
binding_steps:
  description: With O(netvsc), RV(pairs[0].binding_steps).
  returned: success and O(netvsc) is given
  type: list
  elements: str
removed:
  description: The declarations removed (O(exclusive=true), or O(state=absent)).
  returned: success
  type: list
  elements: dict
  sample:
    - id: dpdk7
      path: /etc/netvsc/pairs.d/dpdk7.json
      mac: "00:0d:3a:03:19:f7"
      vmbus_id: 000d3a03-19f7-000d-3a03-19f7000d3a03
left_alone:
  description: With O(auto=true), the NetVSCs left alone, each with the reasons.
  returned: success
  type: list
  elements: dict
  sample:
    - netvsc: eth0
      reasons: ["eth0 holds the IPv4 default route (table main)"]
refused:
  description: When the task fails because pairings are refused, each refused NetVSC (as
    given) with every reason. Nothing was changed then.
  returned: failure
  type: list
  elements: dict
  sample:
    - netvsc: eth1
      reasons: ["eth1 is a port of bridge br0, which holds the IPv4 default route (table main);
        set allow_management: true on its item if you really mean it"]
vf_policy_changed:
  description: MACs (lowercase, colons) whose VF policy files were written or removed, for
    C(udevadm trigger --attr-match=address=...).
  returned: success
  type: list
  elements: str
  sample: ["00:0d:3a:03:1e:b1"]
hyperv:
  description: Whether this host is a Hyper-V/Azure guest; V(false) only with O(non_hyperv=skip).
  returned: success
  type: bool
"""

import dataclasses
import os
import time

from ansible.module_utils.basic import AnsibleModule

from ..module_utils import _binding
from ..module_utils import _declarations as decls
from ..module_utils import _guard
from ..module_utils import _manifest
from ..module_utils import _mode
from ..module_utils import _paths
from ..module_utils import _selection
from ..module_utils import _vfpolicy
from ..module_utils._identity import Conflict, InterfaceError, designated, designates
from ..module_utils._plan import Plan, PlanError
from ..module_utils._readiness import probe
from ..module_utils._scan import scan

POLL_INTERVAL = 0.5
PATH_OPTIONS = ("config_dir", "udev_rules_dir", "network_dir", "manifest", "sysfs_root")
SINGLE_OPTIONS = ("id", "force", "allow_management")


class Pairing:
    """The plan of one pairing (written or removed) and what to report about it."""

    def __init__(self, pair_id, path, declaration, iface, mac):
        self.pair_id, self.path, self.declaration, self.iface, self.mac = (
            pair_id, path, declaration, iface, mac)
        self.files = Plan()  # the declaration and the VF policy files
        self.binding = _binding.BindingPlan()
        self.policy_files = {}
        self.choice = None  # the _mode.Choice of driver auto

    @property
    def changed(self):
        return self.files.changed or self.binding.changed

    @property
    def policy_changed(self):
        return any(self.files.files.get(path) in ("written", "removed")
                   for path, _text in self.policy_files.values())

    def result(self):
        vf = self.iface["vf"] if self.iface else None
        return dict(id=self.pair_id, path=self.path, declaration=self.declaration,
                    netvsc=self.iface, vf=vf, paired_by=vf["paired_by"] if vf else None,
                    persistence=self.binding.persistence,
                    mode=self.choice.mode if self.choice else None,
                    mode_reason=self.choice.reason if self.choice else None,
                    vf_policy=_vfpolicy.written(self.policy_files),
                    binding_steps=self.binding.descriptions, changed=self.changed)


class PairModule:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.config_dir = self.params["config_dir"]
        declarations, errors = decls.load_all(self.config_dir)
        for error in errors:
            module.warn("ignoring an invalid pairing declaration (it is never replaced or "
                        "removed): %s" % error)
        self.declarations = declarations
        self.snapshot = self._scan()
        for warning in self.snapshot.warnings:
            module.warn(warning)
        self.binder = _binding.Binder(
            self.params["sysfs_root"],
            run=module.run_command,
            which=module.get_bin_path,
            udev_rules_dir=self.params["udev_rules_dir"],
            move=module.atomic_move)

    def fail(self, msg, **extra):
        self.module.fail_json(msg=msg, **extra)

    def _scan(self):
        return scan(self.params["sysfs_root"], known_macs=decls.known_macs(self.declarations))

    # ------------------------------------------------------------------ wanted

    def _items(self):
        """The wanted pairings as _selection.Items (with the option defaults)."""
        params = self.params
        if params["netvsc"] is not None:
            return [_selection.Item(params["netvsc"], params["id"], params["driver"],
                                    params["force"], params["allow_management"], params["require_vf"])]
        return [_selection.Item(
            item["netvsc"], item["id"], item["driver"] or params["driver"], item["force"],
            item["allow_management"],
            params["require_vf"] if item["require_vf"] is None else item["require_vf"])
            for item in params["pairings"]]

    def _wait_for_vfs(self, targets):
        """Poll sysfs until every target has a VF or wait_for_vf seconds passed; return waited."""
        wait = max(0, self.params["wait_for_vf"])
        start = time.monotonic()
        deadline = start + wait
        while any(t.iface["vf"] is None for t in targets) and time.monotonic() < deadline:
            time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
            self.snapshot = self._scan()
            for target in targets:
                target.iface = self._relocate(target.iface) or target.iface
        return time.monotonic() - start

    # ----------------------------------------------------------------- present

    def present(self):
        params = self.params
        verdicts = _guard.assess(self.snapshot, params["sysfs_root"], os.environ)
        left_alone = []
        if params["auto"]:
            items, left_alone = _selection.automatic(self.snapshot, verdicts, self.declarations,
                                                     params["driver"], params["require_vf"])
        else:
            items = self._items()
        targets, refusals = _selection.resolve(items, self.snapshot, verdicts, self.declarations,
                                               params["exclusive"])
        if not refusals and targets:
            waited = self._wait_for_vfs(targets)
            refusals = _selection.refuse_without_vf(targets, waited)
            if params["wait_for_vf"] > 0:
                for target in targets:
                    if target.iface["vf"] is None and not target.item.require_vf:
                        self.module.warn("no VF is paired with %s after waiting %.1f s"
                                         % (target.name or target.key, waited))
        if not refusals:
            refusals = self._choose_drivers(targets, verdicts)
        if refusals:
            self.fail(_selection.message(refusals, len(items)),
                      refused=[dict(netvsc=r.netvsc, reasons=list(r.reasons)) for r in refusals])

        pairings = [self._pairing(target) for target in targets]
        removals = []
        if params["exclusive"]:
            replaced = set(t.declared["id"] for t in targets if t.declared) - set(t.pair_id for t in targets)
            for declaration in _selection.unwanted(self.declarations, targets, self.snapshot,
                                                   keep_absent=params["auto"]):
                removals.append(self._removal(declaration, bind=declaration["id"] not in replaced))
        # Files first (writing them is harmless), then the removals, then the bindings, which
        # take netdevs away.
        self._apply([p.files for p in pairings] + [r.files for r in removals]
                    + [r.binding for r in removals] + [p.binding for p in pairings])
        result = self._result(pairings, removals)
        result["left_alone"] = [dict(netvsc=s.netvsc, reasons=list(s.reasons)) for s in left_alone]
        return result

    def _choose_drivers(self, targets, verdicts):
        """Resolve driver auto per target (_mode.choose, with the VF it has now); return the
        Refusals of those for which no mode is valid."""
        auto = [t for t in targets if t.item.driver == _mode.AUTO]
        host = probe(self.params["readiness_root"], self.params["sysfs_root"]) if auto else None
        refusals = []
        for target in auto:
            verdict = verdicts[target.key]
            vf = target.iface["vf"] or {}
            try:
                target.choice = _mode.choose(
                    _mode.AUTO, vf.get("kind"), host, None,
                    _mode.unbindable(target.name or target.key, verdict.management,
                                     verdict.carries_traffic, verdict.reasons),
                    target.pair_id, vf.get("pci_address"))
            except _mode.ModeError as exc:
                refusals.append(_selection.Refusal(target.item.netvsc, (
                    "%s; or name its driver on its item" % exc,)))
                continue
            target.item = dataclasses.replace(target.item, driver=target.choice.driver)
        return refusals

    def _pairing(self, target):
        params, item = self.params, target.item
        path = decls.path_for(self.config_dir, target.pair_id)
        identity = dict(target.iface, name=target.name, mac=target.mac)
        try:
            declaration = decls.build(target.pair_id, identity, item.driver, item.require_vf,
                                      item.force or item.allow_management)
        except decls.DeclarationError as exc:
            self.fail("%s; nothing was changed" % exc)
        pairing = Pairing(target.pair_id, path, declaration, target.iface, declaration["netvsc"]["mac"])
        pairing.choice = target.choice
        pairing.files = Plan(self.module.atomic_move)
        self._check_replaceable(path, target.pair_id)
        try:
            pairing.files.write(path, decls.dumps(declaration))
            pairing.policy_files = self._policy_files(target.pair_id, pairing.mac, params["vf_unmanaged"],
                                                      params["vf_modules"])
            pairing.files.extend(_vfpolicy.plan(pairing.policy_files, self.module.atomic_move))
        except PlanError as exc:
            self.fail("%s; nothing was changed" % exc)
        previous = target.declared
        pairing.binding = self._binding(target.iface["vmbus_id"], item.driver, target.pair_id,
                                        persist=bool(previous and previous["driver"] == _binding.UIO))
        return pairing

    # ------------------------------------------------------------------ absent

    def absent(self):
        removals = [self._removal_for(item) for item in self._items()]
        self._apply([r.files for r in removals] + [r.binding for r in removals])
        return self._result(removals, removals)

    def _removal_for(self, item):
        """The Pairing removing what item names (by id when given, else by the NetVSC)."""
        try:
            key, iface = self.snapshot.lookup(item.netvsc)
            lookup_error = None
        except Conflict as exc:
            self.fail("Refusing %s, nothing was changed: %s." % (item.netvsc, exc))
        except InterfaceError as exc:
            key, iface, lookup_error = None, None, exc
        if item.id is not None:
            try:
                decls.check_id(item.id)
            except decls.DeclarationError as exc:
                self.fail(str(exc))
            target = self._by_id(item.id)
            if target is not None:
                named = designates(target, iface) if iface else designates(item.netvsc, target["netvsc"])
                if not named:
                    self.fail("pairing %s (%s) declares MAC %s, VMBus %s, not %s; nothing removed"
                              % (item.id, decls.path_for(self.config_dir, item.id),
                                 target["netvsc"]["mac"], target["netvsc"]["vmbus_id"], item.netvsc))
            pair_id = item.id
        else:
            matching = [d for d in self.declarations
                        if (iface and designates(d, iface)) or designates(item.netvsc, d["netvsc"])]
            target = matching[0] if matching else None
            pair_id = target["id"] if target else (iface and iface["mac"] and decls.default_id(iface["mac"]))
        if target is None and iface is None:
            self.fail(str(lookup_error))
        if target is not None:
            return self._removal(target, iface=iface)
        return self._removal(None, iface=iface, pair_id=pair_id)

    def _removal(self, declaration, bind=True, iface=None, pair_id=None):
        """The Pairing removing a declaration (or, without one, the files of pair_id and the
        binding of iface): VF policy files, the declaration, and the uio_hv_generic binding
        unless bind is False (the NetVSC is paired again under another id)."""
        if declaration is not None:
            pair_id = declaration["id"]
            if iface is None:
                try:
                    iface = designated(declaration, self.snapshot.interfaces)[1]
                except Conflict as exc:
                    self.fail("%s; the declaration %s is conflicting, nothing was changed: remove "
                              "it by hand and declare the NetVSC again"
                              % (exc, decls.path_for(self.config_dir, pair_id)))
        path = decls.path_for(self.config_dir, pair_id) if pair_id else None
        mac = (declaration and declaration["netvsc"]["mac"]) or (iface and iface["mac"])
        removal = Pairing(pair_id, path, None, iface, mac)
        # As with vf_unmanaged and vf_modules off: both policy files go.
        removal.files = Plan(self.module.atomic_move)
        try:
            if pair_id:
                removal.policy_files = self._policy_files(pair_id, None, False, False)
                removal.files.extend(_vfpolicy.plan(removal.policy_files, self.module.atomic_move))
                self._check_replaceable(path, pair_id)
                removal.files.remove(path)
        except PlanError as exc:
            self.fail("%s; nothing was changed" % exc)
        guid = (iface and iface["vmbus_id"]) or (declaration and declaration["netvsc"]["vmbus_id"])
        uio = bool(declaration and declaration["driver"] == _binding.UIO)
        if bind and guid and (uio or os.path.exists(_binding.udev_rule_path(self.params["udev_rules_dir"], guid))):
            removal.binding = self._binding(guid, _binding.NETVSC, pair_id, persist=uio, live=iface is not None)
        return removal

    # ---------------------------------------------------------------- helpers

    def _by_id(self, pair_id):
        return next((d for d in self.declarations if d["id"] == pair_id), None)

    def _check_replaceable(self, path, pair_id):
        """Refuse to replace or remove a file at path that is not a valid declaration."""
        if self._by_id(pair_id) is None and os.path.lexists(path):
            try:
                decls.load(path)
            except decls.DeclarationError as exc:
                self.fail("refusing to replace or remove %s, which is not a valid pairing "
                          "declaration (%s); nothing was changed: fix or remove that file" % (path, exc))

    def _binding(self, guid, driver, pair_id, persist, live=True):
        if not guid:
            self.fail("the NetVSC has no VMBus GUID in %s; cannot change its driver"
                      % self.params["sysfs_root"])
        try:
            if not live:
                return self.binder.plan_persistence_only(guid, pair_id)
            return self.binder.plan(guid, driver, pair_id, persist=persist)
        except PlanError as exc:
            self.fail("%s; nothing was changed" % exc)

    def _policy_files(self, pair_id, mac, unmanaged, modules):
        return _vfpolicy.files(pair_id, mac, self.params["udev_rules_dir"], self.params["network_dir"],
                               unmanaged, modules)

    def _apply(self, plans):
        """Record what the plans create in the manifest (and the files there before them:
        not the collection's unless recorded), then apply them in order."""
        steps = Plan(self.module.atomic_move)
        for plan in plans:
            steps.extend(plan)
        if self.module.check_mode or not (steps.changed or steps.existing):
            return
        try:
            _manifest.apply(steps, self.params["manifest"], self.module.atomic_move)
        except _manifest.ManifestError as exc:
            self.fail("%s; nothing was changed" % exc)
        except PlanError as exc:
            self.fail("%s; the steps before it were done, rerun the task to finish" % exc)
        if steps.changed:
            self.snapshot = self._scan()

    def _relocate(self, iface):
        """The fresh fact dict of the same NetVSC (its netdev may be gone after binding)."""
        if iface is None:
            return None
        return next((c for c in self.snapshot.interfaces.values()
                     if c["vmbus_id"] == iface["vmbus_id"]), None)

    def _result(self, pairings, removals):
        changed = any(p.changed for p in pairings + removals)
        if changed and not self.module.check_mode:
            for pairing in pairings:
                pairing.iface = self._relocate(pairing.iface)
        result = dict(
            changed=changed,
            hyperv=True,
            pairs=[p.result() for p in pairings],
            removed=[dict(id=r.pair_id, path=r.path, mac=r.mac,
                          vmbus_id=r.iface["vmbus_id"] if r.iface else None)
                     for r in removals if r.changed],
            vf_policy_changed=sorted(set(p.mac for p in pairings + removals
                                         if p.mac and p.policy_changed)),
        )
        if self.params["netvsc"] is not None and pairings:
            result.update(pair=result["pairs"][0], vf_policy=result["pairs"][0]["vf_policy"],
                          binding_steps=result["pairs"][0]["binding_steps"])
        diffs = [d for p in pairings + [r for r in removals if r not in pairings]
                 for d in p.files.diffs + p.binding.diffs]
        if self.module._diff and diffs:
            result["diff"] = diffs[0] if len(diffs) == 1 else diffs
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netvsc=dict(type="str"),
            pairings=dict(type="list", elements="dict", options=dict(
                netvsc=dict(type="str", required=True, aliases=["name"]),
                id=dict(type="str"),
                driver=dict(type="str", choices=list(_binding.DRIVERS) + [_mode.AUTO]),
                force=dict(type="bool", default=False),
                allow_management=dict(type="bool", default=False),
                require_vf=dict(type="bool"),
            )),
            auto=dict(type="bool", default=False),
            exclusive=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            id=dict(type="str"),
            require_vf=dict(type="bool", default=False),
            wait_for_vf=dict(type="int", default=0),
            force=dict(type="bool", default=False),
            allow_management=dict(type="bool", default=False),
            driver=dict(type="str", choices=list(_binding.DRIVERS) + [_mode.AUTO], default=_binding.NETVSC),
            readiness_root=dict(type="path", default="/"),
            non_hyperv=dict(type="str", choices=["fail", "skip"], default="fail"),
            udev_rules_dir=dict(type="path", default=_binding.DEFAULT_UDEV_RULES_DIR),
            vf_unmanaged=dict(type="bool", default=True),
            vf_modules=dict(type="bool", default=True),
            network_dir=dict(type="path", default=_vfpolicy.DEFAULT_NETWORK_DIR),
            manifest=dict(type="path"),
            config_dir=dict(type="path", default=decls.DEFAULT_CONFIG_DIR),
            sysfs_root=dict(type="path", default="/sys"),
        ),
        mutually_exclusive=[("netvsc", "pairings", "auto")],
        required_one_of=[("netvsc", "pairings", "auto")],
        supports_check_mode=True,
    )
    params = module.params
    given = [name for name in SINGLE_OPTIONS if params[name] not in (None, False)]
    if given and params["netvsc"] is None:
        module.fail_json(msg="%s: options of one pairing, only with netvsc; give them on the items "
                         "of pairings" % ", ".join(given))
    if params["state"] == "absent" and (params["auto"] or params["exclusive"]):
        module.fail_json(msg="auto and exclusive are only for state=present; remove every pairing "
                         "with pairings: [] and exclusive: true")
    paths, errors = _paths.check_all(
        dict((name, params[name]) for name in PATH_OPTIONS if params[name] is not None),
        system_ok=("udev_rules_dir", "network_dir", "sysfs_root"))
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors)
    params.update(paths)
    pair = PairModule(module)
    if not pair.snapshot.hyperv:
        if params["non_hyperv"] == "skip":
            module.exit_json(changed=False, hyperv=False, pairs=[], removed=[], left_alone=[],
                             vf_policy_changed=[])
        module.fail_json(msg="this host is not a Hyper-V/Azure guest (no VMBus in %s)"
                         % params["sysfs_root"])
    module.exit_json(**(pair.present() if params["state"] == "present" else pair.absent()))


if __name__ == "__main__":
    main()
