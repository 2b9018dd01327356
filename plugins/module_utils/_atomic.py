# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Atomic file replacement for code that runs outside Ansible (the monitor).

Readers (fail-safe's exec(cat …), node_exporter) must never see a partial file: write a
temporary file in the same directory, fsync it, rename it over the target, fsync the
directory. A failure leaves the old file and no temporary file behind.
"""

from __future__ import annotations

import os
import stat
import tempfile


def _holds(path, data):
    """Whether path is a regular file holding exactly data.

    Opened like _trust reads (no symlink followed, a FIFO never blocks) and read no further
    than data's size: whatever else sits there is simply replaced.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        return (stat.S_ISREG(st.st_mode) and st.st_size == len(data)
                and os.read(fd, len(data) + 1) == data)
    except OSError:
        return False
    finally:
        os.close(fd)


def write_atomic(path, data, mode=0o644):
    """Replace path with data (bytes or str) atomically; return True if the content changed.

    A symlink, FIFO or other non-regular file at path is replaced, never followed.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if _holds(path, data):
        return False
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True
