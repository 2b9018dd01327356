# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one sysfs scanner: NetVSC devices, the VF rule and the pairing rule.

VF rule (docs/user-guide.md states it for users): on a Hyper-V guest (VMBus present) a PCI
Ethernet netdev is a VF candidate when
  (a) its PCI ids are a known Hyper-V VF family (mlx4, mlx5 VF ids, MANA), or
  (b) it carries the MAC of a NetVSC (hv_netvsc's own fallback when the slot serial does
      not match: ``get_netvsc_byslot`` in drivers/net/hyperv/netvsc_drv.c), or
  (c) the kernel linked it to a NetVSC (its ``master`` is a NetVSC).
Every other PCI netdev (an emulated NIC, another hypervisor's NIC, a passthrough NIC, the
primary of a virtio ``net_failover`` pair, InfiniBand) is an "other PCI NIC": reported with its
driver and ids, never as an unpaired VF. Without VMBus nothing is a VF candidate.

Pairing rule:
1. The kernel's own link wins: a VF whose ``master`` is a NetVSC is paired to it
   (``paired_by: kernel``).
2. Otherwise a masterless VF pairs by exactly one MAC match with a NetVSC that has no VF
   yet (``paired_by: mac``).
3. If two or more masterless VFs carry the same NetVSC MAC, none of them is paired; they are
   reported unpaired with a warning. The scanner never guesses.
Every unpaired VF says why (``unpaired_reason``). Only PCI netdevs are ever candidates, so
VLAN, bridge, macvlan, tap, veth and bond devices never pair, whatever their MAC.

The scan is linear in the number of interfaces: masterless VFs are indexed by MAC once.
A device that vanishes mid-scan is skipped; an unreadable or garbled attribute becomes None
plus a warning. Nothing here raises on sysfs content.
"""

from __future__ import annotations

import errno
import os
import re

from . import _rtnetlink, _simulated
from ._identity import InterfaceError, designated, normalize_guid, normalize_mac

NETVSC_CLASS_ID = "{f8615163-df3e-46c5-913f-f2d2f965ed0e}"
ARPHRD_ETHER = 1
# include/uapi/linux/if_arp.h: the link types an operator meets on PCI NICs.
LINK_TYPES = {ARPHRD_ETHER: "ether", 32: "infiniband"}

_MLX5_VF_IDS = ("0x1014", "0x1016", "0x1018", "0x101a", "0x101c", "0x101e")
VF_KINDS = {("0x15b3", "0x1004"): "mlx4", ("0x1414", "0x00ba"): "mana"}
VF_KINDS.update((("0x15b3", device), "mlx5") for device in _MLX5_VF_IDS)
KINDS = ("mlx4", "mlx5", "mana", "unknown")
# The PCI driver of each VF kind (VF_KINDS maps PCI ids, not drivers) and the RDMA verbs
# modules that kind's DPDK PMD needs, which the kernel does not load by itself (used by
# _vfpolicy's udev rule and _readiness's verdicts).
KIND_MODULES = {
    "mlx4": ("mlx4_core", ("mlx4_ib", "ib_uverbs")),
    "mlx5": ("mlx5_core", ("mlx5_ib", "ib_uverbs")),
    "mana": ("mana", ("mana_ib", "ib_uverbs")),
}

_HEX_ID_RE = re.compile(r"^0x[0-9a-f]{4}$")
_VANISHED = (errno.ENOENT, errno.ENODEV, errno.ENXIO)


class _Vanished(Exception):
    """The device went away while it was being read."""


def _int(text):
    return int(text, 0)


def _hex_id(text):
    if not _HEX_ID_RE.match(text):
        raise ValueError(text)
    return text


def _word(text):
    if not text or not text.isprintable() or " " in text:
        raise ValueError(text)
    return text


def _mac(text):
    mac = normalize_mac(text)
    if mac is None:
        raise ValueError(text)
    return mac


class _Reader:
    """Reads attributes under one sysfs root and collects warnings about junk."""

    def __init__(self, root):
        self.root = root
        self.warnings = []

    def path(self, *parts):
        return "/".join((self.root,) + parts)

    def attr(self, owner, directory, name, parse=_word):
        """Return parse(content) or None; raise _Vanished when the device is gone.

        directory is a path or an open directory fd (cheaper: no path walk per read).
        """
        dir_fd = directory if isinstance(directory, int) else None
        path = name if dir_fd is not None else directory + "/" + name
        try:
            fd = os.open(path, os.O_RDONLY, dir_fd=dir_fd)
            try:
                raw = os.read(fd, 4096)
            finally:
                os.close(fd)
        except OSError as exc:
            if exc.errno in _VANISHED:
                raise _Vanished(path)
            self.warnings.append("%s: cannot read %s (%s)" % (owner, name, exc.strerror))
            return None
        try:
            return parse(raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            self.warnings.append("%s: ignoring garbled %s %r" % (owner, name, raw[:40]))
            return None

    def optional(self, owner, directory, name, parse=_word):
        """Like attr() for attributes some kernels or devices do not have."""
        try:
            return self.attr(owner, directory, name, parse)
        except _Vanished:
            return None

    @staticmethod
    def link_name(path, dir_fd=None):
        """Basename of a symlink's target, or None when there is no such link."""
        try:
            return os.readlink(path, dir_fd=dir_fd).rpartition("/")[2]
        except OSError:
            return None


def _open_dir(path, dir_fd=None):
    """An O_DIRECTORY fd, or None when the directory is gone (or is a dangling link)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dir_fd)
    except OSError:
        return None


def _classify_netdev(reader, net, name):
    """Return ("netvsc" | "pci" | "other", record) for the entry name of class/net (whose fd
    is net), or None if gone.

    The device's subsystem link decides what to read, and reads go through directory fds,
    so each interface costs a handful of cheap syscalls (this runs for every netdev on
    every monitor rescan).
    """
    base = _open_dir(name, net)
    if base is None:
        return None  # dangling link: the device left between listdir() and now
    device = None
    try:
        subsystem = reader.link_name("device/subsystem", base)
        if subsystem in ("vmbus", "pci"):
            device = _open_dir("device", base)
        if device is None:
            return "other", {"name": name, "driver": reader.link_name("device/driver", base)}
        return _classify_device(reader, name, base, device, subsystem)
    finally:
        for fd in (base, device):
            if fd is not None:
                os.close(fd)


def _classify_device(reader, name, base, device, subsystem):
    """Classify a netdev whose device is on VMBus or PCI (base and device are dir fds)."""
    driver = reader.link_name("driver", device)
    if subsystem == "vmbus":
        class_id = reader.optional(name, device, "class_id")
        if class_id is None or class_id.lower() != NETVSC_CLASS_ID:
            return "other", {"name": name, "driver": driver}
        record = _ether_record(reader, name, base, driver)
        record["vmbus_id"] = normalize_guid(reader.link_name("device", base) or "")
        return "netvsc", record
    link_type = reader.attr(name, base, "type", _int)
    if link_type != ARPHRD_ETHER:
        # Not Ethernet (InfiniBand's IPoIB netdev on HPC sizes): its address is no MAC.
        record = {"name": name, "mac": None, "driver": driver}
    else:
        record = _ether_record(reader, name, base, driver)
    record["link_type"] = LINK_TYPES.get(link_type, "arphrd %s" % link_type)
    return "pci", _pci_record(reader, record, device, base)


def _ether_record(reader, name, base, driver):
    return {
        "name": name,
        "mac": reader.attr(name, base, "address", _mac),
        "ifindex": reader.attr(name, base, "ifindex", _int),
        "mtu": reader.optional(name, base, "mtu", _int),
        "operstate": reader.optional(name, base, "operstate"),
        "driver": driver,
    }


def _pci_record(reader, record, device, base):
    name = record["name"]
    vendor = reader.optional(name, device, "vendor", _hex_id)
    device_id = reader.optional(name, device, "device", _hex_id)
    record.update(
        pci_address=reader.link_name("device", base),
        vendor_id=vendor,
        device_id=device_id,
        kind=VF_KINDS.get((vendor, device_id), "unknown"),
        numa_node=reader.optional(name, device, "numa_node", _int),
        master=reader.link_name("master", base),
        paired_by=None,
    )
    return record


def is_vf_candidate(nic, vmbus, netvsc_macs, netvsc_names):
    """The VF rule (module docstring): may this PCI netdev record be a NetVSC's VF?

    vmbus: the host has a VMBus; netvsc_macs, netvsc_names: sets of the NetVSCs' MACs
    (recorded ones included) and netdev names.
    """
    if not vmbus or nic["link_type"] != "ether":
        return False
    return (nic["kind"] != "unknown" or nic["master"] in netvsc_names
            or (nic["mac"] is not None and nic["mac"] in netvsc_macs))


# What an "other PCI NIC" fact carries: enough to tell what it is, nothing to pair with.
OTHER_PCI_FIELDS = ("name", "mac", "link_type", "pci_address", "driver", "vendor_id",
                    "device_id", "master")


def _other_pci_nic(nic):
    return dict((field, nic.get(field)) for field in OTHER_PCI_FIELDS)


def _vf_functions_without_netdev(reader, seen):
    """PCI functions of a known VF family that have no netdev (no driver bound, a driver
    without its netdev yet, or a userspace driver), sorted by address."""
    found = []
    devices = reader.path("bus", "pci", "devices")
    for address in _listdir(devices):
        if address in seen:
            continue
        directory = devices + "/" + address
        try:
            ids = (reader.attr(address, directory, "vendor", _hex_id),
                   reader.attr(address, directory, "device", _hex_id))
        except _Vanished:
            continue
        kind = VF_KINDS.get(ids)
        if kind is not None:
            found.append({"pci_address": address, "kind": kind, "vendor_id": ids[0],
                          "device_id": ids[1], "driver": reader.link_name(directory + "/driver")})
    return found


def _netvsc_without_netdev(reader, guid, known_macs):
    """A NetVSC VMBus device with no netdev (bound to uio_hv_generic, or unbound)."""
    device = reader.path("bus", "vmbus", "devices", guid)
    return {
        "name": None,
        "mac": known_macs.get(guid),
        "vmbus_id": guid,
        "driver": reader.link_name(device + "/driver"),
        "ifindex": None,
        "mtu": None,
        "operstate": None,
    }


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _simulated_addresses(reader):
    """Routed addresses of a simulated tree (its _simulated.SIMULATED_NETWORK file stands in
    for rtnetlink, which belongs to the real kernel), or None when the tree is (or may be)
    real. Link-local IPv6 addresses are left out, as on the kernel path."""
    try:
        found = _simulated.load(reader.root)
        if found is None:
            return None
        addresses = _simulated.addresses(*found)
    except _simulated.Unreadable as exc:
        reader.warnings.append("%s; no addresses used" % exc)
        return {}
    return dict((name, [a for a in addrs if not _rtnetlink.is_link_local(a)])
                for name, addrs in addresses.items())


def _kernel_addresses(reader, netdevs):
    """Addresses from rtnetlink for the netdevs whose kernel name and ifindex match sysfs."""
    try:
        by_name = _rtnetlink.addresses_by_name()
    except OSError as exc:
        reader.warnings.append("cannot read interface addresses over rtnetlink (%s)" % exc)
        return {}
    found = {}
    for record in netdevs:
        index, addrs = by_name.get(record["name"], (None, []))
        if index is not None and index == record["ifindex"]:
            found[record["name"]] = addrs
    return found


def _is_hyperv(reader):
    if os.path.isdir(reader.path("bus", "vmbus")):
        return True
    dmi = reader.path("class", "dmi", "id")
    vendor = reader.optional("dmi", dmi, "sys_vendor", str)
    product = reader.optional("dmi", dmi, "product_name", str)
    return vendor == "Microsoft Corporation" and product == "Virtual Machine"


class Snapshot:
    """What one scan saw: NetVSC interfaces with their VFs, unpaired VFs, other PCI NICs,
    VF-family PCI functions without a netdev, warnings."""

    def __init__(self, hyperv, interfaces, unpaired_vfs, others, warnings,
                 other_pci_nics=(), vf_functions_without_netdev=()):
        self.hyperv = hyperv
        self.interfaces = interfaces
        self.unpaired_vfs = unpaired_vfs
        self.others = others
        self.warnings = warnings
        self.other_pci_nics = list(other_pci_nics)
        self.vf_functions_without_netdev = list(vf_functions_without_netdev)

    def facts(self):
        """The ansible_facts.netvsc dictionary."""
        return {
            "hyperv": self.hyperv,
            "interfaces": self.interfaces,
            "unpaired_vfs": self.unpaired_vfs,
            "other_pci_nics": self.other_pci_nics,
            "vf_functions_without_netdev": self.vf_functions_without_netdev,
        }

    def vf_owner(self, name):
        """Key of the NetVSC that a VF named name is paired with, or None."""
        for key, iface in self.interfaces.items():
            if iface["vf"] is not None and iface["vf"]["name"] == name:
                return key
        return None

    def lookup(self, token):
        """Return (key, interface) for a NetVSC name, MAC (any pasted form) or VMBus GUID.

        Raises InterfaceError whose message tells the user what to pass instead (its subclass
        _identity.Conflict when the token names several NetVSCs).
        """
        wanted = str(token).strip()
        key, iface = designated(wanted, self.interfaces)  # Conflict when it names several
        if key is None:
            raise InterfaceError(self._explain_miss(wanted))
        return key, iface

    def _explain_miss(self, wanted):
        owner = self.vf_owner(wanted)
        if owner is not None:
            return "%s is the VF of %s; pass %s" % (wanted, owner, owner)
        if any(vf["name"] == wanted for vf in self.unpaired_vfs):
            return "%s is a VF that is not paired with any NetVSC; pass a NetVSC interface" % wanted
        if wanted in self.others:
            return "%s is not a NetVSC interface (driver %s)" % (wanted, self.others[wanted] or "none")
        valid = ", ".join(sorted(self.interfaces)) or "none"
        return "unknown interface %s; NetVSC interfaces on this host: %s" % (wanted, valid)


def _pair(netvscs, vfs, warnings):
    """Apply the pairing rule; return the VFs left unpaired, each with its unpaired_reason.

    Linear in len(vfs).
    """
    by_name = dict((iface["name"], iface) for iface in netvscs if iface["name"])
    by_mac = {}
    for iface in netvscs:
        if iface["mac"]:
            by_mac.setdefault(iface["mac"], []).append(iface)
    unpaired, masterless = [], {}
    for vf in vfs:
        owner = by_name.get(vf["master"]) if vf["master"] else None
        if owner is not None and owner["vf"] is None:
            vf["paired_by"] = "kernel"
            owner["vf"] = vf
        elif vf["master"] is None and vf["mac"]:
            masterless.setdefault(vf["mac"], []).append(vf)
        else:
            vf["unpaired_reason"] = (
                "enslaved to %s, which is not a NetVSC" % vf["master"] if owner is None
                else "no readable MAC" if vf["master"] is None
                else "its master %s already has a VF" % vf["master"])
            unpaired.append(vf)
    for mac, candidates in masterless.items():
        owners = by_mac.get(mac, [])
        free = [iface for iface in owners if iface["vf"] is None]
        if len(owners) == 1 and len(candidates) == 1 and free:
            candidates[0]["paired_by"] = "mac"
            free[0]["vf"] = candidates[0]
            continue
        reason = _unpaired_reason(mac, candidates, owners, free)
        if owners and free:
            warnings.append("%s: %s; pairing none of them" % (_label(free[0]), reason))
        for vf in candidates:
            vf["unpaired_reason"] = reason
            unpaired.append(vf)
    return sorted(unpaired, key=lambda vf: vf["name"])


def _label(iface):
    return iface["name"] or iface["vmbus_id"]


def _unpaired_reason(mac, candidates, owners, free):
    """Why masterless VFs carrying mac stay unpaired, naming the devices involved."""
    if not owners:
        return "no NetVSC carries its MAC %s" % mac
    if not free:
        return "its NetVSC %s already has the VF %s" % (_label(owners[0]), owners[0]["vf"]["name"])
    return "%d VFs (%s) and %d NetVSC carry MAC %s" % (
        len(candidates), ", ".join(sorted(vf["name"] for vf in candidates)), len(owners), mac)


def _netdevs(reader):
    """(NetVSC records, PCI netdev records, {other netdev: driver}) of class/net, by name.

    Entries are opened relative to one fd of class/net: no walk from the root per netdev.
    """
    netvscs, pci, others = [], [], {}
    net = _open_dir(reader.path("class", "net"))
    if net is None:
        return netvscs, pci, others
    try:
        for name in _listdir(net):
            try:
                found = _classify_netdev(reader, net, name)
            except _Vanished:
                continue
            if found is None:
                continue
            kind, record = found
            if kind == "netvsc":
                netvscs.append(record)
            elif kind == "pci":
                pci.append(record)
            else:
                others[name] = record.get("driver")
    finally:
        os.close(net)
    return netvscs, pci, others


def scan(root="/sys", known_macs=None, with_addresses=True):
    """Scan the sysfs tree under root and return a Snapshot.

    known_macs maps VMBus GUIDs to MACs recorded earlier (by netvsc_pair) for NetVSC devices
    that no longer have a netdev, so their VF can still pair by MAC. with_addresses=False
    skips the address lookup (the monitor does not need it).
    """
    reader = _Reader(root)
    known_macs = dict((guid.lower(), mac) for guid, mac in (known_macs or {}).items())
    netvscs, pci, others = _netdevs(reader)
    seen = set(iface["vmbus_id"] for iface in netvscs)
    for entry in _listdir(reader.path("bus", "vmbus", "devices")):
        if entry in seen:  # found through class/net (sysfs writes GUIDs normalized)
            continue
        guid = normalize_guid(entry)
        if guid is None or guid in seen:
            continue
        try:
            class_id = reader.attr(entry, reader.path("bus", "vmbus", "devices", entry), "class_id")
        except _Vanished:
            continue
        if class_id is not None and class_id.lower() == NETVSC_CLASS_ID:
            netvscs.append(_netvsc_without_netdev(reader, guid, known_macs))

    vmbus = os.path.isdir(reader.path("bus", "vmbus"))
    netvsc_macs = set(iface["mac"] for iface in netvscs if iface["mac"])
    netvsc_names = set(iface["name"] for iface in netvscs if iface["name"])
    vfs, other_pci = [], []
    for nic in pci:
        if is_vf_candidate(nic, vmbus, netvsc_macs, netvsc_names):
            del nic["link_type"]
            vfs.append(nic)
        else:
            other_pci.append(_other_pci_nic(nic))
            others[nic["name"]] = nic["driver"]
    without_netdev = []
    if vmbus:
        without_netdev = _vf_functions_without_netdev(
            reader, set(nic["pci_address"] for nic in pci))

    addresses = {}
    if with_addresses and any(iface["name"] for iface in netvscs):
        addresses = _simulated_addresses(reader)
        if addresses is None:
            addresses = _kernel_addresses(reader, netvscs)
    for iface in netvscs:
        iface["addresses"] = addresses.get(iface["name"], []) if iface["name"] else []
        iface["vf"] = None
    unpaired = _pair(netvscs, vfs, reader.warnings)
    interfaces = dict((iface["name"] or iface["vmbus_id"], iface) for iface in netvscs)
    return Snapshot(_is_hyperv(reader), interfaces, unpaired, others, reader.warnings,
                    sorted(other_pci, key=lambda nic: nic["name"]), without_netdev)
