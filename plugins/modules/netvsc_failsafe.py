#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: netvsc_failsafe
short_description: Render DPDK EAL arguments for declared NetVSC/VF pairings
version_added: 0.1.0
description:
  - Reads the pairing declarations written by M(hyperv.netvsc.netvsc_pair), finds each
    declared NetVSC and its VF in sysfs, and renders the DPDK EAL arguments that make a DPDK
    application survive VF hot-removal (host servicing) on Hyper-V and Azure.
  - "Modes, per pairing. V(failsafe): one C(--vdev net_failsafe_<id>,...) port whose sub-devices
    are the VF, read with C(exec) from C(<state_dir>/<id>.vf) (kept up to date by the hot-plug
    monitor), and a TAP fallback on the NetVSC netdev; the list starts once with
    C(--vdev net_vdev_netvsc0,ignore=1) (see the RV(eal_args) sample for the exact strings).
    V(vdev_netvsc): C(--vdev net_vdev_netvsc<N>,iface=<netvsc>), with C(force=1) when the
    pairing was declared with O(hyperv.netvsc.netvsc_pair#module:force=true).
    V(netvsc_pmd): C(-a <vf pci>) (MANA C(--vdev <pci>,mac=<mac>)), nothing while no VF is
    present; it needs the NetVSC declared with C(uio_hv_generic).
    V(auto): per pairing, as Microsoft recommends: V(netvsc_pmd) for a NetVSC whose VF is MANA
    and for one declared with C(uio_hv_generic), else V(failsafe). RV(pairs) gives the reason
    of each choice."
  - "Order: the pairings are rendered in the order of O(pairs), by default in the natural order
    of the NetVSC names (C(eth2) before C(eth10)). DPDK port ids follow neither (fail-safe and
    the netvsc PMD own hidden sub-ports): an application looks its ports up by device name,
    which RV(ports) and the O(port_map) file give per pairing."
  - A mode that is no longer valid for a pairing fails the task with the reason, for example
    V(failsafe) once the VF of the NetVSC became a MANA device (Azure moves VMs to MANA
    hardware after a deallocate).
  - A declared NetVSC that is not present now still renders in V(failsafe) mode, from its
    declaration (last seen name and MAC), with a warning.
  - An invalid declaration is skipped with a warning that names the file and the field. A
    declaration whose MAC and VMBus GUID designate two different NetVSCs is not rendered
    (a warning; an error if O(pairs) asks for it).
  - Fail-safe over MANA VFs is refused (use V(netvsc_pmd)).
  - Optionally writes the result to O(dest), the port map to O(port_map), one argument file
    per pairing to O(args_dir) and a drop-in per DPDK unit of O(units), each atomically and
    only when it differs.
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - hyperv.netvsc.paths
  - hyperv.netvsc.manifest
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: One diff per file written or removed (O(dest), O(port_map), O(args_dir), O(units)).
  platform:
    platforms: posix
options:
  pairs:
    description:
      - Pairings to render, in this order, by pairing id or by NetVSC (last seen name, MAC or
        VMBus GUID of a declaration, or a live NetVSC name).
      - Default is every declaration, those of O(declarations) in their order, those of
        O(config_dir) in the natural order of the NetVSC names (the live name, else the last
        seen one; then the id).
    type: list
    elements: str
  mode:
    description:
      - How the pairings are exposed to DPDK; see the description.
    type: str
    choices: [failsafe, vdev_netvsc, netvsc_pmd, auto]
    default: failsafe
  hotplug_poll:
    description:
      - Fail-safe C(hotplug_poll) in milliseconds, how often fail-safe re-runs C(exec()) while
        no VF is plugged.
      - The default comes from the failback benchmark (C(docs/modes.md)), with real DPDK
        22.11, from the VF's return to fail-safe sending on it again, p99 195 ms at 200 against
        1996 ms at fail-safe's own default 2000, for 1 % of a CPU while no VF is there.
    type: int
    default: 200
  state_dir:
    description:
      - Directory where the hot-plug monitor publishes C(<id>.vf); used in C(exec(cat ...)).
      - A plain absolute path (letters, digits, C(._/@+:-)), because fail-safe runs it through
        C(/bin/sh).
    type: path
    default: /run/netvsc
  dest:
    description:
      - File to write RV(content) to, for example a systemd C(EnvironmentFile).
      - Missing parent directories are created, with mode C(0755) (not in check mode).
      - A new file gets mode C(0644); an existing file keeps its permissions unless
        O(dest_mode) is set.
    type: path
  args_dir:
    description:
      - Directory to write one C(<id>.args) file to for each selected pairing (see O(pairs)).
        Each holds what O(format=args) renders when O(pairs) lists only that pairing (same
        O(mode), O(hotplug_poll) and O(state_dir)), whatever O(format) is, for an
        application that drives one pairing.
      - O(args_dir) holds exactly the selected pairings. Every other regular file
        C(<id>.args) in it whose C(<id>) is a valid pairing id (C(^[a-z0-9_]{1,32}$)) is
        removed, for example the file of a pairing no longer declared; files with other
        names are left alone. Leave O(pairs) at its default (every declaration) unless that
        is what you want.
      - Created with its missing parents, mode C(0755), when it does not exist (not in check
        mode).
      - Independent of O(dest); a file is written atomically and only when its content
        differs, with the permissions described for O(dest).
    type: path
  port_map:
    description:
      - 'File to write the port map to: RV(ports) as JSON, C({"format": 1, "ports": [...]}),
        for example C(/etc/netvsc/ports.map) beside the C(EnvironmentFile).'
      - Neither it nor any other output may be a C(.json) file in O(config_dir), which would be
        read as a pairing declaration.
      - Written like O(dest) (atomically, only when it differs, missing parents made), with the
        same O(dest_mode), O(owner) and O(group).
    type: path
  units:
    description:
      - systemd service units of DPDK applications to wire to O(dest) (which needs
        O(format=env)). Each gets the drop-in C(<units_dir>/<unit>.d/50-hyperv-netvsc.conf)
        with C(EnvironmentFile=<dest>); C(After=) and C(Wants=) O(monitor_unit) when a
        pairing is V(failsafe) (its exec() reads the monitor's files); for each V(netvsc_pmd)
        pairing a start check that its NetVSC is bound to C(uio_hv_generic); for each pairing
        whose VF is MANA, every netdev with its MAC set down before start (else MANA says
        C(Failed to create qp)).
      - Drop-ins of units no longer listed are removed, if this module wrote them (their first
        line says so). An empty list removes them all. Omitted, no drop-in is touched.
      - Reload systemd (C(daemon-reload)) after a drop-in changed, then restart the units that
        run (C(systemctl try-restart)), as the C(hyperv.netvsc.failsafe) role does.
    type: list
    elements: str
  units_dir:
    description:
      - Directory of the drop-ins of O(units).
    type: path
    default: /etc/systemd/system
  monitor_unit:
    description:
      - The hot-plug monitor's unit, which the drop-ins order fail-safe applications after.
    type: str
    default: netvsc-monitor.service
  readiness_root:
    description:
      - Directory below which O(mode=auto) looks for the installed DPDK and the kernel's
        modules (like M(hyperv.netvsc.netvsc_facts)'s option of this name), to give the
        reason of each choice.
    type: path
    default: /
  dest_mode:
    description:
      - Permissions of O(dest), O(port_map) and of the O(args_dir) files, like the C(mode) option of
        M(ansible.builtin.file) (this module's O(mode) is the DPDK mode), for example
        V("0640").
      - Needs O(dest) or O(args_dir).
    type: raw
  owner:
    description:
      - Name (or uid) of the user that should own O(dest) and the O(args_dir) files.
      - Needs O(dest) or O(args_dir).
    type: str
  group:
    description:
      - Name (or gid) of the group that should own O(dest) and the O(args_dir) files.
      - Needs O(dest) or O(args_dir).
    type: str
  declarations:
    description:
      - Render these pairing declarations (as RV(hyperv.netvsc.netvsc_pair#module:pairs[].declaration)
        returns them), in this order, instead of reading O(config_dir); each is checked like a
        file. In check mode a preceding M(hyperv.netvsc.netvsc_pair) wrote nothing, so this
        renders what a real run writes.
      - An empty list renders no arguments at all (and O(args_dir) then holds no C(.args) file).
    type: list
    elements: dict
  format:
    description:
      - Format of RV(content).
      - V(args) is one argument per line (C(mapfile -t ARGS < file) in bash).
      - V(env) is one C(NETVSC_EAL_ARGS="...") line for a systemd C(EnvironmentFile); use it as
        C($NETVSC_EAL_ARGS) (not C(${NETVSC_EAL_ARGS})) as a word of its own in C(ExecStart=).
        A second line, C(NETVSC_DPDK_PORTS="..."), lists the DPDK device names of the ports in
        the same order (RV(ports)).
      - V(json) is the rendering (C(eal_args), C(devargs), C(modes), C(reasons), C(devices),
        C(warnings)) as JSON.
    type: str
    choices: [args, env, json]
    default: args
notes:
  - A malformed declaration fails the task with the file and the problem.
seealso:
  - module: hyperv.netvsc.netvsc_pair
  - module: hyperv.netvsc.netvsc_facts
  - name: DPDK fail-safe poll mode driver
    description: The sub-device grammar used by the V(failsafe) mode.
    link: https://doc.dpdk.org/guides/nics/fail_safe.html
"""

EXAMPLES = r"""
- name: Render fail-safe arguments for every declared pairing
  hyperv.netvsc.netvsc_failsafe:
  register: eal

- name: Start testpmd with them
  ansible.builtin.command:
    argv: "{{ ['dpdk-testpmd', '-l', '0-1'] + eal.eal_args + ['--', '-i'] }}"

- name: Write a systemd EnvironmentFile for a DPDK service
  hyperv.netvsc.netvsc_failsafe:
    pairs: [dpdk0, dpdk1]
    mode: auto
    format: env
    dest: /etc/netvsc/eal.env
    owner: root
    group: root
    dest_mode: "0644"
  notify: Restart dpdk-app
# [Service]
# EnvironmentFile=/etc/netvsc/eal.env
# ExecStart=/usr/bin/dpdk-app -l 0-3 $NETVSC_EAL_ARGS -- --app-options

- name: Write the EnvironmentFile and one argument file per pairing, drop stale ones
  hyperv.netvsc.netvsc_failsafe:
    mode: auto
    format: env
    dest: /etc/netvsc/eal.env
    args_dir: /etc/netvsc/eal.d
    dest_mode: "0644"
  register: eal_files
  notify: Restart dpdk-app

- name: Choose the mode per pairing and write the port map beside the EnvironmentFile
  hyperv.netvsc.netvsc_failsafe:
    mode: auto
    format: env
    dest: /etc/netvsc/eal.env
    port_map: /etc/netvsc/ports.map
  register: eal_auto

- name: Say which DPDK device is which NIC
  ansible.builtin.debug:
    msg: "{{ eal_auto.ports | map(attribute='device') | zip(eal_auto.ports | map(attribute='netvsc')) | list }}"

- name: Wire a DPDK service to the arguments (drop-in), and restart it if it runs
  hyperv.netvsc.netvsc_failsafe:
    mode: auto
    format: env
    dest: /etc/netvsc/eal.env
    units: [dpdk-app.service]
  notify: Try-restart dpdk-app
# The handler reloads systemd, then runs: systemctl try-restart dpdk-app.service
# (a stopped unit stays stopped).

- name: Show which files changed
  ansible.builtin.debug:
    msg: "{{ eal_files.files | dict2items | rejectattr('value', '==', 'unchanged')
      | map(attribute='key') | list }}"
"""

RETURN = r"""
eal_args:
  description: EAL arguments, one argv element each.
  returned: success
  type: list
  elements: str
  sample:
    - --vdev
    - net_vdev_netvsc0,ignore=1
    - --vdev
    - net_failsafe_dpdk0,mac=00:0d:3a:03:1e:b1,hotplug_poll=200,exec(cat /run/netvsc/dpdk0.vf),dev(net_tap_dpdk0,remote=eth1)
devargs:
  description: Devargs strings per pairing id (the shared C(net_vdev_netvsc0,ignore=1) is not repeated).
  returned: success
  type: dict
  sample:
    dpdk0:
      - net_failsafe_dpdk0,mac=00:0d:3a:03:1e:b1,hotplug_poll=200,exec(cat /run/netvsc/dpdk0.vf),dev(net_tap_dpdk0,remote=eth1)
mode:
  description: Mode chosen per pairing id (V(auto) resolved).
  returned: success
  type: dict
  sample:
    dpdk0: failsafe
content:
  description: The rendering in O(format), as written to O(dest).
  returned: success
  type: str
  sample: |
    --vdev
    net_vdev_netvsc0,ignore=1
    --vdev
    net_failsafe_dpdk0,mac=00:0d:3a:03:1e:b1,hotplug_poll=200,exec(cat /run/netvsc/dpdk0.vf),dev(net_tap_dpdk0,remote=eth1)
files:
  description:
    - The files this call wrote, checked or removed (O(dest), O(port_map) and the O(args_dir)
      files), by path, as given (not resolved).
    - V(written) when the content changed, V(unchanged) when it was already current (its
      O(dest_mode), O(owner) and O(group) are still enforced, which can set C(changed)),
      V(removed) for a stale C(<id>.args) in O(args_dir). In check mode, what would happen.
    - Empty without O(dest), O(port_map) and O(args_dir).
  returned: success
  type: dict
  sample:
    /etc/netvsc/eal.env: written
    /etc/netvsc/eal.d/dpdk0.args: unchanged
    /etc/netvsc/eal.d/dpdk1.args: written
    /etc/netvsc/eal.d/dpdk7.args: removed
monitor_needed:
  description:
    - Whether a rendered pairing reads the hot-plug monitor's files (a V(failsafe) pairing).
      The C(hyperv.netvsc.failsafe) role runs the monitor only then.
  returned: success
  type: bool
  sample: true
vf_files:
  description:
    - The files the hot-plug monitor publishes the VF of each rendered pairing in,
      C(<state_dir>/<id>.vf) (what C(exec(cat ...)) reads), in the order of RV(ports). The
      monitor writes them, not this module; the C(hyperv.netvsc.failsafe) role records them in
      the manifest so that teardown removes them.
  returned: success
  type: list
  elements: str
  sample:
    - /run/netvsc/dpdk0.vf
ports:
  description:
    - The port map, in the order of the EAL arguments, says which DPDK device is which
      NetVSC. Look a port up with C(rte_eth_dev_get_port_by_name(device)); DPDK port ids are
      not positions.
  returned: success
  type: list
  elements: dict
  contains:
    position:
      description: Place of the pairing in the EAL arguments, from 0.
      type: int
      returned: always
      sample: 0
    id:
      description: Pairing id.
      type: str
      returned: always
      sample: dpdk0
    device:
      description:
        - DPDK device name of the port. V(failsafe) C(net_failsafe_<id>); V(vdev_netvsc)
          C(net_failsafe_vsc<N>) (N counts the NetVSCs vdev_netvsc takes, from 0, in argument
          order); V(netvsc_pmd) the NetVSC's VMBus GUID (the netvsc PMD names its port after
          the VMBus device). The same in DPDK 22.11 and 24.11.
      type: str
      returned: always
      sample: net_failsafe_dpdk0
    mode:
      description: Mode of the pairing.
      type: str
      returned: always
      sample: failsafe
    netvsc:
      description: NetVSC netdev name (its last seen name while bound to C(uio_hv_generic)).
      type: str
      returned: always
      sample: eth1
    mac:
      description: NetVSC MAC.
      type: str
      returned: always
      sample: "00:0d:3a:03:1e:b1"
    vmbus_id:
      description: NetVSC VMBus instance GUID.
      type: str
      returned: always
      sample: 000d3a03-1eb1-000d-3a03-1eb1000d3a03
  sample:
    - position: 0
      id: dpdk0
      device: net_failsafe_dpdk0
      mode: failsafe
      netvsc: eth1
      mac: "00:0d:3a:03:1e:b1"
      vmbus_id: 000d3a03-1eb1-000d-3a03-1eb1000d3a03
pairs:
  description: Per pairing id, the NetVSC and VF the rendering used, and the mode chosen.
  returned: success
  type: dict
  contains:
    netvsc_name:
      description: NetVSC netdev name (the declaration's last seen name when it is not present),
        V(null) for a NetVSC bound to C(uio_hv_generic).
      type: str
      returned: always
      sample: eth1
    mac:
      description: NetVSC MAC.
      type: str
      returned: always
      sample: "00:0d:3a:03:1e:b1"
    present:
      description: Whether the NetVSC is present now.
      type: bool
      returned: always
      sample: true
    vf:
      description: PCI address of the VF paired now, V(null) when none.
      type: str
      returned: always
      sample: "a2a3:00:02.0"
    mode:
      description: Mode of the pairing (V(auto) resolved).
      type: str
      returned: always
      sample: failsafe
    mode_reason:
      description: Why this mode.
      type: str
      returned: always
      sample: DPDK 21.11.7 is older than 22.11, from which Microsoft recommends the netvsc PMD
  sample:
    dpdk0:
      netvsc_name: eth1
      mac: "00:0d:3a:03:1e:b1"
      present: true
      vf: "a2a3:00:02.0"
      mode: failsafe
      mode_reason: mode failsafe was asked for
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ..module_utils import _declarations as decls
from ..module_utils import _devargs
from ..module_utils import _manifest
from ..module_utils import _portmap
from ..module_utils import _units
from ..module_utils._identity import Conflict, designated, designates
from ..module_utils._plan import Plan, PlanError
from ..module_utils._readiness import probe
from ..module_utils._scan import scan


def _matches(token, declaration, iface):
    """Whether a user token selects a pairing: its id, or what designates its NetVSC."""
    return bool(token == declaration["id"] or designates(token, declaration["netvsc"])
                or (iface is not None and designates(token, iface)))


def select(declarations, snapshot, wanted, warn, ordered=False):
    """The declarations to render, in the order asked; raise ValueError naming a bad token.

    Without wanted tokens: every declaration, in their order when ordered (netvsc_pair's), else
    in the natural order of their NetVSC names. A conflicting declaration (its MAC and GUID
    designate two NetVSCs) is never rendered.
    """
    resolved, conflicting = [], {}
    for declaration in declarations:
        try:
            resolved.append((declaration, designated(declaration, snapshot.interfaces)[1]))
        except Conflict as exc:
            conflicting[declaration["id"]] = "%s; it is not rendered until its declaration is fixed" % exc
            warn(conflicting[declaration["id"]])
    if not wanted:
        return resolved if ordered else sorted(resolved, key=lambda item: (
            _portmap.natural_key(shown_name(*item)), item[0]["id"]))
    chosen = []
    for token in wanted:
        token = str(token).strip()
        by_id = [item for item in resolved if item[0]["id"] == token]
        found = by_id or [item for item in resolved if _matches(token, *item)]
        if not found:
            raise ValueError(conflicting.get(token) or "no valid pairing declaration matches %s; declared "
                             "pairings: %s" % (token, ", ".join(d["id"] for d in declarations) or "none"))
        if len(found) > 1:
            raise ValueError("%s matches several pairing declarations (%s); use the pairing id"
                             % (token, ", ".join(item[0]["id"] for item in found)))
        if found[0] not in chosen:
            chosen.append(found[0])
    return chosen


def shown_name(declaration, iface):
    """The NetVSC's name to order and show it by: live, else the last one seen."""
    return (iface or {}).get("name") or declaration["netvsc"]["name"]


def pairing_input(declaration, iface, warn):
    """The per-pairing dict _devargs.render() takes."""
    ident = declaration["netvsc"]
    driver = declaration["driver"]
    if iface is None:
        warn("pairing %s: the NetVSC %s (MAC %s) is not present now; rendering from its "
             "declaration (last seen name)" % (declaration["id"], ident.get("name") or "?",
                                               ident.get("mac") or "unknown"))
        name = None if driver == "uio_hv_generic" else ident.get("name")
        mac = ident.get("mac")
        vf = None
    else:
        if driver == "uio_hv_generic" and iface["driver"] != "uio_hv_generic":
            warn("pairing %s is declared with uio_hv_generic but the NetVSC is bound to %s now; "
                 "the netvsc PMD will not find it (run hyperv.netvsc.netvsc_pair again)"
                 % (declaration["id"], iface["driver"] or "no driver"))
        name = iface["name"] if iface["name"] is not None else (
            None if driver == "uio_hv_generic" else ident.get("name"))
        mac = iface["mac"] or ident.get("mac")
        live_vf = iface["vf"]
        vf = None if live_vf is None else {
            "pci_address": live_vf["pci_address"], "mac": live_vf["mac"], "kind": live_vf["kind"]}
    return {
        "id": declaration["id"],
        "mac": mac,
        "netvsc_name": name,
        "vmbus_id": (iface and iface["vmbus_id"]) or ident.get("vmbus_id"),
        "driver": driver,
        "forced": bool(declaration.get("force", False)),
        "vf": vf,
    }


def dropins(params, ports, pairs):
    """[("units", path, text)] of the drop-in of each unit of params["units"]."""
    kinds = dict((p["id"], p["vf"]["kind"] if p["vf"] else None) for p in pairs)
    text = _units.dropin(params["dest"], [dict(port, vf_kind=kinds[port["id"]]) for port in ports],
                         params["monitor_unit"], params["sysfs_root"]) if params["units"] else None
    return [("units", _units.dropin_path(params["units_dir"], unit), text)
            for unit in params["units"] or []]


FORMATTERS = {
    "args": lambda rendered: _devargs.format_args(rendered.eal_args),
    "env": lambda rendered: _devargs.format_env(rendered.eal_args) + _devargs.format_env(
        [device for device in rendered.devices.values() if device], var="NETVSC_DPDK_PORTS"),
    "json": _devargs.format_json,
}


def render_args_files(pairs, params):
    """{id: content} of the args_dir files: each pairing rendered alone in format args.

    Their warnings are dropped: each is one the rendering of all the pairings already gave.
    """
    return dict((p["id"], _devargs.format_args(_devargs.render(
        [p], mode=params["mode"], hotplug_poll=params["hotplug_poll"],
        state_dir=params["state_dir"]).eal_args)) for p in pairs)


def stale_args_files(module, args_dir, keep_ids, keep_paths):
    """Regular files <id>.args in args_dir with a valid pairing id not in keep_ids, and whose
    real path is none of keep_paths."""
    try:
        names = sorted(os.listdir(args_dir))
    except FileNotFoundError:
        return []
    except OSError as exc:
        module.fail_json(msg="cannot list args_dir %s (%s)" % (args_dir, exc.strerror))
    stale = []
    for name in names:
        stem, ext = os.path.splitext(name)
        path = os.path.join(args_dir, name)
        if (ext == ".args" and decls.ID_RE.fullmatch(stem) and stem not in keep_ids
                and os.path.isfile(path) and not os.path.islink(path)
                and os.path.realpath(path) not in keep_paths):
            stale.append(path)
    return stale


def stale_dropins(module, units_dir, keep_paths):
    """Drop-ins <units_dir>/*.service.d/50-hyperv-netvsc.conf this module wrote (regular files
    whose first line is its header), other than keep_paths."""
    try:
        names = sorted(os.listdir(units_dir))
    except FileNotFoundError:
        return []
    except OSError as exc:
        module.fail_json(msg="cannot list units_dir %s (%s)" % (units_dir, exc.strerror))
    stale = []
    for name in names:
        path = os.path.join(units_dir, name, _units.DROPIN_NAME)
        if not name.endswith(".service.d") or path in keep_paths or os.path.islink(path) \
                or not os.path.isfile(path):
            continue
        try:
            with open(path) as handle:
                mine = _units.is_ours(handle.read(len(_units.HEADER)))
        except (OSError, UnicodeDecodeError):
            mine = False
        if mine:
            stale.append(path)
    return stale


def sync_files(module, outputs, args_contents):
    """Write the outputs ([(what, path, text)]: dest, port_map, drop-ins) and the args_dir
    files, remove stale .args files and drop-ins; return (changed, files, diffs).

    Everything is planned (read) before the first change, so a bad path fails the task with
    nothing written; what the plan creates is recorded in the manifest first.
    """
    params = module.params
    args_dir = params["args_dir"]
    plan = Plan(module.atomic_move)
    taken = {}  # real path: what it is, so that no two outputs share a file
    config_dir = os.path.realpath(params["config_dir"])
    for what, path, text in outputs:
        if os.path.dirname(os.path.realpath(path)) == config_dir and decls.is_declaration_name(
                os.path.basename(path)):
            module.fail_json(msg="%s %s is in config_dir and would be read as a pairing "
                             "declaration; write it elsewhere or name it without .json" % (what, path))
        if os.path.realpath(path) in taken:
            module.fail_json(msg="%s %s is also %s" % (what, path, taken[os.path.realpath(path)]))
        taken[os.path.realpath(path)] = "%s %s" % (what, path)
        try:
            plan.write(path, text, mode=None)
        except PlanError as exc:
            module.fail_json(msg="%s %s: %s" % (what, path, exc))
    try:
        if params["units"] is not None:
            for path in stale_dropins(module, params["units_dir"], [p for _w, p, _t in outputs]):
                plan.remove(path)
    except PlanError as exc:
        module.fail_json(msg="units_dir %s: %s" % (params["units_dir"], exc))
    try:
        if args_dir:
            plan.make_dirs(args_dir)
            for pair_id, text in args_contents.items():
                path = os.path.join(args_dir, pair_id + ".args")
                if os.path.realpath(path) in taken:
                    module.fail_json(msg="%s is also the args_dir file of pairing %s"
                                     % (taken[os.path.realpath(path)], pair_id))
                plan.write(path, text, mode=None)
            for path in stale_args_files(module, args_dir, args_contents, taken):
                plan.remove(path)
    except PlanError as exc:
        module.fail_json(msg="args_dir %s: %s" % (args_dir, exc))
    if not module.check_mode:
        try:
            _manifest.apply(plan, params["manifest"], module.atomic_move)
        except (PlanError, _manifest.ManifestError) as exc:
            module.fail_json(msg=str(exc))

    changed = plan.changed
    attributes = dict(mode=params["dest_mode"], owner=params["owner"], group=params["group"])
    for path, what in plan.files.items():
        # In check mode a file not written yet has no attributes to compare.
        if what != "removed" and os.path.exists(path):
            changed = module.set_fs_attributes_if_different(
                module.load_file_common_arguments(attributes, path=path), changed)
    return changed, plan.files, plan.diffs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pairs=dict(type="list", elements="str"),
            mode=dict(type="str", choices=list(_devargs.MODES), default="failsafe"),
            hotplug_poll=dict(type="int", default=_devargs.HOTPLUG_POLL_MS),
            state_dir=dict(type="path", default="/run/netvsc"),
            dest=dict(type="path"),
            format=dict(type="str", choices=["args", "env", "json"], default="args"),
            args_dir=dict(type="path"),
            dest_mode=dict(type="raw"),
            owner=dict(type="str"),
            group=dict(type="str"),
            declarations=dict(type="list", elements="dict"),
            port_map=dict(type="path"),
            units=dict(type="list", elements="str"),
            units_dir=dict(type="path", default="/etc/systemd/system"),
            monitor_unit=dict(type="str", default="netvsc-monitor.service"),
            readiness_root=dict(type="path", default="/"),
            manifest=dict(type="path"),
            config_dir=dict(type="path", default=decls.DEFAULT_CONFIG_DIR),
            sysfs_root=dict(type="path", default="/sys"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    # required_by takes a single key; these need either of two.
    attributes = [name for name in ("dest_mode", "owner", "group") if params[name] is not None]
    if attributes and not (params["dest"] or params["port_map"] or params["args_dir"]):
        module.fail_json(msg="%s: only with dest, port_map or args_dir (they apply to the files "
                         "this module writes)" % ", ".join(attributes))
    if params["units"] and not (params["dest"] and params["format"] == "env"):
        module.fail_json(msg="units: needs dest with format env (the drop-ins make it the units' "
                         "EnvironmentFile)")
    given = params["declarations"] is not None
    if given:
        try:
            declarations = [decls.validate(d, "declarations[%d]" % i)
                            for i, d in enumerate(params["declarations"])]
        except decls.DeclarationError as exc:
            module.fail_json(msg=str(exc))
        errors = []
    else:
        declarations, errors = decls.load_all(params["config_dir"])
    for error in errors:
        module.warn("skipping an invalid pairing declaration: %s" % error)
    snapshot = scan(params["sysfs_root"], known_macs=decls.known_macs(declarations))
    if not snapshot.hyperv:
        module.fail_json(msg="this host is not a Hyper-V/Azure guest (no VMBus in %s)"
                         % params["sysfs_root"])
    for warning in snapshot.warnings:
        module.warn(warning)
    if not declarations and not given:
        module.fail_json(msg="no valid pairing declarations in %s; declare pairings with "
                         "hyperv.netvsc.netvsc_pair first" % params["config_dir"], errors=errors)
    try:
        selected = select(declarations, snapshot, params["pairs"], module.warn, ordered=given)
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    pairs = [pairing_input(declaration, iface, module.warn) for declaration, iface in selected]
    # The host's DPDK and kernel only word auto's reasons: the binding is netvsc_pair's.
    host = probe(params["readiness_root"], params["sysfs_root"]) if params["mode"] == "auto" else None
    try:
        rendered = _devargs.render(pairs, mode=params["mode"], hotplug_poll=params["hotplug_poll"],
                                   state_dir=params["state_dir"], host=host)
        content = FORMATTERS[params["format"]](rendered)
        args_contents = render_args_files(pairs, params) if params["args_dir"] else {}
        vf_files = [_devargs.vf_state_path(params["state_dir"], p["id"]) for p in pairs]
    except _devargs.DevargsError as exc:
        module.fail_json(msg=str(exc))
    for warning in rendered.warnings:
        module.warn(warning)
    ports = _portmap.port_map(pairs, rendered, dict(
        (declaration["id"], shown_name(declaration, iface)) for declaration, iface in selected))
    outputs = [(option, params[option], text) for option, text in (
        ("dest", content), ("port_map", _portmap.format_map(ports))) if params[option]]
    try:
        outputs += dropins(params, ports, pairs)
    except _units.UnitError as exc:
        module.fail_json(msg="units: %s" % exc)

    changed, files, diffs = sync_files(module, outputs, args_contents)
    # No "dest" key in the result: exit_json would add file stats and overwrite "mode".
    result = dict(
        changed=changed,
        files=files,
        eal_args=rendered.eal_args,
        devargs=rendered.devargs,
        mode=rendered.modes,
        content=content,
        ports=ports,
        monitor_needed="failsafe" in rendered.modes.values(),
        vf_files=vf_files,
        pairs=dict((p["id"], {"netvsc_name": p["netvsc_name"], "mac": p["mac"],
                              "present": iface is not None,
                              "vf": p["vf"]["pci_address"] if p["vf"] else None,
                              "mode": rendered.modes[p["id"]],
                              "mode_reason": rendered.reasons[p["id"]]})
                   for p, (_declaration, iface) in zip(pairs, selected)),
    )
    if module._diff and diffs:
        result["diff"] = diffs[0] if len(diffs) == 1 else diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
