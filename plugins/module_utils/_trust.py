# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which directories and files we trust, and reading them safely (like sshd's StrictModes).

Trusted: owned by root or by the user reading it, and writable by neither its group nor
others. Files are opened with O_NOFOLLOW|O_NONBLOCK, so a symlink is refused and a FIFO
cannot block the reader; only regular files are read, and never more than a cap. Every
refusal is an UntrustedError whose message names the path and the reason.
"""

from __future__ import annotations

import errno
import os
import stat

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


class UntrustedError(Exception):
    """A path we refuse to use; the message says which and why."""


def _check_owner(path, st, uid):
    if st.st_uid not in (0, uid):
        raise UntrustedError("%s is owned by uid %d, not by root or uid %d (the user reading it)"
                             % (path, st.st_uid, uid))
    if st.st_mode & 0o022:
        raise UntrustedError("%s is writable by its group or by others (mode %04o)"
                             % (path, stat.S_IMODE(st.st_mode)))


def _kind(st):
    return next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")


def check_dir(path, uid=None):
    """Raise UntrustedError unless path is a trusted directory; FileNotFoundError if missing."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UntrustedError("%s is not a directory" % path)
    _check_owner(path, st, os.geteuid() if uid is None else uid)


def read(path, cap, uid=None):
    """The bytes of the trusted regular file path, at most cap of them.

    Raises UntrustedError (symlink, FIFO, device, foreign owner, writable by others, larger
    than cap) or OSError (FileNotFoundError when it is missing).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise UntrustedError("%s is a symbolic link; refusing to follow it" % path)
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UntrustedError("%s is %s, not a regular file" % (path, _kind(st)))
        _check_owner(path, st, os.geteuid() if uid is None else uid)
        if st.st_size > cap:
            raise UntrustedError("%s is %d bytes, more than the %d it may have"
                                 % (path, st.st_size, cap))
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, cap + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise UntrustedError("%s grew beyond %d bytes while it was read" % (path, cap))
        return b"".join(chunks)
    finally:
        os.close(fd)
