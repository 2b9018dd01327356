# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one validator of path variables (netvsc_config_dir, state_dir, ...).

A path variable must be a string, absolute, normalised (no ``.`` or ``..`` component, no
``//``; trailing slashes are dropped), without control characters. A directory the
collection owns (it creates it, writes its own files there, and teardown may remove it) must
also not be ``/`` nor a system directory on its own (:data:`SYSTEM_DIRS`): those hold other
software's files, and one wrong variable (``netvsc_config_dir: /etc``) must not make the
collection their owner. Directories the collection only drops named files into by design
(udev rules, systemd-networkd and unit directories, sysfs) pass ``system_ok=True``.

The check is lexical: it never touches the file system, so it gives the same answer on the
controller, on the target and for a sandbox root. Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import posixpath

# System directories, each refused on its own as a directory the collection owns. A
# directory below them (/etc/netvsc, /usr/local/lib/hyperv-netvsc) is fine.
#   * Every top-level directory of the FHS 3.0 and of current distributions (usrmerge
#     /lib*, /snap, /efi).
#   * The standard hierarchies of /usr, /usr/local and /var (FHS 3.0 chapters 4 and 5), and
#     of /run that other software owns (systemd, udev, per-user and lock directories).
#   * The configuration directories of /etc that this collection or the services it
#     configures write into (systemd, udev, networkd, driverctl, kernel modules) and the
#     ones holding credentials (ssh, ssl, pki, sudo, pam).
SYSTEM_DIRS = frozenset(
    ["/" + name for name in (
        "bin", "boot", "dev", "efi", "etc", "home", "lib", "lib32", "lib64", "libx32",
        "lost+found", "media", "mnt", "opt", "proc", "root", "run", "sbin", "snap", "srv",
        "sys", "tmp", "usr", "var")]
    + ["/usr/" + name for name in (
        "bin", "games", "include", "lib", "lib32", "lib64", "libexec", "libx32", "local",
        "sbin", "share", "src")]
    + ["/usr/local/" + name for name in (
        "bin", "etc", "games", "include", "lib", "lib64", "libexec", "man", "sbin", "share",
        "src")]
    + ["/var/" + name for name in (
        "backups", "cache", "crash", "lib", "local", "lock", "log", "mail", "opt", "run",
        "spool", "tmp")]
    + ["/run/" + name for name in (
        "credentials", "lock", "log", "private", "shm", "systemd", "udev", "user")]
    + ["/etc/" + name for name in (
        "default", "driverctl.d", "modprobe.d", "modules-load.d", "network", "NetworkManager",
        "pam.d", "pki", "security", "ssh", "ssl", "sudoers.d", "systemd", "systemd/network",
        "systemd/system", "udev", "udev/rules.d")]
)


class PathError(ValueError):
    """A path variable that cannot be used; the message names the variable and the fix."""


def check(value, name, system_ok=False, root_ok=False):
    """Return the normalised path in value, or raise PathError naming the variable name.

    system_ok: value may be one of SYSTEM_DIRS (a directory the collection only puts named
    files into). root_ok: value may be "/" (netvsc_root_dir, the real root).
    """
    if not isinstance(value, str):
        raise PathError("%s must be a path (a string), not %r" % (name, value))
    if not value.isprintable():
        raise PathError("%s %r contains control characters" % (name, value))
    if not value.startswith("/"):
        raise PathError("%s %r must be an absolute path (start with /)" % (name, value))
    path = value.rstrip("/") or "/"
    parts = path.split("/")[1:]
    if ".." in parts:
        raise PathError("%s %r must not contain '..'; write the directory it means, %s"
                        % (name, value, posixpath.normpath(path)))
    if path != posixpath.normpath(path) or path.startswith("//"):
        raise PathError("%s %r is not normalised; write %s"
                        % (name, value, posixpath.normpath("/" + path.lstrip("/"))))
    if path == "/" and not root_ok:
        raise PathError("%s must not be / (the collection would own the whole file system)"
                        % name)
    if path in SYSTEM_DIRS and not system_ok:
        raise PathError("%s must not be the system directory %s on its own (it holds other "
                        "software's files); use a directory of its own below it, such as "
                        "%s/netvsc" % (name, path, path))
    return path


def check_all(paths, system_ok=(), root_ok=()):
    """Check {name: value}; return ({name: normalised path}, [every error message])."""
    good, errors = {}, []
    for name, value in paths.items():
        try:
            good[name] = check(value, name, system_ok=name in system_ok, root_ok=name in root_ok)
        except PathError as exc:
            errors.append(str(exc))
    return good, errors


def place(root, path):
    """path (normalised, absolute) as seen below the sandbox root (normalised, absolute)."""
    if root == "/":
        return path
    return root if path == "/" else root + path
