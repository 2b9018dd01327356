# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a sysfs root is the running kernel's sysfs or a simulated tree (a sandbox).

Nothing done with a sandbox may reach the running system (``_binding``: no driverctl, no
modprobe), and the guard (``_guard``) matches a sandbox's devices to the kernel's loosely.
So a real sysfs is recognised by the file system mounted there, not by its path: a symlink to
/sys, or the host's sysfs bind-mounted into a container as /host/sys, is as real as /sys.
When /proc/self/mountinfo cannot be read or parsed the root counts as real (the guard then
fails closed). Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import os
import re

MOUNTINFO = "/proc/self/mountinfo"
_ESCAPE = re.compile(r"\\([0-7]{3})")  # mountinfo writes space, tab, newline, \ as \ooo


def _mount_point(field):
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def is_real_sysfs(root, mountinfo=MOUNTINFO):
    """True when root (symlinks resolved) lies on a mounted sysfs, or when that cannot be told."""
    path = os.path.realpath(root)
    try:
        with open(mountinfo, encoding="utf-8", errors="surrogateescape") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return True
    best, fstype = None, None
    for line in lines:
        fields = line.split(" ")
        try:
            point, kind = _mount_point(fields[4]), fields[fields.index("-", 6) + 1]
        except (IndexError, ValueError):
            return True
        inside = point == "/" or path == point or path.startswith(point + "/")
        if inside and (best is None or len(point) >= len(best)):  # a later mount covers an earlier
            best, fstype = point, kind
    return best is None or fstype == "sysfs"
