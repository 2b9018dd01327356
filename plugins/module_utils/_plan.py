# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Planned changes to a host, and the one path by which the collection writes files.

A :class:`Plan` is built by reading only (files, sysfs); :meth:`Plan.apply` makes the
changes, so check mode is "plan, do not apply", and ``--diff`` shows :attr:`Plan.diffs`.
Before anything is applied, :attr:`Plan.creates` names every file the plan creates and every
directory it makes (:class:`Created` records), so the caller can record them in the teardown manifest first
(``_manifest``): a run that fails half-way leaves nothing unrecorded. A file that was there
before the plan is not created by it: :attr:`Plan.existing` names those it writes or finds up to
date, and the manifest decides whose they are (``_manifest.Manifest.add``).

Files are written by :func:`write_file` only: a temporary file in the target directory, then
``move(tmp, path)``. Modules inject ``AnsibleModule.atomic_move`` (SELinux contexts, the
module's error reporting); without ``move`` (the monitor, tests) ``_atomic.write_atomic``
renames it with fsyncs. Missing directories are made with mode 0755 whatever the umask:
services and unprivileged DPDK applications read below them.

Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple, TypedDict

from ._atomic import write_atomic

FILE_MODE = 0o644
DIR_MODE = 0o755


class PlanError(Exception):
    """A planned step failed; the message says which and why."""


class Created(NamedTuple):
    """A file the collection writes or a directory it makes (kind "file" or "directory")."""

    path: str
    kind: str


class Diff(TypedDict):
    """One --diff entry, as Ansible shows it."""

    before_header: str
    after_header: str
    before: str
    after: str


def text_diff(header: str, before: Optional[str], after: Optional[str]) -> Diff:
    """A --diff entry; None before (after) marks a file that does not exist before (after)."""
    return Diff(before_header=header if before is not None else "%s (absent)" % header,
                after_header=header if after is not None else "%s (absent)" % header,
                before=before or "", after=after or "")


def read_text(path: str) -> Optional[str]:
    """The text in the regular file path, None when nothing is there.

    PlanError for anything else (a directory, a symlink, a FIFO, a read error): the
    collection never wrote such a thing, so it neither follows nor replaces it.
    Undecodable bytes become U+FFFD, so such a file compares unequal to any wanted text.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        missing_dirs(os.path.dirname(path))  # raises, naming the file in the way
        raise
    except IsADirectoryError:
        raise PlanError("%s is a directory" % path)
    except OSError as exc:
        if os.path.islink(path):
            raise PlanError("%s is a symlink; it is not a file this collection wrote, remove it "
                            "by hand if it should be replaced" % path)
        raise PlanError("cannot read %s (%s)" % (path, exc.strerror))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise PlanError("%s is a directory" % path)
        if not stat.S_ISREG(st.st_mode):
            raise PlanError("%s is not a regular file; it is not a file this collection wrote, "
                            "remove it by hand if it should be replaced" % path)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks).decode("utf-8", errors="replace")
            chunks.append(chunk)
    except OSError as exc:
        raise PlanError("cannot read %s (%s)" % (path, exc.strerror))
    finally:
        os.close(fd)


def missing_dirs(directory: str) -> List[str]:
    """The directories ``mkdir -p directory`` would make, outermost first."""
    missing = []
    current = os.path.abspath(directory)
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise PlanError("%s exists and is not a directory" % current)
        missing.append(current)
        current = os.path.dirname(current)
    return missing[::-1]


def make_dir(path: str) -> None:
    try:
        os.mkdir(path)
        os.chmod(path, DIR_MODE)  # mkdir's mode is narrowed by the umask
    except FileExistsError:
        if not os.path.isdir(path):
            raise PlanError("cannot create directory %s (a file is in the way)" % path)
    except OSError as exc:
        raise PlanError("cannot create directory %s (%s)" % (path, exc.strerror))


def write_file(path: str, text: str, mode: Optional[int] = FILE_MODE,
               move: Optional[Callable[[str, str], object]] = None) -> None:
    """Replace path with text atomically (its directory must exist), then give it mode.

    mode None: the mode path has now, FILE_MODE for a new file.
    """
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = FILE_MODE
        except OSError as exc:
            raise PlanError("cannot read the mode of %s (%s)" % (path, exc.strerror))
    if move is None:
        try:
            write_atomic(path, text, mode)
        except OSError as exc:
            raise PlanError("cannot write %s (%s)" % (path, exc.strerror))
        return
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise PlanError("cannot write %s (%s)" % (path, exc.strerror))
    move(tmp, path)
    try:
        os.chmod(path, mode)
    except OSError as exc:
        raise PlanError("cannot set the mode of %s (%s)" % (path, exc.strerror))


def remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise PlanError("cannot remove %s (%s)" % (path, exc.strerror))


class Plan:
    """Steps to change the system and their --diff entries; empty when nothing is to change."""

    def __init__(self, move: Optional[Callable[[str, str], object]] = None) -> None:
        self.move = move
        self.steps: List[Tuple[str, Callable[[], object]]] = []  # (description, action)
        self.diffs: List[Diff] = []
        self.files: Dict[str, str] = {}  # path: "written" | "unchanged" | "removed"
        self.creates: List[Created] = []  # files created and directories made, in order
        self.existing: List[str] = []  # files written or up to date that were there before

    @property
    def changed(self):
        return bool(self.steps)

    @property
    def descriptions(self):
        return [description for description, _action in self.steps]

    def add(self, description, action, diff=None):
        self.steps.append((description, action))
        if diff is not None:
            self.diffs.append(diff)

    def extend(self, other):
        """Append the steps, diffs and records of another plan (applied in this order)."""
        self.steps.extend(other.steps)
        self.diffs.extend(other.diffs)
        self.files.update(other.files)
        for created in other.creates:
            self._record(created)
        for path in other.existing:
            self._existed(path)

    def apply(self):
        """Apply every step in order; raise PlanError at the first failure."""
        for _description, action in self.steps:
            action()

    def _record(self, created):
        if created in self.creates:
            return False
        self.creates.append(created)
        return True

    def _existed(self, path):
        if path not in self.existing:
            self.existing.append(path)

    def make_dirs(self, directory):
        """Plan making directory and its missing parents (mode 0755)."""
        for path in missing_dirs(directory):
            if self._record(Created(path, "directory")):
                self.add("create directory %s" % path, lambda path=path: make_dir(path))

    def write(self, path, text, mode=FILE_MODE):
        """Plan writing text to path (and its missing directories) unless it holds it already.

        The mode is applied when the file is written (None: keep the mode of the file it
        replaces); an unchanged file keeps its mode. A new file is in :attr:`creates`, one that
        was there before (written or up to date) in :attr:`existing`.
        """
        before = read_text(path)
        if before is not None:
            self._existed(path)
        if before == text:
            self.files[path] = "unchanged"
            return
        self.make_dirs(os.path.dirname(path))
        if before is None:
            self._record(Created(path, "file"))
        self.files[path] = "written"
        self.add("write %s" % path, lambda: write_file(path, text, mode, self.move),
                 text_diff(path, before, text))

    def remove(self, path):
        """Plan removing the regular file path if it exists (PlanError for anything else)."""
        before = read_text(path)
        if before is not None:
            self.files[path] = "removed"
            self.add("remove %s" % path, lambda: remove_file(path), text_diff(path, before, None))
