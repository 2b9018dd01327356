# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The teardown manifest: every file and directory the collection created on a host.

Teardown removes exactly what is recorded here, never a path by guess or by pattern, so a
variable such as ``netvsc_monitor_lib_dir: /opt/tools`` cannot make it delete the user's
files next to ours. A directory is recorded only when the collection made it, and is removed
only when it is empty then. A file is recorded only when the collection creates it: one that
was there before and that the collection overwrites (a user's file given as a destination, a
file of a version without the manifest) stays the user's, listed under ``theirs``, and
teardown keeps it and says so.

Write-ahead: a writer records what its plan will create (``_plan.Plan.creates``) *before* it
applies the plan (:func:`apply`), so a run that fails half-way leaves records of paths that
may not exist (teardown skips them), never a created path without a record. Paths written by
others (``copy`` of the monitor archive, systemd's runtime directory) are recorded before
they are written too.

Format (``/var/lib/hyperv-netvsc/manifest.json`` below the sandbox root; docs/architecture.md)::

    {"collection": "hyperv.netvsc", "format": 1,
     "directories": ["/etc/netvsc", ...], "files": ["/etc/netvsc/eal.env", ...],
     "theirs": ["/etc/default/dpdk-app"],    # this key and the next two only when not empty
     "groups": ["netvsc-mon"], "users": ["netvsc-mon"]}

Accounts likewise (:func:`ensure_account`): a user or group is recorded, and deleted at
teardown, only when the collection created it; one that exists already is used as it is.

Fail closed: a manifest that is not a regular file owned by this user and writable by it
only, or whose content is not exactly this format with valid paths (``_paths``), is
foreign. Teardown then deletes nothing and says why, and writers refuse to add to it.
Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

from . import _accounts, _paths
from ._plan import Plan, PlanError, make_dir, missing_dirs, remove_file, write_file

FORMAT = 1
COLLECTION = "hyperv.netvsc"
DEFAULT_PATH = "/var/lib/hyperv-netvsc/manifest.json"
MAX_SIZE = 1 << 20
KEYS = ("files", "directories", "theirs", "users", "groups")  # in Manifest()'s order
ACCOUNTS = ("users", "groups")  # names; the other keys hold paths
THEIRS = ("it was there before the collection first wrote it, so it is not the collection's to "
          "delete; remove it by hand if it is no longer needed")


class ManifestError(Exception):
    """A manifest that cannot be trusted or written; the message says which and why."""


class Teardown(NamedTuple):
    """What teardown removed, and what it kept with the reason (path: sentence)."""

    removed: List[str]
    kept: Dict[str, str]


def _check_owner(path, st, what):
    if st.st_uid != os.geteuid():
        raise ManifestError("%s %s belongs to uid %d, not to uid %d that runs this: someone else "
                            "could have written it" % (what, path, st.st_uid, os.geteuid()))
    if st.st_mode & 0o022 and not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX):
        raise ManifestError("%s %s is writable by group or others (mode %s): someone else could "
                            "have written it" % (what, path, oct(st.st_mode & 0o7777)))


def _parse(path, raw):
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ManifestError("%s is not valid JSON (%s)" % (path, exc))
    if not isinstance(data, dict) or data.get("collection") != COLLECTION or data.get("format") != FORMAT:
        raise ManifestError("%s is not a format %d manifest of %s" % (path, FORMAT, COLLECTION))
    extra = sorted(set(data) - {"collection", "format"} - set(KEYS))
    if extra:
        raise ManifestError("%s has unknown keys %s" % (path, ", ".join(extra)))
    lists = {}
    for key in KEYS:
        entries = data.get(key, [])
        if not isinstance(entries, list):
            raise ManifestError("%s: %s must be a list" % (path, key))
        for entry in entries:
            try:
                if key in ACCOUNTS:
                    _accounts.check_name(entry)
                elif _paths.check(entry, "entry", system_ok=True) != entry:
                    raise _paths.PathError("entry %r is not normalised" % entry)
            except (_paths.PathError, _accounts.AccountError) as exc:
                raise ManifestError("%s: %s in %s" % (path, exc, key))
        lists[key] = entries
    return tuple(lists[key] for key in KEYS)


class Manifest:
    """The records of one manifest file (missing: none yet)."""

    def __init__(self, path: str, files: Iterable[str] = (), directories: Iterable[str] = (),
                 theirs: Iterable[str] = (), users: Iterable[str] = (), groups: Iterable[str] = ()):
        self.path = path
        self.files = list(files)
        self.directories = list(directories)
        self.theirs = list(theirs)  # files the collection writes that were there before it
        self.users = list(users)  # accounts the collection created
        self.groups = list(groups)

    @classmethod
    def load(cls, path: str) -> "Manifest":
        """Read path; ManifestError when it is foreign or malformed (nothing may be trusted)."""
        directory = os.path.dirname(path)
        try:
            _check_owner(directory, os.lstat(directory), "the manifest directory")
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise ManifestError("cannot read the manifest directory %s (%s)" % (directory, exc.strerror))
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            reason = "it is a symlink" if os.path.islink(path) else exc.strerror
            raise ManifestError("cannot read the manifest %s (%s)" % (path, reason))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ManifestError("the manifest %s is not a regular file" % path)
            _check_owner(path, st, "the manifest")
            raw = os.read(fd, MAX_SIZE + 1)
        except OSError as exc:
            raise ManifestError("cannot read the manifest %s (%s)" % (path, exc.strerror))
        finally:
            os.close(fd)
        if len(raw) > MAX_SIZE:
            raise ManifestError("the manifest %s is larger than %d bytes" % (path, MAX_SIZE))
        return cls(path, *_parse(path, raw))

    def dumps(self) -> str:
        data = {"collection": COLLECTION, "format": FORMAT}
        data.update((key, sorted(set(getattr(self, key)))) for key in KEYS)
        for key in ("theirs",) + ACCOUNTS:
            if not data[key]:
                del data[key]  # as manifests were before these keys existed
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def add(self, created: Iterable[Tuple[str, str]], existing: Iterable[str] = ()) -> bool:
        """Record what the collection is about to write; True when any record is new.

        created: (path, kind) pairs (kind "file" or "directory") of paths that do not exist:
        the collection's. existing: files it writes (or finds up to date) that exist already:
        the collection's only when recorded already (it created them), else the user's, and
        recorded as theirs so that teardown keeps them and says so (fail closed).
        """
        new = False
        for path, kind in created:
            records = self.directories if kind == "directory" else self.files
            if path not in records:
                records.append(path)
                new = True
            if path in self.theirs:  # theirs went away; what is created there now is ours
                self.theirs.remove(path)
        for path in existing:
            if path not in self.files and path not in self.theirs:
                self.theirs.append(path)
                new = True
        return new

    def forget(self, files: Iterable[str]) -> bool:
        """Drop the records of these files (removed); True when any was recorded."""
        gone = set(files) & set(self.files + self.theirs)
        self.files = [path for path in self.files if path not in gone]
        self.theirs = [path for path in self.theirs if path not in gone]
        return bool(gone)

    def save(self, move=None) -> None:
        """Write the manifest, making (and recording) its missing directories first."""
        made = missing_dirs(os.path.dirname(self.path))
        self.add((path, "directory") for path in made)
        for path in made:
            make_dir(path)
        write_file(self.path, self.dumps(), 0o600, move)


def apply(plan: Plan, manifest_path: Optional[str], move=None) -> None:
    """Record what plan creates in the manifest (when given), apply the plan, then forget the
    files it removed: a file the user puts at such a path later is not the collection's.

    Raises ManifestError (nothing changed) or PlanError (the plan failed half-way, or the
    removed files could not be forgotten).
    """
    removed = [path for path, what in plan.files.items() if what == "removed"]
    touched = plan.creates or plan.existing or removed
    manifest = Manifest.load(manifest_path) if manifest_path and touched else None
    if manifest is not None and manifest.add(plan.creates, plan.existing):
        try:
            manifest.save(move)
        except PlanError as exc:
            raise ManifestError("cannot record in the manifest: %s" % exc)
    plan.apply()
    if manifest is not None and manifest.forget(removed):
        manifest.save(move)


class Accounts(NamedTuple):
    """What ensure_account did: the accounts added ("group NAME", "user NAME"), those used as
    they are (they existed and the collection did not create them), and why none could be
    added (a sandbox without account files), None otherwise."""

    added: List[str]
    theirs: List[str]
    skipped: Optional[str]


def ensure_account(manifest_path: str, name: str, root: str = "/", check_mode: bool = False,
                   run: Optional[_accounts.Run] = None, move=None) -> Accounts:
    """Make the system group and user name exist, each created only when it does not exist.

    Each one missing is recorded in the manifest first (write-ahead), then added, so teardown
    deletes it. One that exists is used as it is (never modified) and is the collection's only
    when the manifest records it already. check_mode: report, change nothing.
    Raises ManifestError (nothing changed) or _accounts.AccountError (a command failed).
    """
    _accounts.check_name(name)
    if not _accounts.can_change(root):
        return Accounts([], [], "%s has no etc/passwd and etc/group of its own: no account is "
                        "created in this sandbox, and no real one is touched" % root)
    manifest = Manifest.load(manifest_path)
    missing = [kind for kind in _accounts.KINDS if not _accounts.exists(kind, name, root)]
    theirs = ["%s %s" % (kind, name) for kind in _accounts.KINDS
              if kind not in missing and name not in getattr(manifest, kind + "s")]
    if missing == ["user"] and name not in manifest.groups:
        # userdel deletes the user's group of its name with it (USERGROUPS_ENAB): at teardown
        # the user's group would go with the user the collection created.
        raise _accounts.AccountError(
            "the group %s exists and the collection did not create it, so it creates no user %s "
            "in it (deleting that user would delete the group too); create the user yourself "
            "(the collection then uses it as it is) or choose another name; nothing was changed"
            % (name, name))
    if check_mode or not missing:
        return Accounts(["%s %s" % (kind, name) for kind in missing], theirs, None)
    new = False
    for kind in missing:
        records = getattr(manifest, kind + "s")
        if name not in records:
            records.append(name)
            new = True
    if new:
        try:
            manifest.save(move)
        except PlanError as exc:
            raise ManifestError("cannot record in the manifest: %s" % exc)
    for kind in missing:
        _accounts.run(_accounts.add_command(kind, name, root), run)
    return Accounts(["%s %s" % (kind, name) for kind in missing], theirs, None)


def _inside(path, root):
    return root == "/" or path == root or path.startswith(root + "/")


def _kind(path):
    try:
        return stat.S_IFMT(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def _link_target(path):
    return os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))


def _diverted(path, root, directories):
    """Why path now names something else than what the collection wrote, through a directory
    above it; None when it does not. A directory the collection made that is now a symlink to
    one it did not make, or a path that now resolves outside root, names another's files."""
    for directory in directories:
        if path.startswith(directory + "/") and _kind(directory) == stat.S_IFLNK:
            target = _link_target(directory)
            if target not in directories:
                return "%s is a symlink to %s now, which the collection did not make" % (directory, target)
    parent = os.path.dirname(path)
    real = os.path.realpath(parent)
    if _inside(parent, root) and not _inside(real, os.path.realpath(root)):
        return "its directory is %s now, outside %s" % (real, root)
    return None


def teardown(manifest_path: str, root: str = "/", check_mode: bool = False,
             only: Optional[Iterable[str]] = None, accounts: Iterable[str] = (),
             run: Optional[_accounts.Run] = None) -> Teardown:
    """Remove every recorded file, then every recorded directory that is empty, deepest first,
    then the recorded users and groups that still exist (run: the command runner).

    root: every record must lie below it (a sandbox teardown never leaves the sandbox),
    lexically and once symlinks are resolved.
    What cannot go is kept with its reason, and stays recorded; the manifest (and its own
    directory) goes when nothing is kept. The files of theirs are kept too, with the reason
    THEIRS; they do not keep the manifest. check_mode: report, remove nothing.
    only: remove just the records that are one of these paths or lie below one (a part of
    what the collection installed, such as the monitor); every other record, and the
    manifest, stay; with them, the recorded accounts named in accounts.
    ManifestError (nothing removed) for a foreign or malformed manifest.
    """
    manifest = Manifest.load(manifest_path)
    outside = [p for p in manifest.files + manifest.directories + manifest.theirs if not _inside(p, root)]
    if outside:
        raise ManifestError("the manifest %s records %s outside %s; nothing was removed"
                            % (manifest_path, ", ".join(sorted(outside)), root))
    if only is not None:
        return _teardown_part(manifest, root, list(only), check_mode, set(accounts), run)
    remover = _Remover(manifest, root, check_mode)
    remover.run()
    remover.delete_accounts(run)
    if not remover.kept:
        if _kind(manifest_path) is not None:
            remover.remove(manifest_path, remove_file)
        for path in remover.directories:
            if manifest_path.startswith(path + "/") and _kind(path) == stat.S_IFDIR and remover.empty(path):
                remover.remove(path, os.rmdir)
    elif not check_mode:
        kept = remover.kept
        left = Manifest(manifest_path, [p for p in manifest.files if p in kept],
                        [p for p in manifest.directories if p in kept or manifest_path.startswith(p + "/")],
                        manifest.theirs, *_accounts_left(manifest, kept))
        left.save()
    return Teardown(remover.removed, _with_theirs(remover.kept, manifest.theirs))


def _accounts_left(manifest, names):
    """(users, groups) of manifest whose "user NAME" / "group NAME" is in names."""
    return tuple([n for n in getattr(manifest, kind + "s") if "%s %s" % (kind, n) in names]
                 for kind in ("user", "group"))


def _with_theirs(kept, theirs):
    """kept, and each file of theirs that is still there, with the reason THEIRS."""
    kept = dict(kept)
    kept.update((path, THEIRS) for path in sorted(theirs) if _kind(path) is not None)
    return kept


class _Remover:
    """Removes the files of a manifest, then its directories that are empty, deepest first
    (not the manifest's own directories: they go last, with it); what cannot go is kept with
    its reason. check_mode: report, remove nothing."""

    def __init__(self, manifest, root, check_mode, made=None):
        """made: every directory the collection made (default: the manifest's), for
        _diverted(); a part's manifest lists only some."""
        self.manifest, self.root, self.check_mode = manifest, root, check_mode
        self.made = manifest.directories if made is None else made
        self.removed, self.kept = [], {}
        self.gone = {manifest.path}
        self.directories = sorted(set(manifest.directories), key=lambda p: (-p.count("/"), p))

    def remove(self, path, action):
        if not self.check_mode:
            try:
                action(path)
            except (OSError, PlanError) as exc:
                self.kept[path] = "cannot remove it (%s)" % (getattr(exc, "strerror", None) or exc)
                return
        self.removed.append(path)
        self.gone.add(path)

    def empty(self, path):
        left = sorted(n for n in os.listdir(path) if os.path.join(path, n) not in self.gone)
        if left:
            self.kept[path] = "not empty: it holds %s, which the collection did not write" % ", ".join(
                left[:5] + (["..."] if len(left) > 5 else []))
        return not left

    def delete_accounts(self, run):
        """Delete the manifest's users, then its groups (a user's primary group cannot go
        before the user), each only while it exists; one that cannot go is kept. userdel may
        delete the group of the user's name itself: that group is removed too."""
        groups = [name for name in self.manifest.groups if _accounts.exists("group", name, self.root)]
        for kind, names in (("user", self.manifest.users), ("group", groups)):
            for name in names:
                key = "%s %s" % (kind, name)
                if not _accounts.exists(kind, name, self.root):
                    if kind == "group":  # userdel took it with the user
                        self.removed.append(key)
                    continue
                if not self.check_mode:
                    try:
                        _accounts.run(_accounts.delete_command(kind, name, self.root), run)
                    except _accounts.AccountError as exc:
                        self.kept[key] = "cannot delete it (%s)" % exc
                        continue
                self.removed.append(key)

    def diverted(self, path):
        """Whether path names something else now (kept, with the reason): _diverted()."""
        reason = _diverted(path, self.root, self.made)
        if reason:
            self.kept[path] = reason
        return bool(reason)

    def run(self):
        for path in sorted(set(self.manifest.files)):
            kind = _kind(path)
            if kind is None or self.diverted(path):
                continue
            if kind != stat.S_IFREG:
                self.kept[path] = "it is not a regular file now; the collection wrote a file there"
                continue
            self.remove(path, remove_file)
        for path in self.directories:
            kind = _kind(path)
            if kind is None or self.diverted(path):
                continue
            if kind == stat.S_IFLNK:
                # systemd's DynamicUser layout: /run/<name> links to /run/private/<name>.
                target = _link_target(path)
                if target in self.manifest.directories:
                    self.remove(path, os.unlink)
                else:
                    self.kept[path] = "it is a symlink to %s now, which the collection did not make" % target
                continue
            if kind != stat.S_IFDIR:
                self.kept[path] = "it is not a directory now; the collection made a directory there"
                continue
            if self.manifest.path.startswith(path + "/"):
                continue  # the manifest's own directories go last, with it
            if self.empty(path):
                self.remove(path, os.rmdir)


def _teardown_part(manifest, root, only, check_mode, accounts, run):
    """teardown(only=...): the records below the paths of only, and the accounts named in
    accounts, by the same rules."""
    def chosen(path):
        return any(_inside(path, part) for part in only)

    part = Manifest(manifest.path, [p for p in manifest.files if chosen(p)],
                    [p for p in manifest.directories if chosen(p) and not manifest.path.startswith(p + "/")],
                    users=[n for n in manifest.users if n in accounts],
                    groups=[n for n in manifest.groups if n in accounts])
    remover = _Remover(part, root, check_mode, made=manifest.directories)
    remover.run()
    remover.delete_accounts(run)
    if remover.removed and not check_mode:
        gone = set(remover.removed)
        left = {"%s %s" % (kind, n) for kind in ("user", "group") for n in getattr(manifest, kind + "s")} - gone
        Manifest(manifest.path, [p for p in manifest.files if p not in gone],
                 [p for p in manifest.directories if p not in gone], manifest.theirs,
                 *_accounts_left(manifest, left)).save()
    return Teardown(remover.removed, _with_theirs(remover.kept, [p for p in manifest.theirs if chosen(p)]))
