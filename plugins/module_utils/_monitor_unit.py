# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The monitor's systemd unit, rendered from validated role variables (no template decides).

Every variable that reaches the unit is checked first, and every error names the variable:
paths by _paths (absolute, normalised, no '..'), then for the unit's syntax (systemd.syntax(7)):
no whitespace, quote, backslash or control character, which would end or split a setting (a
newline in a path adds a line such as ``ExecStartPre=+...``, which runs as root). What remains
is quoted for systemd: ``%`` (specifiers) is written ``%%`` everywhere, ``$`` (variable
expansion) ``$$`` in command lines. The state directory also passes the fail-safe rule of
_devargs (it is run by /bin/sh inside exec()). docs/monitor.md explains each directive.

Stdlib only, Python >= 3.8.
"""

from __future__ import annotations

import re

from . import _devargs, _paths

ARCHIVE_NAME = "netvsc-monitor.pyz"
DEFAULTS = {
    "netvsc_root_dir": "/",
    "netvsc_monitor_python": "/usr/bin/python3",
    "netvsc_monitor_lib_dir": "/usr/local/lib/hyperv-netvsc",
    "netvsc_state_dir": "/run/netvsc",
    "netvsc_config_dir": "/etc/netvsc/pairs.d",
    "netvsc_sysfs_root": "/sys",
    "netvsc_monitor_resync_interval": 60,
    "netvsc_monitor_textfile": "",
    "netvsc_monitor_watchdog_sec": 0,
    "netvsc_monitor_user": "",
}
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_NUMBER_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")


class UnitError(ValueError):
    """Variables that cannot go into the unit; the message names each one and why (errors:
    the list of messages)."""

    def __init__(self, errors):
        errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(errors))
        self.errors = errors


def _unit_path(value, name, system_ok=False, root_ok=False):
    path = _paths.check(value, name, system_ok=system_ok, root_ok=root_ok)
    bad = sorted(set(c for c in path if c.isspace() or c in "\"'\\" or not c.isprintable()))
    if bad:
        raise _paths.PathError("%s %r contains %s: systemd reads it as the end or a split of the "
                               "setting" % (name, value, " ".join(repr(c) for c in bad)))
    return path


def _number(value, name, integer):
    text = str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
    if text is None or not _NUMBER_RE.fullmatch(text) or (integer and "." in text):
        raise UnitError("%s must be a number of seconds >= 0%s, not %r"
                        % (name, " (whole)" if integer else "", value))
    return text


def _checks(variables):
    """(checked values, [every error message])."""
    v = dict(DEFAULTS)
    v.update((key, value) for key, value in variables.items() if value is not None)
    unknown = sorted(set(v) - set(DEFAULTS))
    errors = ["unknown variable %s for the monitor unit" % name for name in unknown]
    checked = {}

    def check(name, function, *args, **kwargs):
        try:
            checked[name] = function(v[name], name, *args, **kwargs)
        except (UnitError, _paths.PathError) as exc:
            errors.append(str(exc))

    check("netvsc_root_dir", _unit_path, root_ok=True)
    check("netvsc_monitor_python", _unit_path, system_ok=True)
    check("netvsc_monitor_lib_dir", _unit_path)
    check("netvsc_state_dir", _state_dir)
    check("netvsc_config_dir", _unit_path)
    check("netvsc_sysfs_root", _unit_path, system_ok=True)
    if v["netvsc_monitor_textfile"] in ("", None):
        checked["netvsc_monitor_textfile"] = ""
    else:
        check("netvsc_monitor_textfile", _unit_path, system_ok=True)
    check("netvsc_monitor_resync_interval", _number, integer=False)
    check("netvsc_monitor_watchdog_sec", _number, integer=True)
    check("netvsc_monitor_user", _user)
    return checked, errors


def _state_dir(value, name):
    path = _unit_path(value, name)
    try:
        _devargs.check_state_dir(path)
    except _devargs.DevargsError as exc:
        raise UnitError("%s: %s" % (name, exc))
    # systemd hands /run/<name> to the monitor as its RuntimeDirectory= (chowns it to the
    # monitor's user, moves it below /run/private under DynamicUser, may remove it): it must
    # not be another service's directory (/run/sshd would stop sshd accepting logins).
    top = path.split("/")[2] if path.startswith("/run/") else "netvsc"
    if not top.startswith("netvsc"):
        raise UnitError("%s %s: below /run the monitor's directory becomes its RuntimeDirectory=, "
                        "which systemd hands over to the monitor's user, so its name must start "
                        "with 'netvsc' (e.g. /run/netvsc): /run/%s may belong to another service"
                        % (name, path, top))
    return path


def _user(value, name):
    if value == "":
        return value
    if not isinstance(value, str) or not _USER_RE.fullmatch(value):
        raise UnitError("%s %r must be empty (DynamicUser) or a system user name matching %s"
                        % (name, value, _USER_RE.pattern))
    return value


def _exec(*words):
    """A command line: each word with systemd's specifiers and variables escaped."""
    return " ".join(word.replace("%", "%%").replace("$", "$$") for word in words)


def _value(text):
    """A setting's value with systemd's specifiers escaped."""
    return text.replace("%", "%%")


def _checked(variables):
    """The checked variables, or UnitError listing every one that cannot be used."""
    v, errors = _checks(variables)
    if errors:
        raise UnitError(errors)
    return v


def _run(v):
    """(python and archive, the arguments every run of the monitor takes, the metrics
    arguments, state dir, textfile), all placed below the sandbox root."""
    root = v["netvsc_root_dir"]
    archive = _paths.place(root, v["netvsc_monitor_lib_dir"] + "/" + ARCHIVE_NAME)
    state_dir = _paths.place(root, v["netvsc_state_dir"])
    textfile = _paths.place(root, v["netvsc_monitor_textfile"]) if v["netvsc_monitor_textfile"] else ""
    where = ("--sysfs-root", v["netvsc_sysfs_root"], "--config-dir",
             _paths.place(root, v["netvsc_config_dir"]), "--state-dir", state_dir)
    metrics = ("--textfile", textfile) if textfile else ()
    return (v["netvsc_monitor_python"], archive), where, metrics, state_dir, textfile


def once_argv(variables):
    """The argv of one publication without services (``--once``), as the unit would run it.

    Raises UnitError listing every variable that cannot be used.
    """
    program, where, metrics, _state_dir, _textfile = _run(_checked(variables))
    return list(program) + ["--once"] + list(where) + list(metrics)


def render(variables):
    """The unit text for {role variable: value} (missing ones take the role defaults).

    Raises UnitError listing every variable that cannot go into the unit.
    """
    v = _checked(variables)
    (python, archive), where, metrics, state_dir, textfile = _run(v)
    # systemd creates /run/<name> (RuntimeDirectory=); a state directory elsewhere (a sandbox
    # root) gets the default name, the unit is then only written, not run.
    runtime_dir = v["netvsc_state_dir"][len("/run/"):] if v["netvsc_state_dir"].startswith("/run/") else "netvsc"
    textfile_dir = textfile.rsplit("/", 1)[0] if textfile else ""
    user = v["netvsc_monitor_user"]
    return UNIT % {
        "sysfs_root": _value(v["netvsc_sysfs_root"]),
        "exec_start": _exec(python, archive, "--foreground", *where,
                            "--resync-interval", v["netvsc_monitor_resync_interval"], *metrics),
        "exec_reload": _exec(python) + ' -c "import os, sys; os.kill(int(sys.argv[1]), 1)" $MAINPID',
        "exec_stop_post": _exec(python, archive, "--clear", "--state-dir", state_dir, *metrics),
        "watchdog": ("WatchdogSec=%s\n" % v["netvsc_monitor_watchdog_sec"]
                     if v["netvsc_monitor_watchdog_sec"] != "0" else ""),
        "identity": "User=%s\nGroup=%s\n" % (user, user) if user else "DynamicUser=yes\n",
        "runtime_dir": _value(runtime_dir),
        "read_write": ("ReadWritePaths=%s\n" % _value(textfile_dir)
                       if textfile_dir and textfile_dir != state_dir else ""),
    }


UNIT = """\
# Managed by the hyperv.netvsc collection (lookup hyperv.netvsc.monitor_unit); edits are replaced.
[Unit]
Description=NetVSC VF hot-plug monitor (publishes VF addresses for DPDK fail-safe)
Documentation=https://github.com/hyperv-netvsc/hyperv.netvsc/blob/main/docs/monitor.md
After=systemd-udevd.service
Before=network-pre.target
Wants=network-pre.target
ConditionPathIsDirectory=%(sysfs_root)s/class/net
# A monitor that keeps failing stops being restarted (5 starts in 60 s): it never loops on
# the same input, and ExecStopPost= has withdrawn its addresses.
StartLimitIntervalSec=60
StartLimitBurst=5

[Service]
Type=notify
NotifyAccess=main
ExecStart=%(exec_start)s
# SIGHUP re-reads the declarations. Sent with the same python rather than /bin/kill, which
# minimal images (debootstrap minbase, containers) do not have.
ExecReload=%(exec_reload)s
# After any stop, crash or SIGKILL: empty every <id>.vf, so that no address outlives the
# process that vouched for it (a clean stop does it too; this covers the rest).
ExecStopPost=%(exec_stop_post)s
Restart=on-failure
RestartSec=1s
%(watchdog)s
# Identity: an unprivileged user. State files are 0644 in a 0755 directory. With
# DynamicUser and RuntimeDirectoryPreserve, systemd keeps the directory under /run/private
# (mode 0700, root) and links /run/<name> to it: a DPDK application running as root reads it,
# others cannot. Set netvsc_monitor_user to a static system user (the role creates it) when
# DPDK runs unprivileged.
%(identity)sUMask=0022
RuntimeDirectory=%(runtime_dir)s
RuntimeDirectoryMode=0755
# DPDK keeps reading <id>.vf while the monitor restarts.
RuntimeDirectoryPreserve=yes
%(read_write)s
# It reads /sys and a netlink socket and writes its state dir: no capabilities at all.
CapabilityBoundingSet=
AmbientCapabilities=
NoNewPrivileges=yes
SecureBits=noroot-locked
# Files: everything read-only except the state dir. ProtectKernelTunables keeps /sys
# readable (read-only), which is all the scanner needs.
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateMounts=yes
PrivateDevices=yes
DevicePolicy=closed
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
# No PrivateNetwork: net uevents reach only listeners in the device's network namespace,
# and /sys/class/net shows only the own namespace. A user namespace (PrivateUsers) keeps
# the host network namespace, so uevents still arrive.
PrivateUsers=yes
PrivateIPC=yes
RestrictNamespaces=yes
RestrictAddressFamilies=AF_NETLINK AF_UNIX
IPAddressDeny=any
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RemoveIPC=yes
KeyringMode=private
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
"""
