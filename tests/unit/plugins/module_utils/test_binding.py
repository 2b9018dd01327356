# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_binding: plans (check mode) and their effects on a fixture tree's driver files."""

from __future__ import annotations

import errno
import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _binding
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import CASES, build

ETH1_GUID = "000d3a03-1eb1-000d-3a03-1eb1000d3a03"
FILES = ("bind", "unbind", "new_id")


class Runner:
    def __init__(self, binaries=("modprobe",), overrides="", fail=None):
        self.calls = []
        self.binaries = set(binaries)
        self.overrides = overrides
        self.fail = fail

    def run(self, argv):
        self.calls.append(list(argv))
        if self.fail and self.fail in argv:
            return 1, "", "FATAL: Module %s not found." % self.fail
        if argv[-1] == "list-overrides":
            return 0, self.overrides, ""
        return 0, "", ""

    def which(self, name):
        return "/sbin/%s" % name if name in self.binaries else None


def tree(tmp_path, case):
    root = tmp_path / "sys"
    build(CASES[case], str(root))
    for driver in ("hv_netvsc", "uio_hv_generic"):
        directory = root / "bus/vmbus/drivers" / driver
        directory.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            (directory / name).write_text("")
    return root


def written(root):
    found = {}
    for driver in ("hv_netvsc", "uio_hv_generic"):
        for name in FILES:
            text = (root / "bus/vmbus/drivers" / driver / name).read_text()
            if text:
                found["%s/%s" % (driver, name)] = text
    return found


def binder(root, tmp_path, runner, sandbox=False):
    """A Binder on a fixture tree; sandbox=False: as on the real /sys, with runner's doubles."""
    return _binding.Binder(str(root), run=runner.run, which=runner.which,
                           udev_rules_dir=str(tmp_path / "rules.d"), sandbox=sandbox)


def test_udev_rule_text():
    text = _binding.udev_rule(ETH1_GUID, "dpdk0")
    assert text.startswith("# Managed by hyperv.netvsc.netvsc_pair: NetVSC %s (pairing dpdk0)" % ETH1_GUID)
    rule = [line for line in text.splitlines() if not line.startswith("#")]
    assert rule == [
        'ACTION=="add", SUBSYSTEM=="vmbus", KERNEL=="%s", ATTR{driver_override}="uio_hv_generic", '
        'RUN{builtin}+="kmod load uio_hv_generic", '
        'RUN+="/bin/sh -c \'echo $kernel > /sys/bus/vmbus/drivers/hv_netvsc/unbind; '
        'echo $kernel > /sys/bus/vmbus/drivers_probe\'"' % ETH1_GUID]
    assert _binding.udev_rule_path("/etc/udev/rules.d", ETH1_GUID) == \
        "/etc/udev/rules.d/70-hyperv-netvsc-%s.rules" % ETH1_GUID


def test_plan_is_read_only_then_apply_binds(tmp_path):
    root = tree(tmp_path, "cx5_4nic")
    runner = Runner()
    b = binder(root, tmp_path, runner)
    assert b.current_driver(ETH1_GUID) == "hv_netvsc"
    plan = b.plan(ETH1_GUID, _binding.UIO, "dpdk0")
    assert plan.changed and runner.calls == [] and written(root) == {}
    assert not (tmp_path / "rules.d").exists()
    assert plan.descriptions == [
        "modprobe uio_hv_generic",
        "register the NetVSC class id with uio_hv_generic (%s)"
        % (root / "bus/vmbus/drivers/uio_hv_generic/new_id"),
        "unbind %s from hv_netvsc" % ETH1_GUID,
        "bind %s to uio_hv_generic" % ETH1_GUID,
        "create directory %s" % (tmp_path / "rules.d"),
        "write %s" % _binding.udev_rule_path(str(tmp_path / "rules.d"), ETH1_GUID),
    ]
    plan.apply()
    assert runner.calls == [["/sbin/modprobe", "uio_hv_generic"]]
    assert written(root) == {"uio_hv_generic/new_id": _binding.NETVSC_CLASS_GUID + "\n",
                             "hv_netvsc/unbind": ETH1_GUID + "\n",
                             "uio_hv_generic/bind": ETH1_GUID + "\n"}
    rule = tmp_path / "rules.d" / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID)
    assert rule.read_text() == _binding.udev_rule(ETH1_GUID, "dpdk0")


def test_modprobe_skipped_when_loaded(tmp_path):
    root = tree(tmp_path, "cx5_4nic")
    (root / "module" / "uio_hv_generic").mkdir(parents=True)
    plan = binder(root, tmp_path, Runner()).plan(ETH1_GUID, _binding.UIO)
    assert "modprobe uio_hv_generic" not in plan.descriptions


def test_modprobe_missing_or_failing(tmp_path):
    root = tree(tmp_path, "cx5_4nic")
    plan = binder(root, tmp_path, Runner(binaries=())).plan(ETH1_GUID, _binding.UIO)
    with pytest.raises(_binding.BindingError, match="modprobe is not installed"):
        plan.apply()
    plan = binder(root, tmp_path, Runner(fail="uio_hv_generic")).plan(ETH1_GUID, _binding.UIO)
    with pytest.raises(_binding.BindingError) as exc:
        plan.apply()
    assert str(exc.value) == ("loading uio_hv_generic failed (/sbin/modprobe uio_hv_generic, rc=1): "
                              "FATAL: Module uio_hv_generic not found.")
    assert written(root) == {}


def test_new_id_eexist_ignored_other_errors_reported(tmp_path, monkeypatch):
    root = tree(tmp_path, "cx5_4nic")
    real_write = os.write
    fail = {"errno": errno.EEXIST}

    def write(fd, data):
        if os.readlink("/proc/self/fd/%d" % fd).endswith("new_id"):
            raise OSError(fail["errno"], os.strerror(fail["errno"]))
        return real_write(fd, data)

    monkeypatch.setattr(_binding.os, "write", write)
    binder(root, tmp_path, Runner()).plan(ETH1_GUID, _binding.UIO).apply()
    assert written(root)["uio_hv_generic/bind"] == ETH1_GUID + "\n"
    fail["errno"] = errno.EINVAL
    with pytest.raises(_binding.BindingError, match="writing f8615163-.*/new_id failed .Invalid argument."):
        binder(root, tmp_path, Runner()).plan(ETH1_GUID, _binding.UIO).apply()


def test_missing_driver_file_is_an_error_not_created(tmp_path):
    root = tree(tmp_path, "cx5_4nic")
    (root / "bus/vmbus/drivers/uio_hv_generic/bind").unlink()
    plan = binder(root, tmp_path, Runner()).plan(ETH1_GUID, _binding.UIO)
    with pytest.raises(_binding.BindingError, match="cannot open .*uio_hv_generic/bind"):
        plan.apply()
    assert not (root / "bus/vmbus/drivers/uio_hv_generic/bind").exists()


def test_driverctl_persistence_replaces_udev_rule(tmp_path):
    root = tree(tmp_path, "uio_bound")
    rules = tmp_path / "rules.d"
    rules.mkdir()
    rule = rules / ("70-hyperv-netvsc-%s.rules" % ETH1_GUID)
    rule.write_text(_binding.udev_rule(ETH1_GUID))
    runner = Runner(binaries=("modprobe", "driverctl"))
    plan = binder(root, tmp_path, runner).plan(ETH1_GUID, _binding.UIO)
    assert plan.persistence == "driverctl"
    assert plan.descriptions == ["driverctl -b vmbus set-override %s uio_hv_generic" % ETH1_GUID,
                                 "remove %s" % rule]
    assert runner.calls == [["/sbin/driverctl", "-b", "vmbus", "list-overrides"]]
    plan.apply()
    assert not rule.exists() and written(root) == {}
    runner.overrides = "%s uio_hv_generic\n" % ETH1_GUID
    assert not binder(root, tmp_path, runner).plan(ETH1_GUID, _binding.UIO).changed


def test_already_bound_with_rule_is_unchanged(tmp_path):
    root = tree(tmp_path, "uio_bound")
    runner = Runner()
    b = binder(root, tmp_path, runner)
    b.plan(ETH1_GUID, _binding.UIO, "x").apply()  # writes the rule only
    assert written(root) == {}
    plan = b.plan(ETH1_GUID, _binding.UIO, "x")
    assert not plan.changed and plan.diffs == [] and runner.calls == []


def test_restore_hv_netvsc_clears_override(tmp_path):
    root = tree(tmp_path, "uio_bound")
    override = root / "bus/vmbus/devices" / ETH1_GUID / "driver_override"
    override.write_text("uio_hv_generic\n")
    b = binder(root, tmp_path, Runner())
    assert b.driver_override(ETH1_GUID) == "uio_hv_generic"
    plan = b.plan(ETH1_GUID, _binding.NETVSC)
    assert plan.descriptions == [
        "clear driver_override uio_hv_generic of %s" % ETH1_GUID,
        "unbind %s from uio_hv_generic" % ETH1_GUID,
        "bind %s to hv_netvsc" % ETH1_GUID]
    plan.apply()
    assert override.read_text() == "\n"
    assert written(root) == {"uio_hv_generic/unbind": ETH1_GUID + "\n",
                             "hv_netvsc/bind": ETH1_GUID + "\n"}
    override.write_text("(null)\n")
    assert b.driver_override(ETH1_GUID) is None


def test_hv_netvsc_already_is_a_no_op(tmp_path):
    root = tree(tmp_path, "cx5_4nic")
    runner = Runner(binaries=("driverctl",))
    plan = binder(root, tmp_path, runner).plan(ETH1_GUID, _binding.NETVSC, persist=False)
    assert not plan.changed and runner.calls == []


def test_persistence_only_for_a_missing_device(tmp_path):
    root = tree(tmp_path, "cx5_4nic")
    guid = "00000000-dead-beef-0000-000000000000"
    rules = tmp_path / "rules.d"
    rules.mkdir()
    (rules / ("70-hyperv-netvsc-%s.rules" % guid)).write_text("x\n")
    runner = Runner(binaries=("driverctl",), overrides="%s uio_hv_generic\n" % guid)
    plan = binder(root, tmp_path, runner).plan_persistence_only(guid)
    assert plan.descriptions == ["remove %s" % (rules / ("70-hyperv-netvsc-%s.rules" % guid)),
                                 "driverctl -b vmbus unset-override %s" % guid]
    plan.apply()
    assert list(rules.iterdir()) == [] and written(root) == {}


def test_bad_driver():
    with pytest.raises(_binding.BindingError, match="driver must be one of"):
        _binding.Binder("/nonexistent").plan(ETH1_GUID, "vfio")


def test_a_sandbox_runs_neither_modprobe_nor_driverctl(tmp_path):
    """With a sysfs root other than /sys, the binding happens in the tree only: modprobe is
    reported, never run, and driverctl (installed) is not asked: the udev rule persists it."""
    root = tree(tmp_path, "cx5_4nic")
    runner = Runner(binaries=("modprobe", "driverctl"))
    b = _binding.Binder(str(root), run=runner.run, which=runner.which,
                        udev_rules_dir=str(tmp_path / "rules.d"))
    assert b.sandbox
    plan = b.plan(ETH1_GUID, _binding.UIO, "dpdk0")
    assert plan.descriptions[0] == "modprobe uio_hv_generic (not run: sysfs_root %s is not /sys)" % root
    assert plan.persistence == _binding.udev_rule_path(str(tmp_path / "rules.d"), ETH1_GUID)
    plan.apply()
    assert written(root)["uio_hv_generic/bind"] == ETH1_GUID + "\n"
    assert (tmp_path / "rules.d").is_dir()
    back = b.plan(ETH1_GUID, _binding.NETVSC, "dpdk0", persist=True)
    back.apply()
    assert runner.calls == []
    assert not _binding.Binder("/sys/", run=runner.run).sandbox


def test_a_real_sysfs_reached_by_another_path_is_no_sandbox(tmp_path):
    """A symlink to /sys writes the running kernel's driver files: driverctl must persist
    what it does, and the guard judges it as the real sysfs."""
    link = tmp_path / "sys-link"
    link.symlink_to("/sys")
    assert not _binding.Binder(str(link)).sandbox
