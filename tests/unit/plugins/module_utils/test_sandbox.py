# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_sandbox: a real sysfs is known by the file system mounted there, whatever the path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _sandbox
from ansible_collections.hyperv.netvsc.plugins.module_utils._sandbox import is_real_sysfs


def test_sys_and_a_symlink_to_it_are_real_a_tree_is_not(tmp_path):
    assert is_real_sysfs("/sys") and is_real_sysfs("/sys/") and is_real_sysfs("/sys/bus/vmbus")
    (tmp_path / "sys-link").symlink_to("/sys")
    assert is_real_sysfs(str(tmp_path / "sys-link"))
    (tmp_path / "tree/bus/vmbus").mkdir(parents=True)
    assert not is_real_sysfs(str(tmp_path / "tree"))
    assert not is_real_sysfs(str(tmp_path / "missing"))


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")
def test_the_hosts_sysfs_bind_mounted_elsewhere_is_real(tmp_path):
    """A container's /host/sys: the real sysfs under another path (a private mount namespace)."""
    target = tmp_path / "host-sys"
    target.mkdir()
    probe = ("import sys; sys.path.insert(0, %r); import _sandbox; "
             "print(_sandbox.is_real_sysfs(%r), _sandbox.is_real_sysfs(%r))"
             % (os.path.dirname(_sandbox.__file__), str(target), str(tmp_path)))
    out = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind /sys "$1" && exec "$2" -c "$3"', "sh", str(target), sys.executable, probe],
        check=True, capture_output=True, text=True).stdout
    assert out.split() == ["True", "False"]


def write_mountinfo(tmp_path, *lines):
    path = tmp_path / "mountinfo"
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_the_last_mount_on_a_mount_point_wins_and_escapes_are_read(tmp_path):
    tree = tmp_path / "a dir"
    tree.mkdir()
    escaped = str(tree).replace(" ", "\\040")
    info = write_mountinfo(
        tmp_path, "1 0 8:1 / / rw - ext4 /dev/sda1 rw",
        "2 1 0:5 / %s rw shared:1 - sysfs sysfs rw" % escaped)
    assert is_real_sysfs(str(tree), info)
    info = write_mountinfo(
        tmp_path, "1 0 8:1 / / rw - ext4 /dev/sda1 rw",
        "2 1 0:5 / %s rw - sysfs sysfs rw" % escaped,
        "3 2 0:6 / %s rw - tmpfs tmpfs rw" % escaped)
    assert not is_real_sysfs(str(tree), info)


@pytest.mark.parametrize("lines", [None, ["garbage"], ["1 0 8:1 / / rw ext4 /dev/sda1 rw"]])
def test_unreadable_or_garbled_mountinfo_counts_as_real(tmp_path, lines):
    info = str(tmp_path / "none") if lines is None else write_mountinfo(tmp_path, *lines)
    assert is_real_sysfs(str(tmp_path), info)
