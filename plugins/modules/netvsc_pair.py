#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netvsc_pair
short_description: Declare a NetVSC/VF pairing for DPDK on Hyper-V and Azure guests
version_added: 0.1.0
description:
  - Writes a pairing declaration, C(<config_dir>/<id>.json), that names one NetVSC (synthetic
    Hyper-V NIC) by identities that survive renames and rebinding (MAC first, then VMBus GUID).
    M(hyperv.netvsc.netvsc_failsafe) and the hot-plug monitor read these declarations.
  - The VF is not written to the declaration; it comes and goes (host servicing) and is found
    live by the pairing rule of M(hyperv.netvsc.netvsc_facts). The live NetVSC and VF are
    returned in RV(pair).
  - With O(driver=uio_hv_generic) the NetVSC is taken from the kernel network stack and bound
    to C(uio_hv_generic) for the DPDK netvsc PMD, and the binding is made persistent across
    reboots. The MAC is recorded first, because the netdev disappears.
  - Persists the VF policy of the pairing, applied whenever the VF (re)appears, in a udev rule
    C(<udev_rules_dir>/90-hyperv-netvsc-vf-<id>.rules) and a systemd-networkd file
    C(<network_dir>/01-hyperv-netvsc-vf-<id>.network), see O(vf_unmanaged) and O(vf_modules).
    The rule finds the VF as the PCI net device with the declared NetVSC MAC, so it works with
    either O(driver). O(state=absent) removes both files.
  - "Refuses, changing nothing: a name that is not a NetVSC (the message lists the valid ones,
    or names the NetVSC of a VF), a host that is not a Hyper-V/Azure guest, a NetVSC that has
    IP addresses (it carries traffic, maybe your management connection) unless O(force=true),
    an O(id) already used for another NetVSC, a NetVSC already declared under another id, a
    name, MAC or GUID that designates two NetVSCs, replacing or removing a file in
    O(config_dir) that is not a valid declaration, and with O(require_vf=true) a NetVSC
    without a VF after O(wait_for_vf) seconds."
  - Invalid declarations in O(config_dir) are skipped with a warning that names the file and
    the field.
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
      - The NetVSC, by netdev name (V(eth1)), MAC (V(00:0d:3a:03:1e:b1), V(00-0D-3A-03-1E-B1)
        or V(000d3a031eb1), any case) or VMBus GUID. It must designate one NetVSC.
      - A NetVSC bound to C(uio_hv_generic) has no netdev; it is found by its VMBus GUID, or
        through its declaration by its last seen name or MAC.
    type: str
    required: true
  state:
    description:
      - V(present) writes the declaration (and binds the driver).
      - V(absent) removes it; if it was declared with C(uio_hv_generic), the NetVSC is given
        back to C(hv_netvsc) and the boot-time binding is removed.
    type: str
    choices: [present, absent]
    default: present
  id:
    description:
      - Pairing id, used in file names and DPDK device names (C(net_failsafe_<id>)).
      - Must match C(^[a-z0-9_]{1,32}$).
      - Defaults to the NetVSC MAC without colons, for example V(000d3a031eb1).
      - With O(state=absent) it selects the declaration to remove; it must declare this NetVSC.
    type: str
  require_vf:
    description:
      - Fail when no VF is paired with the NetVSC after O(wait_for_vf) seconds.
      - Recorded in the declaration.
    type: bool
    default: false
  wait_for_vf:
    description:
      - Seconds to wait for a VF to pair with the NetVSC (sysfs is read every half second).
      - Waiting ends as soon as a VF is seen. Without O(require_vf=true) a missing VF is only
        a warning.
    type: int
    default: 0
  force:
    description:
      - Pair a NetVSC that has IP addresses. Such a NetVSC carries routed traffic, maybe your
        management connection; with O(driver=uio_hv_generic) the netdev and its addresses go
        away.
      - Recorded in the declaration (it becomes C(force=1) for vdev_netvsc).
    type: bool
    default: false
  driver:
    description:
      - Driver for the NetVSC VMBus device.
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
    type: str
    choices: [hv_netvsc, uio_hv_generic]
    default: hv_netvsc
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
    keeps them. A NetVSC found on C(uio_hv_generic) without a declaration has no MAC to read
    and is refused.
  - The VF policy applies to the next uevents of the VF (when it reappears). A VF present now is
    not re-evaluated; the module runs neither C(udevadm trigger) nor C(networkctl reload).
  - A rerun with the same options changes nothing. The live VF state is reported, not written.
  - Files touched for O(driver=uio_hv_generic), besides the declaration,
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
- name: Declare eth1 for DPDK fail-safe, waiting up to 30 s for its VF
  hyperv.netvsc.netvsc_pair:
    netvsc: eth1
    id: dpdk0
    require_vf: true
    wait_for_vf: 30

- name: Give eth2 to the DPDK netvsc PMD (bound to uio_hv_generic, persistent)
  hyperv.netvsc.netvsc_pair:
    netvsc: eth2
    id: dpdk1
    driver: uio_hv_generic

- name: Rerun later; the netdev is gone, the declaration still finds the NetVSC by name
  hyperv.netvsc.netvsc_pair:
    netvsc: eth2
    id: dpdk1
    driver: uio_hv_generic

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
"""

RETURN = r"""
pair:
  description: The pairing after the task.
  returned: always
  type: dict
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
  description: The VF policy files of the pairing after the task (planned, in check mode).
  returned: always
  type: dict
  contains:
    udev_rule:
      description: Path of the udev rule, V(null) when there is none (O(state=absent), both
        O(vf_unmanaged) and O(vf_modules) off).
      type: str
      returned: always
      sample: /etc/udev/rules.d/90-hyperv-netvsc-vf-dpdk0.rules
    network:
      description: Path of the systemd-networkd file, V(null) when there is none (O(state=absent),
        O(vf_unmanaged=false)).
      type: str
      returned: always
      sample: /etc/systemd/network/01-hyperv-netvsc-vf-dpdk0.network
binding_steps:
  description: Driver binding steps taken (planned, in check mode).
  returned: always
  type: list
  elements: str
  sample:
    - modprobe uio_hv_generic
    - bind 000d3a03-1eb1-000d-3a03-1eb1000d3a03 to uio_hv_generic
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ..module_utils import _binding
from ..module_utils import _declarations as decls
from ..module_utils import _manifest
from ..module_utils import _paths
from ..module_utils import _vfpolicy
from ..module_utils._identity import Conflict, designated, designates
from ..module_utils._plan import Plan, PlanError
from ..module_utils._scan import InterfaceError, scan

POLL_INTERVAL = 0.5
PATH_OPTIONS = ("config_dir", "udev_rules_dir", "network_dir", "manifest", "sysfs_root")


def _describe(declaration):
    ident = declaration["netvsc"]
    return "%s (MAC %s, VMBus %s)" % (ident.get("name") or "no netdev", ident.get("mac") or "unknown",
                                      ident.get("vmbus_id") or "unknown")


class PairModule:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.config_dir = self.params["config_dir"]
        declarations, errors = decls.load_all(self.config_dir)
        for error in errors:
            module.warn("ignoring a broken pairing declaration: %s" % error)
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

    # ------------------------------------------------------------------ finding

    def find(self):
        """Return (iface or None, declaration found through the token or None).

        A live NetVSC wins; a NetVSC without a netdev is found through a declaration that
        names the token (last seen name, MAC or GUID).
        """
        token = self.params["netvsc"]
        try:
            return self.snapshot.lookup(token)[1], None
        except InterfaceError as exc:
            if isinstance(exc, Conflict):  # the token names several NetVSCs: never guess
                self.fail(str(exc))
            error = exc
        for declaration in self.declarations:
            if designates(token, declaration["netvsc"]):
                return self._resolve(declaration), declaration
        self.fail(str(error))

    def _resolve(self, declaration):
        """The live NetVSC a declaration designates, or None; refuse a conflicting one."""
        try:
            return designated(declaration, self.snapshot.interfaces)[1]
        except Conflict as exc:
            self.fail("%s; the declaration %s is conflicting, nothing was changed: remove it "
                      "(state: absent with its id) and declare the NetVSC again"
                      % (exc, decls.path_for(self.config_dir, declaration["id"])))

    def _by_id(self, pair_id):
        for declaration in self.declarations:
            if declaration["id"] == pair_id:
                return declaration
        return None

    # ---------------------------------------------------------------- reading

    def _refuse_invalid(self, path, pair_id):
        """Fail, changing nothing, when path exists but is not a valid declaration."""
        if self._by_id(pair_id) is None and os.path.lexists(path):
            try:
                decls.load(path)
            except decls.DeclarationError as exc:
                self.fail("refusing to replace or remove %s, which is not a valid pairing "
                          "declaration (%s); nothing was changed: fix or remove that file"
                          % (path, exc))

    def _wait_for_vf(self, iface):
        """Poll sysfs until iface has a VF or wait_for_vf seconds passed; return (iface, waited)."""
        wait = max(0, self.params["wait_for_vf"])
        start = time.monotonic()
        deadline = start + wait
        guid = iface["vmbus_id"]
        while iface["vf"] is None and time.monotonic() < deadline:
            time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
            snapshot = self._scan()
            for candidate in snapshot.interfaces.values():
                if candidate["vmbus_id"] == guid:
                    self.snapshot, iface = snapshot, candidate
                    break
        return iface, time.monotonic() - start

    # ----------------------------------------------------------------- present

    def present(self):
        params = self.params
        iface, via = self.find()
        if iface is None:
            self.fail("the NetVSC %s declared in %s is not present on this host now"
                      % (_describe(via), decls.path_for(self.config_dir, via["id"])))
        if via is None:  # keep the last seen name of a NetVSC that has lost its netdev
            via = next((d for d in self.declarations if designates(d, iface)), None)
        name = iface["name"] or (via and via["netvsc"].get("name")) or iface["vmbus_id"]
        mac = iface["mac"] or (via and via["netvsc"].get("mac"))
        if not mac:
            # DPDK (fail-safe mac=, the VF pairing, the VF policy files) needs the MAC, and a
            # VMBus device shows none once hv_netvsc has let go of it.
            self.fail("the MAC of %s is unknown: it is bound to %s and has no netdev, and no "
                      "declaration recorded its MAC. Bind it back to hv_netvsc (echo %s > "
                      "/sys/bus/vmbus/drivers/%s/unbind; echo %s > "
                      "/sys/bus/vmbus/drivers/hv_netvsc/bind) and declare it with driver "
                      "uio_hv_generic: netvsc_pair records the MAC before it rebinds. Nothing "
                      "was changed." % (name, iface["driver"] or "no driver", iface["vmbus_id"],
                                        iface["driver"] or "uio_hv_generic", iface["vmbus_id"]))
        pair_id = params["id"] or decls.default_id(mac)
        try:
            path = decls.path_for(self.config_dir, pair_id)
        except decls.DeclarationError as exc:
            self.fail(str(exc))

        for declaration in self.declarations:
            same = designates(declaration, dict(iface, mac=mac))
            if declaration["id"] == pair_id and not same:
                self.fail("pairing id %s is already used in %s for another NetVSC, %s; choose another id"
                          % (pair_id, path, _describe(declaration)))
            if declaration["id"] != pair_id and same:
                self.fail("%s is already declared as pairing %s in %s; use id: %s, or remove that "
                          "pairing first (state: absent)" % (
                              name, declaration["id"],
                              decls.path_for(self.config_dir, declaration["id"]), declaration["id"]))

        if iface["addresses"] and not params["force"]:
            self.fail("%s has addresses %s: it carries traffic, maybe your management connection; "
                      "refusing (force: true to override)" % (name, ", ".join(iface["addresses"])))

        iface, waited = self._wait_for_vf(iface)
        if iface["vf"] is None:
            if params["require_vf"]:
                self.fail("no VF is paired with %s after waiting %.1f s (require_vf: true); is "
                          "Accelerated Networking (SR-IOV) enabled for this NIC? Raise wait_for_vf "
                          "to wait for a VF during host servicing" % (name, waited))
            elif params["wait_for_vf"] > 0:
                self.module.warn("no VF is paired with %s after waiting %.1f s" % (name, waited))

        identity = dict(iface, name=iface["name"] or (via and via["netvsc"].get("name")), mac=mac)
        try:
            declaration = decls.build(pair_id, identity, params["driver"], params["require_vf"],
                                      params["force"])
        except decls.DeclarationError as exc:
            self.fail(str(exc))
        after = decls.dumps(declaration)
        self._refuse_invalid(path, pair_id)
        policy_files = self._policy_files(pair_id, declaration["netvsc"]["mac"], params["vf_unmanaged"],
                                          params["vf_modules"])
        policy = self._policy_plan(policy_files)
        previous = self._by_id(pair_id)
        plan = self._plan(iface["vmbus_id"], params["driver"], pair_id,
                          persist=bool(previous and previous["driver"] == _binding.UIO))
        # The declaration and the VF policy first: writing files is harmless, binding takes
        # the netdev away.
        steps = Plan(self.module.atomic_move)
        try:
            steps.write(path, after)
        except PlanError as exc:
            self.fail(str(exc))
        steps.extend(policy)
        steps.extend(plan)
        if steps.changed and not self.module.check_mode:
            self._apply(steps)
            self.snapshot = self._scan()
            iface = self._relocate(iface)
        return self._result(steps.changed, pair_id, path, declaration, iface, plan, steps.diffs,
                            _vfpolicy.written(policy_files))

    # ------------------------------------------------------------------ absent

    def absent(self):
        pair_id = self.params["id"]
        token = self.params["netvsc"]
        try:
            iface = self.snapshot.lookup(token)[1]
            lookup_error = None
        except InterfaceError as exc:
            if isinstance(exc, Conflict):
                self.fail(str(exc))
            iface, lookup_error = None, exc
        if pair_id is not None:
            try:
                path = decls.path_for(self.config_dir, pair_id)
            except decls.DeclarationError as exc:
                self.fail(str(exc))
            target = self._by_id(pair_id)
            if target is not None:
                named = designates(target, iface) if iface else designates(token, target["netvsc"])
                if not named:
                    self.fail("pairing %s (%s) declares %s, not %s; nothing removed"
                              % (pair_id, path, _describe(target), token))
        else:
            matching = [d for d in self.declarations
                        if (iface and designates(d, iface)) or designates(token, d["netvsc"])]
            target = matching[0] if matching else None
            pair_id = target["id"] if target else (iface and iface["mac"] and decls.default_id(iface["mac"]))
            path = decls.path_for(self.config_dir, pair_id) if pair_id else None
        if target is None and iface is None:
            self.fail(str(lookup_error))
        if iface is None and target is not None:
            iface = self._resolve(target)

        if path:
            self._refuse_invalid(path, pair_id)
        guid = (iface and iface["vmbus_id"]) or (target and target["netvsc"]["vmbus_id"])
        plan = _binding.BindingPlan(self.module.atomic_move)
        if guid and ((target and target["driver"] == _binding.UIO)
                     or os.path.exists(_binding.udev_rule_path(self.params["udev_rules_dir"], guid))):
            plan = self._plan(guid, _binding.NETVSC, pair_id,
                              persist=bool(target and target["driver"] == _binding.UIO),
                              live=iface is not None)
        # As with vf_unmanaged and vf_modules off: both policy files go.
        steps = self._policy_plan(self._policy_files(pair_id, None, False, False) if pair_id else {})
        steps.extend(plan)
        if path:
            try:
                steps.remove(path)
            except PlanError as exc:
                self.fail(str(exc))
        if steps.changed and not self.module.check_mode:
            self._apply(steps)
            self.snapshot = self._scan()
            iface = self._relocate(iface) if iface else None
        return self._result(steps.changed, pair_id, path, None, iface, plan, steps.diffs,
                            _vfpolicy.written({}))

    # ---------------------------------------------------------------- helpers

    def _plan(self, guid, driver, pair_id, persist, live=True):
        if not guid:
            self.fail("the NetVSC has no VMBus GUID in %s; cannot change its driver"
                      % self.params["sysfs_root"])
        try:
            if not live:
                return self.binder.plan_persistence_only(guid, pair_id)
            return self.binder.plan(guid, driver, pair_id, persist=persist)
        except _binding.BindingError as exc:
            self.fail(str(exc))

    def _policy_files(self, pair_id, mac, unmanaged, modules):
        return _vfpolicy.files(pair_id, mac, self.params["udev_rules_dir"], self.params["network_dir"],
                               unmanaged, modules)

    def _policy_plan(self, policy_files):
        try:
            return _vfpolicy.plan(policy_files, self.module.atomic_move)
        except PlanError as exc:
            self.fail(str(exc))

    def _apply(self, plan):
        """Record what plan creates in the manifest, then apply it."""
        try:
            _manifest.apply(plan, self.params["manifest"], self.module.atomic_move)
        except _manifest.ManifestError as exc:
            self.fail("%s; nothing was changed" % exc)
        except PlanError as exc:
            self.fail("%s; the steps before it were done (%s), rerun the task to finish"
                      % (exc, "; ".join(plan.descriptions)))

    def _relocate(self, iface):
        """The fresh fact dict of the same NetVSC (its netdev may be gone after binding)."""
        for candidate in self.snapshot.interfaces.values():
            if candidate["vmbus_id"] == iface["vmbus_id"]:
                return candidate
        return None

    def _result(self, changed, pair_id, path, declaration, iface, plan, diffs, vf_policy):
        vf = iface["vf"] if iface else None
        result = dict(
            changed=changed,
            binding_steps=plan.descriptions,
            vf_policy=vf_policy,
            pair=dict(
                id=pair_id,
                path=path,
                declaration=declaration,
                netvsc=iface,
                vf=vf,
                paired_by=vf["paired_by"] if vf else None,
                persistence=plan.persistence,
            ),
        )
        if self.module._diff and diffs:
            result["diff"] = diffs[0] if len(diffs) == 1 else diffs
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netvsc=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            id=dict(type="str"),
            require_vf=dict(type="bool", default=False),
            wait_for_vf=dict(type="int", default=0),
            force=dict(type="bool", default=False),
            driver=dict(type="str", choices=list(_binding.DRIVERS), default=_binding.NETVSC),
            udev_rules_dir=dict(type="path", default=_binding.DEFAULT_UDEV_RULES_DIR),
            vf_unmanaged=dict(type="bool", default=True),
            vf_modules=dict(type="bool", default=True),
            network_dir=dict(type="path", default=_vfpolicy.DEFAULT_NETWORK_DIR),
            manifest=dict(type="path"),
            config_dir=dict(type="path", default=decls.DEFAULT_CONFIG_DIR),
            sysfs_root=dict(type="path", default="/sys"),
        ),
        supports_check_mode=True,
    )
    paths, errors = _paths.check_all(
        dict((name, module.params[name]) for name in PATH_OPTIONS if module.params[name] is not None),
        system_ok=("udev_rules_dir", "network_dir", "sysfs_root"))
    if errors:
        module.fail_json(msg="; ".join(errors), errors=errors)
    module.params.update(paths)
    pair = PairModule(module)
    if not pair.snapshot.hyperv:
        module.fail_json(msg="this host is not a Hyper-V/Azure guest (no VMBus in %s)"
                         % module.params["sysfs_root"])
    if module.params["state"] == "present":
        result = pair.present()
    else:
        result = pair.absent()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
