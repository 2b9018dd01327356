#!/usr/bin/env python
"""Collect, inside one container, everything the verify playbooks check; print one JSON object.

One task instead of dozens (each Ansible task costs seconds on a loaded machine). Read-only.
Runs as root through nsenter, so it looks at the service from outside: what systemd reports
for the unit, and /proc of the unit's main process (its real identity and capabilities).

Argument: the baseline marker (files changed after it are listed in "changed_since_baseline").
"""
import glob
import json
import os
import pwd
import re
import stat
import subprocess
import sys

UNIT = "netvsc-monitor.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT
# Every path the role hyperv.netvsc.failsafe may write (defaults, netvsc_root_dir=/); the
# per-pairing VF policy files of netvsc_pair are globs.
ROLE_PATHS = [
    UNIT_PATH,
    "/etc/systemd/system/multi-user.target.wants/" + UNIT,
    "/etc/netvsc",
    "/run/netvsc",
    "/run/private/netvsc",  # DynamicUser: /run/netvsc is a link to it
    "/usr/local/lib/hyperv-netvsc",
]
POLICY_GLOBS = ["/etc/udev/rules.d/90-hyperv-netvsc-vf-*.rules",
                "/etc/systemd/network/01-hyperv-netvsc-vf-*.network"]
CONTENT_DIRS = ["/etc/netvsc", "/run/netvsc"]
# Not the role's doing: Ansible's own temp dirs, the fixture bind mount, systemd/journal
# runtime state, and the marker itself.
# The account databases are rewritten by useradd/userdel (netvsc_monitor_user): that the
# account is gone is checked by name (netvsc_accounts).
NOISE = re.compile(r"^/(proc|sys|dev|srv/netvsc-fixture|root/\.ansible|tmp/\.ansible|var/tmp/\.ansible)(/|$)"
                   r"|^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$|^/var/log/(faillog|lastlog)$"
                   r"|^/run/(systemd|log|user|dbus|netvsc-molecule\.baseline)(/|$)"
                   r"|^/var/lib/systemd/(random-seed|timers|catalog)(/|$)|^/var/log/journal(/|$)")


def run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def read(path, limit=65536):
    try:
        with open(path, errors="replace") as handle:
            return handle.read(limit)
    except OSError:
        return None


def pwd_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def main():
    baseline = sys.argv[1] if len(sys.argv) > 1 else "/run/netvsc-molecule.baseline"
    out = {"unit": UNIT, "unit_path": UNIT_PATH}
    show = run(["systemctl", "show", "-p",
                "Type,ActiveState,SubState,MainPID,NRestarts,LoadState,UnitFileState,"
                "FragmentPath,Result,User,DynamicUser", UNIT])
    out["show"] = dict(line.split("=", 1) for line in show["stdout"].splitlines() if "=" in line)
    out["is_active"] = run(["systemctl", "is-active", UNIT])["stdout"].strip()
    pid = int(out["show"].get("MainPID") or 0)
    out["main_process"] = None
    if pid:
        status = dict(line.split(":", 1) for line in (read("/proc/%d/status" % pid) or "").splitlines()
                      if ":" in line)
        out["main_process"] = {
            "pid": pid,
            "cmdline": (read("/proc/%d/cmdline" % pid) or "").split("\0"),
            "uid": status.get("Uid", "").split(),
            "cap_eff": status.get("CapEff", "").strip(),
            "cap_bnd": status.get("CapBnd", "").strip(),
            "no_new_privs": status.get("NoNewPrivs", "").strip(),
            "seccomp": status.get("Seccomp", "").strip(),
        }
    out["monitor_pids"] = sorted(
        int(p.split("/")[2]) for p in glob.glob("/proc/[0-9]*/cmdline")
        if "netvsc-monitor.pyz" in (read(p) or "").replace("\0", " "))
    policy = sorted(path for pattern in POLICY_GLOBS for path in glob.glob(pattern))
    out["exists"] = {p: os.path.lexists(p) for p in ROLE_PATHS + policy}
    out["state_dir"] = None
    if os.path.lexists("/run/netvsc"):
        st = os.lstat("/run/netvsc")
        out["state_dir"] = {"link": stat.S_ISLNK(st.st_mode), "mode": "%04o" % stat.S_IMODE(st.st_mode),
                            "owner": pwd_name(st.st_uid)}
    out["netvsc_accounts"] = sorted(line.split(":")[0] for line in (read("/etc/passwd") or "").splitlines()
                                    + (read("/etc/group") or "").splitlines()
                                    if line.startswith("netvsc"))
    out["files"] = {p: read(p) for p in policy + [UNIT_PATH] if os.path.isfile(p)}
    for top in CONTENT_DIRS:
        for base, _dirs, names in os.walk(top):
            for name in names:
                path = os.path.join(base, name)
                out["files"][path] = read(path)
    # The release under test: Debian codename, systemd's and Python's versions.
    release = dict(line.split("=", 1) for line in (read("/etc/os-release") or "").splitlines()
                   if "=" in line)
    found = re.match(r"systemd (\d+)", run(["systemctl", "--version"])["stdout"])
    out["versions"] = {"debian": release.get("VERSION_CODENAME", "").strip('"'),
                       "systemd": int(found.group(1)) if found else None,
                       "python": "%d.%d" % sys.version_info[:2]}
    # Scored as loaded by the container's systemd (what runs), not --offline=yes: systemd 247
    # (Debian 11) has no --offline.
    out["security"] = None
    if out["show"].get("LoadState") == "loaded":
        sec = run(["systemd-analyze", "security", UNIT])
        found = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)", sec["stdout"])
        out["security"] = {"rc": sec["rc"], "exposure": float(found.group(1)) if found else None,
                           "verdict": found.group(2) if found else None,
                           "tail": sec["stdout"].splitlines()[-3:], "stderr": sec["stderr"][-500:]}
    # What this systemd says about the installed unit file: directives it does not know, and
    # anything else (bad values, missing binaries).
    out["unit_verify"] = None
    if os.path.isfile(UNIT_PATH):
        ver = run(["systemd-analyze", "verify", UNIT_PATH])
        lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in
                 (ver["stdout"] + ver["stderr"]).splitlines() if line.strip()]
        unknown = [re.search(r"Unknown key name '(\w+)'", line) for line in lines]
        out["unit_verify"] = {"rc": ver["rc"],
                              "unknown_directives": sorted(m.group(1) for m in unknown if m),
                              "other": [line for line, m in zip(lines, unknown) if not m]}
    changed = []
    if os.path.exists(baseline):
        for top, xdev in (("/", True), ("/run", False), ("/tmp", False)):
            found = run(["find", top] + (["-xdev"] if xdev else [])
                        + ["(", "-type", "f", "-o", "-type", "l", "-o", "-type", "s", ")",
                           "-newer", baseline, "-print"])
            changed += [p for p in found["stdout"].splitlines() if not NOISE.search(p)]
    out["changed_since_baseline"] = sorted(set(changed))
    out["check_scratch_dirs"] = sorted(glob.glob("/tmp/netvsc-check.*"))
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
