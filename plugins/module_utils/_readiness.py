# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Is this host ready to run DPDK on its NetVSC pairings? Probes, then one verdict per pairing.

Everything is read from files, never by running a program (no subprocess per NIC, none at
all), under two roots so that tests and containers can point them elsewhere:

* ``root`` (default ``/``): ``proc/sys/kernel/osrelease``; ``lib/modules/<release>/``
  ``modules.dep`` and ``modules.builtin`` (or ``usr/lib/modules``); DPDK's ``libdpdk.pc`` and
  its PMD libraries; rdma-core's ``libibverbs`` and verbs providers. DPDK is looked for where
  pkg-config looks, ``/usr/local`` first: ``<prefix>/lib/<multiarch>``, ``lib64``, ``lib``.
  Debian 12 (DPDK 22.11) and Debian 13 (24.11) both install the PMDs as
  ``/usr/lib/x86_64-linux-gnu/dpdk/pmds-<ABI>/librte_net_<pmd>.so.<ABI>`` (pmds-23.0 and
  pmds-25.0), with links in the lib directory; source builds use ``/usr/local/lib/...``.
* ``sysfs_root`` (default ``/sys``): loaded modules (``module/<name>``) and hugepages
  (``kernel/mm/hugepages/hugepages-<size>/``, ``devices/system/node/node<N>/hugepages/``).

What a pairing needs (DPDK's doc/guides/nics and Microsoft's DPDK setup pages): a DPDK
master PMD for the NetVSC (netvsc PMD with the ``uio_hv_generic`` module, or fail-safe with
TAP, optionally driven by vdev_netvsc; fail-safe over MANA is refused), the PMD of its VF's
family with that family's RDMA modules (``_scan.KIND_MODULES``) and rdma-core verbs
provider (MANA: kernel >= 6.2, rdma-core >= 44), and hugepages. Plain Python >= 3.8, stdlib.
It imports only _scan: netvsc_facts compiles every module_utils file it pulls in on each run
(AnsiballZ ships sources), which its benchmark against ping measures.
"""

from __future__ import annotations

import os
import re

from ._scan import KIND_MODULES

# The PMDs (and the VMBus bus driver) a NetVSC pairing can need, by DPDK library name.
PMDS = ("failsafe", "vdev_netvsc", "netvsc", "tap", "mlx4", "mlx5", "mana", "bus_vmbus")
# Kernel modules: the netvsc PMD's UIO driver, then each VF family's driver and RDMA modules.
MODULES = ("uio_hv_generic",) + tuple(sorted(set(
    name for driver, rdma in KIND_MODULES.values() for name in (driver,) + rdma)))
# What each DPDK mode needs besides the VF's PMD.
MODE_PMDS = {
    "netvsc_pmd": ("netvsc", "bus_vmbus"),
    "failsafe": ("failsafe", "tap"),
    "vdev_netvsc": ("vdev_netvsc", "failsafe", "tap"),
}
MODE_MODULES = {"netvsc_pmd": ("uio_hv_generic",)}
# Minimum versions of the MANA stack (DPDK doc/guides/nics/mana.rst).
MANA_KERNEL = (6, 2)
MANA_RDMA_CORE = 44
KIND_LABELS = {"mana": "MANA"}

_PC_VERSION_RE = re.compile(r"^Version:\s*(\S+)", re.M)
_PC_STATIC_RE = re.compile(r"-l:librte_(net|bus)_(\w+)\.a")
_SHARED_RE = re.compile(r"^librte_(net|bus)_(\w+?)\.so")
_PMD_DIR_RE = re.compile(r"^pmds-(\d+)\.(\d+)$")
_VERBS_RE = re.compile(r"^libibverbs\.so\.1\.\d+\.(\d+)\.(\d+)$")
_PROVIDER_RE = re.compile(r"^lib(\w+?)-rdmav\d+\.so$")
_MODULE_RE = re.compile(r"(?:^|/)([^/:\s]+?)\.ko(?:\.[a-z]+)?(?=:|\s|$)", re.M)
_RELEASE_RE = re.compile(r"^(\d+)\.(\d+)")


def _read(path, limit=1 << 22):
    """(text, None) or (None, "strerror"); text is decoded leniently (files we do not own)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace"), None
    except OSError as exc:
        return None, exc.strerror or str(exc)


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _int_file(path):
    text, _error = _read(path, 64)
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _libdirs(root, machine):
    """{library directory: its entries}, in pkg-config's default search order; each existing
    directory is listed once (a lib directory holds thousands of files)."""
    multiarch = "%s-linux-gnu" % machine
    found, real = {}, set()
    for prefix in ("usr/local", "usr"):
        for sub in ("lib/" + multiarch, "lib64", "lib"):
            path = os.path.join(root, prefix, sub)
            if os.path.realpath(path) in real:
                continue
            try:
                found[path] = os.listdir(path)
            except OSError:
                continue
            real.add(os.path.realpath(path))
    return found


def _shown(root, path):
    """path as the host sees it (without the probe root)."""
    rel = os.path.relpath(path, root)
    return "/" + rel if rel != "." else "/"


# ------------------------------------------------------------------------------- probes


def probe_kernel(root, sysfs_root):
    """{"release", "modules_dep": path or None, "error", "modules": {name: state}}.

    A module's state: "builtin", "loaded", "available" (in modules.dep), "missing" (not in a
    readable modules.dep) or "unknown" (no readable modules.dep, not loaded).
    """
    release, error = _read(os.path.join(root, "proc/sys/kernel/osrelease"), 256)
    release = release.strip() if release else None
    deps = builtin = None
    dep_path = None
    if release:
        for base in ("lib/modules", "usr/lib/modules"):
            candidate = os.path.join(root, base, release)
            deps, dep_error = _read(os.path.join(candidate, "modules.dep"))
            if deps is not None:
                dep_path = _shown(root, os.path.join(candidate, "modules.dep"))
                builtin = _read(os.path.join(candidate, "modules.builtin"))[0] or ""
                break
        if deps is None:
            error = "no readable modules.dep under /lib/modules/%s (%s)" % (release, dep_error)
    available = _module_names(deps) if deps is not None else None
    builtins = _module_names(builtin) if builtin else set()
    modules = {}
    for name in MODULES:
        if name in builtins:
            modules[name] = "builtin"
        elif os.path.isdir(os.path.join(sysfs_root, "module", name)):
            modules[name] = "loaded"
        elif available is None:
            modules[name] = "unknown"
        else:
            modules[name] = "available" if name in available else "missing"
    return {"release": release, "modules_dep": dep_path, "error": error, "modules": modules}


def _module_names(text):
    """Module names in a modules.dep/modules.builtin text ("-" and "_" are the same)."""
    return set(match.replace("-", "_") for match in _MODULE_RE.findall(text))


def probe_dpdk(root, libdirs):
    """The DPDK installation pkg-config would find first, and where else one is.

    {"version", "abi", "libdir", "pc", "pmds": {name: "shared" | "static" | None}, "others"}.
    libdirs: _libdirs(root, machine).
    """
    found = []
    for libdir, entries in libdirs.items():
        install = _dpdk_in(root, libdir, entries)
        if install is not None:
            found.append(install)
    if not found:
        return {"version": None, "abi": None, "libdir": None, "pc": None,
                "pmds": dict((name, None) for name in PMDS), "others": []}
    first = found[0]
    first["others"] = [other["libdir"] for other in found[1:]]
    return first


def _dpdk_in(root, libdir, entries):
    pc_path = os.path.join(libdir, "pkgconfig", "libdpdk.pc")
    pc, _error = _read(pc_path, 1 << 16)
    shared, abi = set(), None
    pmd_dirs = sorted((tuple(int(n) for n in m.groups()), entry) for entry in
                      _listdir(os.path.join(libdir, "dpdk")) for m in [_PMD_DIR_RE.match(entry)] if m)
    if pmd_dirs:
        abi_numbers, newest = pmd_dirs[-1]
        abi = "%d.%d" % abi_numbers
        shared.update(_shared_pmds(_listdir(os.path.join(libdir, "dpdk", newest))))
    eal = [e for e in entries if e.startswith("librte_eal.so")]
    if pc is None and not pmd_dirs and not eal:
        return None
    shared.update(_shared_pmds(entries))
    static = set("%s_%s" % m if m[0] == "bus" else m[1] for m in _PC_STATIC_RE.findall(pc or ""))
    version = _PC_VERSION_RE.search(pc or "")
    version = version.group(1) if version else _series(abi)
    pmds = dict((name, "shared" if name in shared else "static" if name in static else None)
                for name in PMDS)
    return {"version": version, "abi": abi, "libdir": _shown(root, libdir),
            "pc": _shown(root, pc_path) if pc is not None else None, "pmds": pmds}


def _shared_pmds(entries):
    names = set()
    for entry in entries:
        match = _SHARED_RE.match(entry)
        if match:
            names.add(match.group(2) if match.group(1) == "net" else "bus_" + match.group(2))
    return names


def _series(abi):
    """DPDK release of an LTS ABI: since 20.11 ABI N.0 belongs to release (N-1).11."""
    if not abi or not abi.endswith(".0") or int(abi.split(".")[0]) < 21:
        return None
    return "%d.11" % (int(abi.split(".")[0]) - 1)


def probe_rdma_core(libdirs):
    """{"version": "44.0" or None, "providers": {"mlx4": bool, "mlx5": bool, "mana": bool}}."""
    version, providers = None, set()
    for libdir, entries in libdirs.items():
        for entry in entries:
            match = _VERBS_RE.match(entry)
            if match and version is None:
                version = "%s.%s" % match.groups()
        for entry in _listdir(os.path.join(libdir, "libibverbs")):
            match = _PROVIDER_RE.match(entry)
            if match:
                providers.add(match.group(1))
    return {"version": version, "providers": dict((kind, kind in providers) for kind in KIND_MODULES)}


def probe_hugepages(sysfs_root):
    """{"sizes": {"2048kB": {"total", "free"}}, "nodes": {"0": {"2048kB": {...}}}}."""
    def pages(directory):
        found = {}
        for entry in sorted(_listdir(directory)):
            if entry.startswith("hugepages-"):
                path = os.path.join(directory, entry)
                found[entry[len("hugepages-"):]] = {
                    "total": _int_file(os.path.join(path, "nr_hugepages")),
                    "free": _int_file(os.path.join(path, "free_hugepages"))}
        return found

    nodes = {}
    node_dir = os.path.join(sysfs_root, "devices/system/node")
    for entry in sorted(_listdir(node_dir)):
        if entry.startswith("node") and entry[4:].isdigit():
            nodes[entry[4:]] = pages(os.path.join(node_dir, entry, "hugepages"))
    return {"sizes": pages(os.path.join(sysfs_root, "kernel/mm/hugepages")), "nodes": nodes}


def probe(root="/", sysfs_root="/sys", machine=None):
    """The host-level readiness facts (no verdicts)."""
    libdirs = _libdirs(root, machine or os.uname()[4])
    return {
        "kernel": probe_kernel(root, sysfs_root),
        "dpdk": probe_dpdk(root, libdirs),
        "rdma_core": probe_rdma_core(libdirs),
        "hugepages": probe_hugepages(sysfs_root),
    }


# ------------------------------------------------------------------------------- verdicts


def _release_tuple(release):
    match = _RELEASE_RE.match(release or "")
    return tuple(int(n) for n in match.groups()) if match else None


def dpdk_label(dpdk):
    return "DPDK %s" % (dpdk["version"] or "(ABI %s)" % dpdk["abi"])


def _general(host):
    """Reasons no pairing of this host can run DPDK, and warnings for all of them."""
    reasons, warnings = [], []
    if host["dpdk"]["libdir"] is None:
        reasons.append("DPDK is not installed (no libdpdk.pc, PMD directory or librte_eal "
                       "in /usr/local/lib or /usr/lib)")
    sizes = host["hugepages"]["sizes"]
    if not any((size["total"] or 0) > 0 for size in sizes.values()):
        reasons.append("no hugepages are reserved (nr_hugepages is 0 for %s)" % (
            ", ".join(sorted(sizes)) or "every size: none is offered by this kernel"))
    elif not any((size["free"] or 0) > 0 for size in sizes.values()):
        warnings.append("every reserved hugepage is in use (%s)" % ", ".join(
            "%s: %d" % (name, size["total"]) for name, size in sorted(sizes.items())
            if size["total"]))
    if host["dpdk"].get("others"):
        warnings.append("another DPDK is installed in %s; the verdict is for %s (pkg-config's "
                        "first)" % (", ".join(host["dpdk"]["others"]), host["dpdk"]["libdir"]))
    return reasons, warnings


def _module_gap(host, name, why):
    """(reason, warning) about one kernel module; both None when it is there."""
    kernel = host["kernel"]
    state = kernel["modules"].get(name, "unknown")
    if state == "missing":
        return "%s, but kernel %s has no %s module" % (why, kernel["release"], name), None
    if state == "unknown":
        return None, "cannot tell whether kernel %s has %s: %s" % (
            kernel["release"] or "(unknown release)", name, kernel["error"])
    return None, None


def _vf_gaps(vf, host):
    """Reasons and warnings about what the VF's family needs."""
    kind = vf["kind"]
    if kind not in KIND_MODULES:
        return [], ["VF %s (%s:%s) is of no known family: no DPDK PMD is checked for it" % (
            vf["name"], vf["vendor_id"], vf["device_id"])]
    label = "%s VF" % KIND_LABELS.get(kind, kind)
    dpdk, rdma = host["dpdk"], host["rdma_core"]
    reasons, warnings = [], []
    if dpdk["libdir"] is not None and not dpdk["pmds"][kind]:
        reasons.append("%s, but the installed %s has no %s PMD" % (
            label, dpdk_label(dpdk), KIND_LABELS.get(kind, kind)))
    for module in KIND_MODULES[kind][1]:
        reason, warning = _module_gap(host, module, label)
        if reason and kind == "mana" and module == "mana_ib":
            release = _release_tuple(host["kernel"]["release"])
            if release and release < MANA_KERNEL:
                reason += " (MANA RDMA needs kernel >= %d.%d)" % MANA_KERNEL
        reasons.extend([reason] if reason else [])
        warnings.extend([warning] if warning else [])
    if not rdma["providers"][kind]:
        reasons.append("%s, but no %s verbs provider of rdma-core is installed "
                       "(ibverbs-providers)" % (label, kind))
    if kind == "mana" and rdma["version"] and int(rdma["version"].split(".")[0]) < MANA_RDMA_CORE:
        reasons.append("%s, but rdma-core %s is older than %d" % (label, rdma["version"], MANA_RDMA_CORE))
    return reasons, warnings


def _numa_warning(vf, host):
    node = vf.get("numa_node")
    nodes = host["hugepages"]["nodes"]
    if node is None or node < 0 or str(node) not in nodes or len(nodes) < 2:
        return None
    if not any((size["total"] or 0) > 0 for size in nodes[str(node)].values()):
        return "the VF %s is on NUMA node %d, which has no hugepages" % (vf["name"], node)
    return None


def _modes(iface, host):
    """(usable modes, {mode: [what it lacks]}) for this NetVSC and its VF."""
    modes = ["netvsc_pmd"]
    vf = iface.get("vf")
    if iface.get("driver") != "uio_hv_generic" and not (vf and vf["kind"] == "mana"):
        modes += ["failsafe", "vdev_netvsc"]
    lacking = {}
    for mode in modes:
        missing = ["the %s PMD" % name for name in MODE_PMDS[mode] if not host["dpdk"]["pmds"][name]]
        missing += ["the %s module" % name for name in MODE_MODULES.get(mode, ())
                    if host["kernel"]["modules"].get(name) == "missing"]
        if missing:
            lacking[mode] = missing
    return [mode for mode in modes if mode not in lacking], lacking


def verdict(iface, host, general=None):
    """{"ready", "modes", "reasons", "warnings"} for one NetVSC fact dict (with its "vf")."""
    reasons, warnings = general if general is not None else _general(host)
    reasons, warnings = list(reasons), list(warnings)
    usable, lacking = [], {}
    if host["dpdk"]["libdir"] is not None:
        usable, lacking = _modes(iface, host)
        if not usable:
            reasons.append("no DPDK mode is usable: " + "; ".join(
                "%s needs %s" % (mode, " and ".join(missing)) for mode, missing in lacking.items()))
        elif "netvsc_pmd" in lacking:
            warnings.append("the netvsc PMD mode, which Microsoft recommends, needs %s" % (
                " and ".join(lacking["netvsc_pmd"])))
    vf = iface.get("vf")
    if vf is None:
        warnings.append("no VF now: DPDK uses the synthetic path until the host offers one")
    else:
        vf_reasons, vf_warnings = _vf_gaps(vf, host)
        reasons += vf_reasons
        warnings += vf_warnings
        numa = _numa_warning(vf, host)
        warnings.extend([numa] if numa else [])
        if vf["kind"] == "mana" and iface.get("driver") != "uio_hv_generic":
            warnings.append("fail-safe over MANA is not supported: use the netvsc PMD")
    return {"ready": not reasons and bool(usable), "modes": usable, "reasons": reasons,
            "warnings": warnings}


def readiness(interfaces, root="/", sysfs_root="/sys", machine=None):
    """The ansible_facts.netvsc.readiness dictionary: host probes and one verdict per NetVSC."""
    host = probe(root, sysfs_root, machine)
    general = _general(host)
    host["pairings"] = dict((key, verdict(iface, host, general))
                            for key, iface in interfaces.items())
    return host
