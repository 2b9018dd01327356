# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DPDK EAL devargs rendering and grammar validation for NetVSC/VF pairings.

This is the ONLY place in the collection where devargs are built. Everything is a pure
function over plain data (no sysfs, no Ansible); plain Python >= 3.8, stdlib only.

Input: one *pairing* per DPDK port, a dict (or any object with the same attributes)::

    {"id": "eth1",                      # ^[a-z0-9_]{1,32}$
     "mac": "00:0d:3a:03:1e:b1",        # NetVSC MAC, lowercase
     "netvsc_name": "eth1",             # netdev name, None when bound to uio_hv_generic
     "vmbus_id": "000d3a03-...",        # not rendered
     "driver": "hv_netvsc",             # or "uio_hv_generic"
     "forced": False,                   # vdev_netvsc force=1
     "vf": None or {"pci_address": "a2a3:00:02.0", "mac": "00:0d:3a:03:1e:b1",
                    "kind": "mlx4" | "mlx5" | "mana" | "unknown"}}

``render(pairs, mode)`` returns a :class:`Rendered` (``eal_args`` argv list, ``devargs``,
``modes``, ``reasons`` and ``devices`` per id, ``warnings``) or raises :class:`DevargsError`
naming the pairing. Which mode a pairing gets, and whether it is valid for its VF, is
``_mode.choose()``.

``devices`` holds the name of the DPDK port an application looks up
(``rte_eth_dev_get_port_by_name()``), as the PMDs of DPDK 22.11 and 24.11 name them:

* fail-safe: its vdev name, ``net_failsafe_<id>``;
* vdev_netvsc: the fail-safe port it creates, ``net_failsafe_vsc<N>`` (``vdev_netvsc.c``:
  N counts the NetVSCs it took, in argument order, from 0);
* netvsc PMD: the VMBus device name, the NetVSC's instance GUID (``bus/vmbus``: the entry of
  ``/sys/bus/vmbus/devices``; ``hn_ethdev.c`` allocates the port under it).

The VF ports are sub-devices owned by the fail-safe or netvsc port (hidden from
``RTE_ETH_FOREACH_DEV``) and not listed.

Grammar facts this module enforces (DPDK ``drivers/net/failsafe/failsafe_args.c``):

* at most two sub-devices; the first is the preferred (TX) one: VF first, TAP second;
* ``exec(...)``: every comma is turned into a space before ``popen()`` => no commas;
  the output is re-read every ``hotplug_poll`` ms only while the sub-device is undefined;
* parentheses are counted, quotes are unknown => balanced parentheses only;
* the whole parameter string must be shorter than 4096 bytes;
* kvargs left after removing sub-devices: only ``mac`` and ``hotplug_poll``.
"""

from __future__ import annotations

import json
import re

from ._declarations import DRIVERS, ID_RE
from ._identity import MAC_RE, is_netdev_name, normalize_guid
from ._mode import MODES, ModeError, choose
from ._scan import KINDS as VF_KINDS

DEVARGS_MAXLEN = 4096  # fail-safe: strlen(params) >= DEVARGS_MAXLEN is refused
FAILSAFE_MAX_SUBDEVICES = 2  # FAILSAFE_MAX_ETHPORTS
# Default fail-safe hotplug_poll (ms): p99 195 ms from the VF's return (its uevent) to TX on
# it, 1 % of a CPU while no VF is there (benchmarks/failback_latency.py, docs/modes.md).
HOTPLUG_POLL_MS = 200

PCI_RE = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
# Characters that never appear in a value we put inside devargs / an exec() command line.
# ',' '(' ')' '=' break the fail-safe/kvargs grammar, '[' ']' open and close a kvargs list
# (rte_kvargs_tokenize: commas inside one do not separate), whitespace and quotes break the
# command line and its systemd/shell quoting.
_DEVARGS_BREAKERS = ",()=[]\"'`"
# The exec() command is run by popen() => /bin/sh -c: the state directory must be a plain
# path (no shell metacharacters, no glob, no expansion).
_SAFE_PATH_RE = re.compile(r"^/[A-Za-z0-9._/@+:-]*$")

ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# argv words that need no quoting in the systemd "$VAR" split (and in a POSIX shell)
_BARE_WORD_RE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")

WARN_NO_VF_PMD = (
    "pairing {id}: no VF is present now; netvsc PMD starts synthetic-only (no VF argument "
    "rendered) and hot-adds the VF itself when the host offers it (DPDK >= 21.02)"
)


class DevargsError(ValueError):
    """A pairing cannot be rendered; the message names the pairing and says why."""


class Rendered:
    """Result of :func:`render`.

    ``eal_args``: argv list for the EAL (``["--vdev", "net_vdev_netvsc0,ignore=1", ...]``).
    ``devargs``: ``{id: [devargs string, ...]}`` (what belongs to that pairing; the shared
    ``net_vdev_netvsc0,ignore=1`` is not repeated per id).
    ``modes``: ``{id: "failsafe" | "vdev_netvsc" | "netvsc_pmd"}`` (mode actually chosen).
    ``reasons``: ``{id: why that mode}`` (``_mode.choose()``).
    ``devices``: ``{id: DPDK device name of its port}`` (None: netvsc PMD without a VMBus GUID).
    ``warnings``: list of strings.
    All dicts keep the order of the pairings.
    """

    __slots__ = ("eal_args", "devargs", "modes", "reasons", "devices", "warnings")

    def __init__(self, eal_args=None, devargs=None, modes=None, reasons=None, devices=None,
                 warnings=None):
        self.eal_args = list(eal_args or [])
        self.devargs = dict(devargs or {})
        self.modes = dict(modes or {})
        self.reasons = dict(reasons or {})
        self.devices = dict(devices or {})
        self.warnings = list(warnings or [])

    def to_dict(self):
        return {
            "eal_args": list(self.eal_args),
            "devargs": {k: list(v) for k, v in self.devargs.items()},
            "modes": dict(self.modes),
            "reasons": dict(self.reasons),
            "devices": dict(self.devices),
            "warnings": list(self.warnings),
        }

    def __eq__(self, other):
        return isinstance(other, Rendered) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return "Rendered(%r)" % (self.to_dict(),)


# --------------------------------------------------------------------------- helpers


def _get(obj, key, default=None):
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _printable(value):
    return all(0x20 < ord(c) < 0x7F for c in value)


def _check_token(value, what, pid):
    """A value embedded in devargs: non-empty str, printable ASCII, no grammar breakers."""
    where = "pairing %s: " % pid if pid is not None else ""
    if not isinstance(value, str) or not value:
        raise DevargsError("%s%s must be a non-empty string, got %r" % (where, what, value))
    bad = sorted(set(c for c in value if c in _DEVARGS_BREAKERS or c.isspace()))
    if bad:
        raise DevargsError(
            "%s%s %r contains %s, which would break the devargs syntax "
            "(',' '(' ')' '=' '[' ']' whitespace and quotes are not allowed)"
            % (where, what, value, " ".join(repr(c) for c in bad)))
    if not _printable(value):
        raise DevargsError("%s%s %r contains non-printable or non-ASCII characters"
                           % (where, what, value))
    return value


def check_parens(value, what="devargs"):
    """Raise unless parentheses are balanced (fail-safe counts them, ignoring quotes)."""
    depth = 0
    for c in value:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise DevargsError("%s %r has an unmatched ')'" % (what, value))
    if depth:
        raise DevargsError("%s %r has a dangling '(' (unbalanced parentheses)" % (what, value))
    return value


def check_length(value, what="devargs"):
    size = len(value.encode("utf-8"))
    if size >= DEVARGS_MAXLEN:
        raise DevargsError("%s is %d bytes; DPDK refuses devargs of %d bytes or more "
                           "(\"Parameter string too long\")" % (what, size, DEVARGS_MAXLEN))
    return value


def check_id(pid):
    if not isinstance(pid, str) or not ID_RE.fullmatch(pid):
        raise DevargsError("pairing id %r is invalid: it must match ^[a-z0-9_]{1,32}$ "
                           "(it becomes part of DPDK device names and a file name)" % (pid,))
    return pid


def check_mac(mac, what="MAC", pid=None):
    where = "pairing %s: " % pid if pid is not None else ""
    if not isinstance(mac, str) or not MAC_RE.fullmatch(mac):
        raise DevargsError("%s%s %r is not a lowercase colon-separated MAC "
                           "(xx:xx:xx:xx:xx:xx)" % (where, what, mac))
    return mac


def check_pci(addr, pid=None):
    where = "pairing %s: " % pid if pid is not None else ""
    if not isinstance(addr, str) or not PCI_RE.fullmatch(addr):
        raise DevargsError("%sVF PCI address %r is not a full lowercase PCI address "
                           "(dddd:bb:dd.f, e.g. a2a3:00:02.0)" % (where, addr))
    return addr


def check_hotplug_poll(value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DevargsError("hotplug_poll must be a positive integer (milliseconds), got %r"
                           % (value,))
    return value


def check_state_dir(state_dir):
    if not isinstance(state_dir, str) or not state_dir:
        raise DevargsError("state_dir must be a non-empty absolute path, got %r" % (state_dir,))
    _check_token(state_dir, "state_dir", None)
    if not _SAFE_PATH_RE.fullmatch(state_dir):
        raise DevargsError(
            "state_dir %r must be an absolute path made of letters, digits and ._/@+:- only "
            "(it is run by /bin/sh inside fail-safe's exec())" % (state_dir,))
    stripped = state_dir.rstrip("/")
    return stripped or "/"


def check_iface(name, pid=None):
    """A NetVSC netdev name the renderers can put in devargs (netvsc_pair checks it first)."""
    _check_token(name, "NetVSC interface name", pid)
    if not is_netdev_name(name):
        raise DevargsError("pairing %s: %r is not a valid Linux interface name" % (pid, name))
    return name


# --------------------------------------------------------------- building blocks


def vf_device_arg(vf):
    """The VF argument fail-safe's exec() reads and the monitor publishes.

    ``a2a3:00:02.0`` for mlx4/mlx5/unknown; MANA shares one PCI function for all vPorts
    and is selected with ``mac=``: ``7870:00:00.0,mac=00:0d:3a:...``.
    Strict: a full lowercase PCI address and a lowercase MAC, else DevargsError.
    """
    if not vf:
        raise DevargsError("no VF given")
    pci = check_pci(_get(vf, "pci_address"))
    mac = check_mac(_get(vf, "mac"), "VF MAC")
    kind = _get(vf, "kind") or "unknown"
    if kind not in VF_KINDS:
        raise DevargsError("VF kind %r is not one of %s" % (kind, ", ".join(VF_KINDS)))
    if kind == "mana":
        return "%s,mac=%s" % (pci, mac)
    return pci


def vf_state_path(state_dir, pid):
    """``<state_dir>/<id>.vf``: the file the monitor writes and exec() cats."""
    return "%s/%s.vf" % (check_state_dir(state_dir).rstrip("/"), check_id(pid))


def vf_state_command(state_dir, pid):
    """The shell command fail-safe runs: ``cat <state_dir>/<id>.vf``."""
    return "cat %s" % vf_state_path(state_dir, pid)


def exec_subdevice(command):
    """``exec(<command>)``; refuses commas (fail-safe turns them into spaces)."""
    if not isinstance(command, str) or not command.strip():
        raise DevargsError("exec() command must be a non-empty string")
    if "," in command:
        raise DevargsError("exec() command %r contains a comma: fail-safe replaces every "
                           "comma with a space before running it" % (command,))
    if not all(c == " " or 0x20 < ord(c) < 0x7F for c in command):
        raise DevargsError("exec() command %r contains non-printable characters" % (command,))
    check_parens(command, "exec() command")
    return "exec(%s)" % command


def dev_subdevice(device):
    """``dev(<device definition>)``, e.g. ``dev(net_tap_eth1,remote=eth1)``."""
    if not isinstance(device, str) or not device:
        raise DevargsError("dev() device definition must be a non-empty string")
    if not _printable(device):
        raise DevargsError("dev() device definition %r contains whitespace or "
                           "non-printable characters" % (device,))
    check_parens(device, "dev() device definition")
    return "dev(%s)" % device


def tap_subdevice(pid, remote):
    """The synthetic fallback: ``dev(net_tap_<id>,remote=<netvsc name>)``."""
    return dev_subdevice("net_tap_%s,remote=%s" % (check_id(pid), check_iface(remote, pid)))


def failsafe_devargs(pid, mac, hotplug_poll, subdevices):
    """``net_failsafe_<id>,mac=<mac>,hotplug_poll=<ms>,<sub 1>[,<sub 2>]`` after checks."""
    check_id(pid)
    check_mac(mac, "NetVSC MAC", pid)
    check_hotplug_poll(hotplug_poll)
    subdevices = list(subdevices)
    if not 1 <= len(subdevices) <= FAILSAFE_MAX_SUBDEVICES:
        raise DevargsError("pairing %s: fail-safe takes 1 or 2 sub-devices, got %d"
                           % (pid, len(subdevices)))
    for sub in subdevices:
        if not (sub.startswith("exec(") or sub.startswith("dev(") or sub.startswith("fd(")):
            raise DevargsError("pairing %s: %r is not a fail-safe sub-device "
                               "(dev(), exec() or fd())" % (pid, sub))
    value = "net_failsafe_%s,mac=%s,hotplug_poll=%d,%s" % (
        pid, mac, hotplug_poll, ",".join(subdevices))
    check_parens(value, "pairing %s: fail-safe devargs" % pid)
    check_length(value, "pairing %s: fail-safe devargs" % pid)
    return value


# --------------------------------------------------------------------- rendering

VDEV_NETVSC_IGNORE = "net_vdev_netvsc0,ignore=1"


def _normalize(pair, index):
    pid = _get(pair, "id")
    if pid is None:
        raise DevargsError("pairing #%d has no id" % index)
    check_id(pid)
    driver = _get(pair, "driver") or "hv_netvsc"
    if driver not in DRIVERS:
        raise DevargsError("pairing %s: driver %r is not one of %s"
                           % (pid, driver, ", ".join(DRIVERS)))
    mac = check_mac(_get(pair, "mac"), "NetVSC MAC", pid)
    name = _get(pair, "netvsc_name")
    if name is not None:
        check_iface(name, pid)
    forced = _get(pair, "forced", False)
    if not isinstance(forced, bool):
        raise DevargsError("pairing %s: forced must be true or false, got %r" % (pid, forced))
    vf = _get(pair, "vf")
    vf_arg = None
    kind = None
    if vf:
        try:
            vf_arg = vf_device_arg(vf)
        except DevargsError as exc:
            raise DevargsError("pairing %s: %s" % (pid, exc))
        kind = _get(vf, "kind") or "unknown"
        if _get(vf, "mac") != mac:
            raise DevargsError(
                "pairing %s: the VF %s reports MAC %s but the NetVSC has %s; on Hyper-V the "
                "VF always carries the NetVSC's MAC, so this is not its VF (check the "
                "pairing / rescan)" % (pid, _get(vf, "pci_address"), _get(vf, "mac"), mac))
    vmbus_id = _get(pair, "vmbus_id")
    if vmbus_id is not None and normalize_guid(vmbus_id) != vmbus_id:
        raise DevargsError("pairing %s: VMBus GUID %r is not a lowercase GUID without braces"
                           % (pid, vmbus_id))
    return {"id": pid, "driver": driver, "mac": mac, "name": name, "forced": forced,
            "vmbus_id": vmbus_id, "vf": vf, "vf_arg": vf_arg, "kind": kind}


def _need_netdev(p, mode):
    if p["driver"] == "uio_hv_generic" or p["name"] is None:
        raise DevargsError(
            "pairing %s: mode %s needs the NetVSC's kernel netdev (the TAP fallback's "
            "remote= and vdev_netvsc's iface= name it), but the NetVSC %s has no netdev name "
            "(it is bound to uio_hv_generic). Use mode netvsc_pmd for a uio-bound NetVSC, or "
            "bind it back to hv_netvsc." % (p["id"], mode, p["mac"]))


def _render_failsafe(p, hotplug_poll, state_dir, warnings):
    _need_netdev(p, "failsafe")
    if p["kind"] == "unknown":
        warnings.append(
            "pairing %s: VF %s is of unknown kind; fail-safe only swaps it out on RMV events "
            "(mlx4/mlx5 emit them), check that its PMD does" % (p["id"], p["vf_arg"]))
    subs = [exec_subdevice(vf_state_command(state_dir, p["id"])),
            tap_subdevice(p["id"], p["name"])]
    return failsafe_devargs(p["id"], p["mac"], hotplug_poll, subs)


def _render_vdev_netvsc(p, index):
    _need_netdev(p, "vdev_netvsc")
    value = "net_vdev_netvsc%d,iface=%s" % (index, p["name"])
    if p["forced"]:
        value += ",force=1"
    check_length(value, "pairing %s: vdev_netvsc devargs" % p["id"])
    return value


def _render_netvsc_pmd(p, warnings):
    if p["vf"] is None:
        warnings.append(WARN_NO_VF_PMD.format(id=p["id"]))
        return []
    if p["kind"] == "mana":
        return ["--vdev", p["vf_arg"]]
    return ["-a", p["vf_arg"]]


def render(pairs, mode="failsafe", hotplug_poll=HOTPLUG_POLL_MS, state_dir="/run/netvsc", host=None):
    """Render EAL arguments for all pairings (in the given order) in one mode.

    Modes: ``failsafe`` (``--vdev net_vdev_netvsc0,ignore=1`` once, then per pairing
    ``--vdev net_failsafe_<id>,mac=<mac>,hotplug_poll=<ms>,exec(cat <state_dir>/<id>.vf),
    dev(net_tap_<id>,remote=<netvsc>)``), ``vdev_netvsc`` (``--vdev
    net_vdev_netvsc<N>,iface=<netvsc>[,force=1]``), ``netvsc_pmd`` (``-a <vf pci>``, MANA
    ``--vdev <pci>,mac=<mac>``, nothing when no VF), ``auto`` (per pairing, ``_mode.choose()``
    with the pairing's declared driver and host, the ``_readiness.probe()`` of the host, which
    only words the reasons). Raises DevargsError before producing output.
    """
    if mode not in MODES:
        raise DevargsError("mode %r is not one of %s" % (mode, ", ".join(MODES)))
    check_hotplug_poll(hotplug_poll)
    state_dir = check_state_dir(state_dir)
    pairs = list(pairs or [])
    result = Rendered()
    if not pairs:
        result.warnings.append("no pairings to render")
        return result

    normalized = [_normalize(pair, i) for i, pair in enumerate(pairs)]
    seen = {}
    for p in normalized:
        for key in ("id", "mac", "name"):
            if p[key] is None:
                continue
            other = seen.get((key, p[key]))
            if other is not None:
                raise DevargsError("pairing %s: %s %s is already used by pairing %s"
                                   % (p["id"], key, p[key], other))
            seen[(key, p[key])] = p["id"]

    per_pair = []
    vdev_index = 0
    for p in normalized:
        try:
            chosen, _driver, reason = choose(mode, p["kind"], host, p["driver"], pair_id=p["id"],
                                             vf=p["vf"] and _get(p["vf"], "pci_address"))
        except ModeError as exc:
            raise DevargsError(str(exc))
        if chosen == "failsafe":
            value = _render_failsafe(p, hotplug_poll, state_dir, result.warnings)
            args, devargs, device = ["--vdev", value], [value], "net_failsafe_%s" % p["id"]
        elif chosen == "vdev_netvsc":
            value = _render_vdev_netvsc(p, vdev_index)
            args, devargs, device = ["--vdev", value], [value], "net_failsafe_vsc%d" % vdev_index
            vdev_index += 1
        else:
            args = _render_netvsc_pmd(p, result.warnings)
            devargs, device = args[1::2], p["vmbus_id"]
        result.modes[p["id"]] = chosen
        result.reasons[p["id"]] = reason
        result.devices[p["id"]] = device
        result.devargs[p["id"]] = devargs
        per_pair.extend(args)

    if "failsafe" in result.modes.values():
        result.eal_args = ["--vdev", VDEV_NETVSC_IGNORE] + per_pair
    else:
        result.eal_args = per_pair
    for arg in result.eal_args:
        check_length(arg, "EAL argument")
    return result


# ------------------------------------------------------------------- formatting


def _args_list(obj):
    if isinstance(obj, Rendered):
        return list(obj.eal_args)
    return list(obj)


def format_args(eal_args):
    """One argv element per line (for ``mapfile -t ARGS < file`` in bash)."""
    args = _args_list(eal_args)
    for arg in args:
        if "\n" in arg or "\r" in arg or "\0" in arg:
            raise DevargsError("EAL argument %r contains a line break or NUL" % (arg,))
    return "".join(arg + "\n" for arg in args)


def quote_word(word):
    """Quote one argv word for systemd's ``$VAR`` splitting (quotes respected, removed).

    Bare when it has only ``[A-Za-z0-9_@%+=:,./-]``; otherwise single-quoted. Words with
    quotes, backslashes or control characters are refused (never produced by render()).
    """
    if not isinstance(word, str) or word == "":
        raise DevargsError("cannot quote empty or non-string argument %r" % (word,))
    if _BARE_WORD_RE.fullmatch(word):
        return word
    if any(c in "'\"\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in word):
        raise DevargsError("EAL argument %r contains a quote, backslash or control "
                           "character and cannot be passed through an EnvironmentFile" % (word,))
    return "'%s'" % word


def format_env(eal_args, var="NETVSC_EAL_ARGS"):
    """One systemd EnvironmentFile line: ``NETVSC_EAL_ARGS="--vdev 'net_failsafe_…' …"``.

    Two quoting layers, both from systemd's documentation:

    1. systemd.exec(5) EnvironmentFile=: the value is double-quoted; inside, ``\\`` ``"``
       `````` ``$`` are backslash-escaped (POSIX double-quote rules). The manager reads the
       value verbatim: ``--vdev 'net_failsafe_eth1,…,exec(cat /run/netvsc/eth1.vf),…'``.
    2. systemd.service(5) command lines: a unit uses it as a word of its own, unbraced::

           [Service]
           EnvironmentFile=/etc/netvsc/eal.env
           ExecStart=/usr/bin/dpdk-app -l 0-1 $NETVSC_EAL_ARGS -- --app-options

       "$FOO as a separate word … split at whitespace … quotes are respected when splitting
       into words, and afterwards removed", so each single-quoted ``--vdev`` value (which
       contains the space of ``exec(cat …)`` and parentheses) arrives as ONE argv element.
       Do not write ``${NETVSC_EAL_ARGS}``: that passes the whole string as one argument.

    The same line can be sourced by a POSIX shell (``. file; eval "set -- $NETVSC_EAL_ARGS"``).
    """
    if not isinstance(var, str) or not ENV_VAR_RE.fullmatch(var):
        raise DevargsError("environment variable name %r is invalid" % (var,))
    value = " ".join(quote_word(w) for w in _args_list(eal_args))
    escaped = re.sub(r'([\\"`$])', r"\\\1", value)
    return '%s="%s"\n' % (var, escaped)


def format_json(rendered):
    """JSON text (sorted keys, 2-space indent, trailing newline) of a Rendered or argv list."""
    if isinstance(rendered, Rendered):
        data = rendered.to_dict()
    elif isinstance(rendered, dict):
        data = rendered
    else:
        data = list(rendered)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
