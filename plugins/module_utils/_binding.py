# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bind a NetVSC VMBus device to uio_hv_generic (DPDK netvsc PMD) or back to hv_netvsc.

Live binding follows DPDK's netvsc guide (``doc/guides/nics/netvsc.rst``)::

    modprobe uio_hv_generic
    echo f8615163-df3e-46c5-913f-f2d2f965ed0e > /sys/bus/vmbus/drivers/uio_hv_generic/new_id
    echo $DEV_UUID > /sys/bus/vmbus/drivers/hv_netvsc/unbind
    echo $DEV_UUID > /sys/bus/vmbus/drivers/uio_hv_generic/bind

Boot persistence: ``driverctl -b vmbus set-override <guid> uio_hv_generic`` when driverctl is
installed, else one udev rule per device (:func:`udev_rule`) that sets the device's
``driver_override`` (kernel >= 4.18), loads uio_hv_generic and re-probes the device when it
is added (cold-plug at boot included).

Nothing here runs processes itself: :class:`Binder` takes ``run(argv) -> (rc, out, err)``
(``AnsibleModule.run_command``), ``which(name) -> path | None`` and ``move`` (the one write
path of ``_plan``). :meth:`Binder.plan` only reads (sysfs, files, ``driverctl
list-overrides``) and returns a :class:`BindingPlan`; its ``apply()`` makes the changes, so
check mode is "plan, do not apply".

A sandbox stays a sandbox: with a sysfs root that is no mounted sysfs (``_sandbox``: a
simulated tree; a symlink to /sys or a bind mount of it is real), driverctl is never run (the
binding persists with the udev rule, below the given rules directory) and modprobe is only
reported, never run, since both act on the real system. Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import errno
import os

from ._plan import Plan, PlanError, read_text, text_diff
from ._sandbox import is_real_sysfs
from ._scan import NETVSC_CLASS_ID

UIO = "uio_hv_generic"
NETVSC = "hv_netvsc"
DRIVERS = (NETVSC, UIO)
NETVSC_CLASS_GUID = NETVSC_CLASS_ID.strip("{}")  # new_id takes the GUID without braces
DEFAULT_UDEV_RULES_DIR = "/etc/udev/rules.d"
UDEV_RULE_PREFIX = "70-hyperv-netvsc-"

# new_id of an id the driver already has: EEXIST; unbind of a device bound elsewhere: ENODEV.
_ALREADY = (errno.EEXIST,)
_NOT_BOUND = (errno.ENODEV,)


class BindingError(PlanError):
    """A binding step failed; the message says which and why."""


class BindingPlan(Plan):
    """A Plan of driver changes; persistence: how a uio_hv_generic binding persists
    ("driverctl" or the udev rule path), None for hv_netvsc."""

    def __init__(self, move=None, persistence=None):
        super().__init__(move)
        self.persistence = persistence


def udev_rule_path(rules_dir, guid):
    """The udev rule this collection writes for one VMBus device."""
    return os.path.join(rules_dir, "%s%s.rules" % (UDEV_RULE_PREFIX, guid))


def udev_rule(guid, pair_id=None):
    """Text of the boot-time rule binding VMBus device guid to uio_hv_generic.

    On ``add`` of that device (at boot through udev's cold-plug trigger, or when the host
    re-offers it): set ``driver_override`` so only uio_hv_generic may bind it, load
    uio_hv_generic (its registration binds the device if it is unbound), and if hv_netvsc
    got it first, unbind it and ask the bus to probe it again. ``$kernel`` is the device name
    (the GUID), substituted by udev.
    """
    label = " (pairing %s)" % pair_id if pair_id else ""
    return (
        "# Managed by hyperv.netvsc.netvsc_pair: NetVSC %s%s is bound to uio_hv_generic for\n"
        "# the DPDK netvsc PMD. Remove this file (or run netvsc_pair with state=absent) and\n"
        "# reboot, or rebind it by hand, to give it back to hv_netvsc.\n"
        'ACTION=="add", SUBSYSTEM=="vmbus", KERNEL=="%s", ATTR{driver_override}="%s", '
        'RUN{builtin}+="kmod load %s", '
        "RUN+=\"/bin/sh -c 'echo $kernel > /sys/bus/vmbus/drivers/%s/unbind; "
        "echo $kernel > /sys/bus/vmbus/drivers_probe'\"\n"
        % (guid, label, guid, UIO, UIO, NETVSC)
    )


class Binder:
    """Plans and applies driver changes for NetVSC VMBus devices under one sysfs root."""

    def __init__(self, sysfs_root="/sys", run=None, which=None,
                 udev_rules_dir=DEFAULT_UDEV_RULES_DIR, move=None, sandbox=None):
        """sandbox: None decides by sysfs_root; False lets tests drive run/which doubles."""
        self.sysfs_root = sysfs_root
        self.sandbox = not is_real_sysfs(sysfs_root) if sandbox is None else sandbox
        self.run = run
        self.which = which or (lambda name: None)
        self.udev_rules_dir = udev_rules_dir
        self.move = move
        self._driverctl = None
        self._driverctl_checked = False

    # ----------------------------------------------------------------- reading

    def _vmbus(self, *parts):
        return os.path.join(self.sysfs_root, "bus", "vmbus", *parts)

    def current_driver(self, guid):
        """Name of the driver bound to the VMBus device, or None."""
        try:
            return os.path.basename(os.readlink(self._vmbus("devices", guid, "driver")))
        except OSError:
            return None

    def driver_override(self, guid):
        """The device's driver_override, None when unset or not supported."""
        try:
            text = read_text(self._vmbus("devices", guid, "driver_override"))
        except PlanError:
            text = None
        if text is None:
            return None
        text = text.strip()
        return None if text in ("", "(null)") else text

    def driverctl(self):
        """Path of driverctl, or None (always in a sandbox: it acts on the real system)."""
        if not self._driverctl_checked:
            self._driverctl = None if self.sandbox else self.which("driverctl")
            self._driverctl_checked = True
        return self._driverctl

    def _run(self, argv, what):
        rc, out, err = self.run(argv)
        if rc != 0:
            raise BindingError("%s failed (%s, rc=%s): %s" % (
                what, " ".join(argv), rc, (err or out or "").strip() or "no output"))
        return out

    def driverctl_override(self, guid):
        """The driverctl override of guid (a driver name), None when none or no driverctl."""
        path = self.driverctl()
        if path is None:
            return None
        out = self._run([path, "-b", "vmbus", "list-overrides"], "listing driverctl overrides")
        for line in (out or "").splitlines():
            words = line.split()
            if len(words) >= 2 and words[0].lower() == guid:
                return words[1]
        return None

    # ----------------------------------------------------------------- writing

    def write_sysfs(self, path, value, ignore=()):
        """Write value + newline to a sysfs attribute in one write(); never creates files."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        except OSError as exc:
            raise BindingError("cannot open %s (%s)" % (path, exc.strerror))
        try:
            os.write(fd, (value + "\n").encode("ascii"))
        except OSError as exc:
            if exc.errno not in ignore:
                raise BindingError("writing %s to %s failed (%s)" % (value, path, exc.strerror))
        finally:
            os.close(fd)

    # ---------------------------------------------------------------- planning

    def plan(self, guid, driver, pair_id=None, persist=True):
        """Return the Plan that binds VMBus device guid to driver (and persists it).

        driver uio_hv_generic: bind now, persist with driverctl or the udev rule.
        driver hv_netvsc: remove our udev rule and a driverctl override to uio_hv_generic,
        clear a driver_override that names another driver, bind hv_netvsc back.
        persist=False (hv_netvsc only): leave driverctl alone unless the device is on uio
        (used when the NetVSC was never bound by us, to avoid running driverctl needlessly).
        """
        if driver not in DRIVERS:
            raise BindingError("driver must be one of %s, not %r" % (", ".join(DRIVERS), driver))
        current = self.current_driver(guid)
        if driver == UIO:
            return self._plan_uio(guid, current, pair_id)
        return self._plan_netvsc(guid, current, persist)

    def _plan_uio(self, guid, current, pair_id):
        rule_path = udev_rule_path(self.udev_rules_dir, guid)
        driverctl = self.driverctl()
        plan = BindingPlan(self.move, "driverctl" if driverctl else rule_path)
        if current != UIO:
            self._plan_bind_uio(plan, guid, current)
        if driverctl:
            if self.driverctl_override(guid) != UIO:
                argv = [driverctl, "-b", "vmbus", "set-override", guid, UIO]
                plan.add("driverctl -b vmbus set-override %s %s" % (guid, UIO),
                         lambda: self._run(argv, "persisting the binding"),
                         text_diff("driverctl override of %s" % guid, "", UIO + "\n"))
            plan.remove(rule_path)  # driverctl owns persistence now
        else:
            plan.write(rule_path, udev_rule(guid, pair_id))
        return plan

    def _plan_bind_uio(self, plan, guid, current):
        drivers = self._vmbus("drivers")
        plan.diffs.append(text_diff("driver of VMBus device %s" % guid,
                                    "%s\n" % (current or "(none)"), UIO + "\n"))
        if not os.path.isdir(os.path.join(self.sysfs_root, "module", UIO)):
            if self.sandbox:
                plan.add("modprobe %s (not run: sysfs_root %s is not /sys)" % (UIO, self.sysfs_root),
                         lambda: None)
            else:
                plan.add("modprobe %s" % UIO, self._modprobe)
        new_id = os.path.join(drivers, UIO, "new_id")
        plan.add("register the NetVSC class id with %s (%s)" % (UIO, new_id),
                 lambda: self.write_sysfs(new_id, NETVSC_CLASS_GUID, ignore=_ALREADY))
        self._plan_move(plan, guid, current, UIO, self.write_sysfs)

    def _modprobe(self):
        modprobe = self.which("modprobe")
        if modprobe is None:
            raise BindingError("modprobe is not installed (kmod); cannot load %s" % UIO)
        self._run([modprobe, UIO], "loading %s" % UIO)

    def _plan_clear_override(self, plan, guid, override):
        path = self._vmbus("devices", guid, "driver_override")
        plan.add("clear driver_override %s of %s" % (override, guid),
                 lambda: self.write_sysfs(path, ""))

    def plan_persistence_only(self, guid, pair_id=None):
        """Plan removing the boot-time binding of a device that is not present now."""
        return self._plan_netvsc(guid, None, True, live=False)

    def _plan_netvsc(self, guid, current, persist, live=True):
        rule_path = udev_rule_path(self.udev_rules_dir, guid)
        plan = BindingPlan(self.move)
        live = live and os.path.isdir(self._vmbus("devices", guid))
        plan.remove(rule_path)
        driverctl = self.driverctl() if (persist or current == UIO) else None
        if driverctl and self.driverctl_override(guid) is not None:
            argv = [driverctl, "-b", "vmbus", "unset-override", guid]
            plan.add("driverctl -b vmbus unset-override %s" % guid,
                     lambda: self._run(argv, "removing the driverctl override"),
                     text_diff("driverctl override of %s" % guid, UIO + "\n", ""))
        if live and current != NETVSC:
            plan.diffs.append(text_diff("driver of VMBus device %s" % guid,
                                        "%s\n" % (current or "(none)"), NETVSC + "\n"))
            self._plan_move(plan, guid, current, NETVSC, self._bind_netvsc)
        return plan

    def _plan_move(self, plan, guid, current, target, bind):
        """Clear a driver_override naming another driver, unbind guid from its current driver,
        and bind it to target with bind(bind file path, guid)."""
        override = self.driver_override(guid)
        if override is not None and override != target:
            self._plan_clear_override(plan, guid, override)
        drivers = self._vmbus("drivers")
        if current is not None:
            unbind = os.path.join(drivers, current, "unbind")
            plan.add("unbind %s from %s" % (guid, current),
                     lambda: self.write_sysfs(unbind, guid, ignore=_NOT_BOUND))
        path = os.path.join(drivers, target, "bind")
        plan.add("bind %s to %s" % (guid, target), lambda: bind(path, guid))

    def _bind_netvsc(self, bind, guid):
        # driverctl unset-override re-probes the device itself; hv_netvsc may have it already.
        if self.current_driver(guid) == NETVSC:
            return
        self.write_sysfs(bind, guid)
