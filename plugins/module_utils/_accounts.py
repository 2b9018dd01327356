# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The system accounts of the collection (the monitor's ``netvsc_monitor_user``): whether one
exists, and the shadow-utils commands that add or delete it.

An account is the collection's only when it created it, which the teardown manifest records
(``_manifest.ensure_account``); one that exists already (``www-data``, ``sshd``, an LDAP
account) is used as it is and never modified or deleted.

Sandbox: with a root other than ``/`` no real account is looked up or touched. Accounts are
those of ``<root>/etc/passwd`` and ``<root>/etc/group``, changed with the commands' ``--prefix``
option; a sandbox without those files gets no account (:func:`can_change` is False).
Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
from typing import Callable, List, Optional, Tuple

KINDS = ("group", "user")  # the order they are added in (the user's primary group first)
NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_DB = {"user": "passwd", "group": "group"}

Run = Callable[[List[str]], Tuple[int, str, str]]


class AccountError(ValueError):
    """A bad account name, or a command that failed; the message says which and why."""


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise AccountError("%r is not a system account name (%s)" % (name, NAME_RE.pattern))
    return name


def exists(kind: str, name: str, root: str = "/") -> bool:
    """Whether the user or group (kind) name exists: through NSS (files, LDAP, sssd) on the
    real system, in the sandbox's own file otherwise."""
    if root == "/":
        try:
            (pwd.getpwnam if kind == "user" else grp.getgrnam)(name)
        except KeyError:
            return False
        return True
    try:
        with open(os.path.join(root, "etc", _DB[kind]), encoding="utf-8", errors="replace") as db:
            return any(line.split(":", 1)[0] == name for line in db)
    except FileNotFoundError:
        return False


def can_change(root: str) -> bool:
    """Whether accounts can be added below root: always on the real system; in a sandbox only
    when it has its own account files."""
    return root == "/" or all(os.path.isfile(os.path.join(root, "etc", db)) for db in _DB.values())


def _command(program, root):
    """program (found in sbin directories too: a PATH without them is common under sudo and
    in services), with --prefix in a sandbox."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    return [shutil.which(program, path=path) or program] + ([] if root == "/" else ["--prefix", root])


def add_command(kind: str, name: str, root: str = "/") -> List[str]:
    """A system group, or a system user of the group of its name with no home and no login."""
    if kind == "group":
        return _command("groupadd", root) + ["--system", name]
    return _command("useradd", root) + ["--system", "--gid", name, "--no-create-home",
                                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name]


def delete_command(kind: str, name: str, root: str = "/") -> List[str]:
    return _command("%sdel" % kind, root) + [name]


def run(argv: List[str], runner: Optional[Run]) -> None:
    """Run argv; AccountError naming it and its error when it fails."""
    if runner is None:  # modules pass AnsibleModule.run_command; module_utils run nothing themselves
        raise AccountError("cannot run %s: no command runner was given" % " ".join(argv))
    rc, _out, err = runner(argv)
    if rc != 0:
        raise AccountError("%s failed (exit %d): %s" % (" ".join(argv), rc, err.strip() or "no message"))
