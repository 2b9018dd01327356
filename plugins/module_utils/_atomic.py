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
import tempfile


def write_atomic(path, data, mode=0o644):
    """Replace path with data (bytes or str) atomically; return True if the content changed."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    except OSError:
        pass
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
