# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test sessions of hyperv.netvsc. ``make test`` runs them all (README, "Tests").

    make test                                 every session, then "summary: N passed, N failed"
    make test STAGES="units role-2.21"        sessions by tag (stage, ansible-core version) or name
    .nox/nox/bin/nox -l                       the sessions and their tags

A session is one stage on one ansible-core version (``units-2.17``) or one stage that needs
root (``monitor``, ``dpdk``, ``nspawn``, ``molecule``). Sessions share the virtualenvs below
``.nox/venvs/`` (``NETVSC_VENV_DIR`` moves them): one per pinned lock file in
tests/requirements/, made from a suitable Python found on PATH or in pyenv, rebuilt only when
the lock file changes. Sessions install the Debian packages they need with apt-get.

pytest runs the tests directly (tests/conftest.py sets the import path); ansible-test runs in
a copy of the checkout at ``/tmp/hyperv-netvsc-trees-*/<session>/ansible_collections/hyperv/netvsc``
(collection_tree()). Every session fails on an Ansible deprecation warning (``ANSIBLE_LOG_PATH`` is read
afterwards) and on a Python DeprecationWarning (tests/conftest.py); tests that cannot run in a
session fail instead of skipping (``NETVSC_TESTS_STRICT=1``).

Plain nox, not antsibull-nox: antsibull-nox's ansible-test sessions (sanity, units,
integration) always pass ``--docker`` and this machine has no container engine; its lint,
docs-check and build-import-check sessions would run, but duplicate ``lint`` and ``fleet``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
NOX_DIR = ROOT / ".nox"
VENVS = Path(os.environ.get("NETVSC_VENV_DIR") or NOX_DIR / "venvs")
LOCKS = ROOT / "tests" / "requirements"
LOGS = ROOT / "build" / "test-logs"
# Copies of the checkout for ansible-test: outside any git work tree, or ansible-test would
# list the copy's files with git (and find none: the copy is ignored).
TREES = Path(tempfile.gettempdir()) / ("hyperv-netvsc-trees-" + hashlib.sha256(bytes(ROOT)).hexdigest()[:8])

nox.options.default_venv_backend = "none"  # sessions use the shared venvs of Venv below
nox.options.error_on_external_run = False

# ansible-core version -> (lock file of its venv, controller Pythons in order of preference).
# 2.19 shares the tool venv (ansible-lint, molecule, antsibull-*): that venv pins 2.19.
CORES = {
    "2.17": ("core-2.17", ("3.11", "3.12", "3.10")),
    "2.19": ("tools", ("3.11", "3.12", "3.13")),
    "2.21": ("core-2.21", ("3.13", "3.12")),
}
VENV_PYTHONS = dict(CORES.values())
VENV_PYTHONS["galaxy-importer"] = CORES["2.19"][1]
# Units also run on the oldest target Python of the oldest and the newest core (module_utils:
# Python >= 3.8; 2.20+ targets start at 3.9). 2.19 on 3.8 is left to sanity's compile and
# import tests: one run fewer keeps make test under its 45 minutes on 2 cores.
OLDEST_TARGET = {"2.17": "3.8", "2.21": "3.9"}
# Molecule's nsenter connection: community.docker (and its dependency) taken from this
# `ansible` wheel, because Galaxy is not reachable here; ansible 12.x pairs with core 2.19.
ANSIBLE_WHEEL = "ansible==12.3.0"
COLLECTIONS_CACHE = Path("/var/cache/hyperv-netvsc/collections")


# ------------------------------------------------------------------------------- Pythons

def _usable(python):
    """True when python runs and can make a venv with pip (pyenv's shims of inactive
    versions exist but fail; Debian's python3 needs python3-venv for ensurepip)."""
    try:
        return subprocess.run([str(python), "-c", "import ensurepip, venv"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=30, check=False).returncode == 0
    except OSError:
        return False


def _find_pythons():
    """{"3.X": path} for CPython 3.8-3.14: pyenv's versions first (real binaries, newest
    patch), then PATH without pyenv's shims."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if not p.rstrip("/").endswith("/shims"))
    found = {}
    for minor in range(8, 15):
        version = "3.%d" % minor
        candidates = sorted(pyenv.glob("%s.*/bin/python%s" % (version, version)),
                            key=lambda p: [int(n) for n in re.findall(r"\d+", p.parts[-3])], reverse=True)
        candidates.append(shutil.which("python" + version, path=path))
        for candidate in candidates:
            if candidate and _usable(candidate):
                found[version] = str(candidate)
                break
    return found


PYTHONS = _find_pythons()
PYTHONS_DIR = NOX_DIR / "pythons"  # pythonX.Y links, first on PATH: ansible-test looks there


def _link_pythons():
    """PYTHONS_DIR/pythonX.Y -> each Python found; replaced atomically (runs may overlap)."""
    PYTHONS_DIR.mkdir(parents=True, exist_ok=True)
    for version, path in PYTHONS.items():
        link = PYTHONS_DIR / ("python" + version)
        if not link.is_symlink() or os.readlink(str(link)) != path:
            temporary = link.with_name("%s.%d" % (link.name, os.getpid()))
            temporary.symlink_to(path)
            temporary.replace(link)


def pick_python(candidates):
    """The first of the candidate versions found on this machine, as (version, path), or None."""
    for version in candidates:
        if version in PYTHONS:
            return version, PYTHONS[version]
    return None


# ------------------------------------------------------------------------------- Debian packages

_APT_UPDATED = []


def ensure_debs(session, *packages):
    """apt-get install the Debian packages that are not installed yet (as root or via sudo)."""
    missing = [p for p in packages if subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", p], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, universal_newlines=True, check=False).stdout != "installed"]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    apt = sudo + ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-o", "DPkg::Lock::Timeout=300"]
    if not _APT_UPDATED:
        session.run_install(*apt, "update", "-qq", external=True)
        _APT_UPDATED.append(True)
    session.run_install(*apt, "install", "-y", "-q", "--no-install-recommends", *missing, external=True)


# ------------------------------------------------------------------------------- venvs

@contextlib.contextmanager
def _locked(path):
    """An exclusive lock on path (several worktrees may share NETVSC_VENV_DIR)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class Venv:
    """A shared virtualenv made from tests/requirements/<name>.txt."""

    def __init__(self, session, name):
        self.session = session
        self.name = name
        self.path = VENVS / name
        self.bin = self.path / "bin"
        picked = pick_python(VENV_PYTHONS[name])
        if picked is None:
            session.skip("venv %s needs Python %s; found only %s (pyenv install one, README 'Tests')"
                         % (name, " or ".join(VENV_PYTHONS[name]), ", ".join(PYTHONS) or "none"))
        self.version, python = picked
        lock = LOCKS / (name + ".txt")
        stamp = hashlib.sha256(lock.read_bytes() + python.encode()).hexdigest()
        with _locked(VENVS / (name + ".lock")):
            marker = self.path / ".netvsc-stamp"
            if not marker.is_file() or marker.read_text() != stamp:
                session.log("venv %s: Python %s, %s" % (name, self.version, lock.relative_to(ROOT)))
                shutil.rmtree(self.path, ignore_errors=True)
                session.run_install(python, "-m", "venv", str(self.path), external=True)
                self.pip("install", "-q", "-r", str(lock))
                marker.write_text(stamp)

    def pip(self, *args):
        self.session.run_install(str(self.bin / "python"), "-m", "pip", "--disable-pip-version-check",
                                 *args, external=True)

    def env(self, **extra):
        """Environment for the venv's tools: its bin/ and the Pythons first on PATH."""
        path = [str(self.bin), str(PYTHONS_DIR), os.environ.get("PATH", "")]
        env = {"PATH": os.pathsep.join(path), "VIRTUAL_ENV": str(self.path)}
        env.update(extra)
        return env

    def run(self, program, *args, env=None, **kwargs):
        """Run the venv's program (or a program on PATH) with env()."""
        exe = self.bin / program
        self.session.run(str(exe) if exe.exists() else program, *args,
                         env=self.env(**(env or {})), external=True, **kwargs)


# ------------------------------------------------------------------------------- helpers

def collection_tree(session):
    """A fresh copy of the checkout at TREES/<session>/ansible_collections/hyperv/netvsc, where
    ansible-test needs it (it resolves symlinks, so a link would not do): the files git tracks
    or would track (not ignored), or, outside git, everything but build output."""
    tree = TREES / session.name / "ansible_collections" / "hyperv" / "netvsc"
    shutil.rmtree(tree.parents[2], ignore_errors=True)
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                check=True).stdout.decode().split("\0")
        names = [name for name in listed if name and os.path.lexists(ROOT / name)]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".nox", ".venv", "build", "output", "__pycache__"}
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                 if not p.is_dir() and not skip.intersection(p.relative_to(ROOT).parts)]
    for name in names:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(str(ROOT / name), str(tree / name), follow_symlinks=False)
    return tree


# ansible-test makes its venvs without pip and bootstraps pip with get-pip.py from
# ci-files.testing.ansible.com, which is not reachable here. This stand-in does the same from
# wheels downloaded from PyPI into ansible-test's cache (see ansible_test_home()).
GET_PIP = '''"""Offline stand-in for ansible-test's get-pip bootstrap (written by noxfile.py)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "%(wheel)s"))
from pip._internal.cli.main import main  # noqa: E402

ARGS = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel", "--no-pip")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--no-index", "--find-links", HERE] + ARGS))
'''


def ansible_test_home(venv):
    """HOME for ansible-test (its venvs and caches stay in our venv), with the pip bootstrap
    seeded: the packages ansible-test pins for its venvs (pip, and setuptools/wheel before
    2.18) as wheels, and the stand-in script."""
    home = venv.path / "ansible-test-home"
    cache = home / ".ansible" / "test" / "cache"
    source = next(venv.path.glob("lib/python*/site-packages/ansible_test/_internal/python_requirements.py"))
    block = re.search(r"default_packages = dict\((.*?)\)", source.read_text(), re.S).group(1)
    packages = dict(re.findall(r"(\w+)='([^']+)'", block))
    wheels = {name: "%s-%s-py3-none-any.whl" % (name, version) for name, version in packages.items()}
    missing = ["%s==%s" % (name, packages[name]) for name, wheel in wheels.items() if not (cache / wheel).is_file()]
    if missing:
        cache.mkdir(parents=True, exist_ok=True)
        venv.pip("download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(cache), *missing)
    script = cache / ("get_pip_%s.py" % packages["pip"].replace(".", "_"))
    script.write_text(GET_PIP % {"wheel": wheels["pip"]})
    return home


def ansible_test(session, core, *args, env=None, write=None):
    """ansible-test ARGS with ansible-core CORE, in a fresh collection tree; write: {relative
    path: text} added to the tree first ("{tree}" in the text stands for its path)."""
    venv = Venv(session, CORES[core][0])
    _link_pythons()
    home = ansible_test_home(venv)
    tree = collection_tree(session)
    for relative, text in (write or {}).items():
        (tree / relative).write_text(text.format(tree=tree))
    extra = {"HOME": str(home), "PIP_CACHE_DIR": str(Path.home() / ".cache" / "pip")}
    extra.update(env or {})
    with session.chdir(str(tree)):
        venv.run("ansible-test", *args, "--color", "no", env=extra)
    return venv, tree


@contextlib.contextmanager
def ansible_log(session, core):
    """ANSIBLE_LOG_PATH for the session; afterwards, fail on any deprecation warning in it."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / ("%s.ansible.log" % session.name)
    if log.exists():
        log.unlink()
    # deprecation_warnings=False in an ansible.cfg (demo/ansible.cfg) must not hide them here
    yield {"ANSIBLE_LOG_PATH": str(log), "ANSIBLE_DEPRECATION_WARNINGS": "True"}
    if not log.is_file():
        session.error("no Ansible log at %s: cannot check for deprecation warnings" % log)
    found = sorted({line.split("|", 1)[-1].strip() for line in log.read_text(errors="replace").splitlines()
                    if "DEPRECATION WARNING" in line})
    if found:
        session.error("ansible-core %s printed %d deprecation warning(s):\n%s" % (core, len(found), "\n".join(found)))
    session.log("no deprecation warning from ansible-core %s (%s)" % (core, log.relative_to(ROOT)))


def pytest(session, venv, *args, env=None):
    """pytest from the checkout (tests/conftest.py sets the import path), strict about skips."""
    extra = {"NETVSC_TESTS_STRICT": "1"}
    extra.update(env or {})
    with session.chdir(str(ROOT)):
        venv.run("python", "-m", "pytest", "-p", "no:cacheprovider", "-ra",
                 "-o", "console_output_style=classic", *args, *session.posargs, env=extra)


def need_root(session):
    if os.geteuid() != 0:
        session.skip("needs root (network namespaces, systemd-nspawn, udev)")


def session(name, tags, **kwargs):
    """nox.session, tagged with its stage, its ansible-core version (if any) and its own name,
    so that `make test STAGES=...` can name any of them."""
    return nox.session(name=name, tags=sorted(set(tags) | {name}), **kwargs)


# ------------------------------------------------------------------------------- sessions

@session("lint", ["lint", "sanity"])
def lint(s):
    """ansible-lint (production), antsibull-changelog lint, antsibull-docs lint, docs/reference current."""
    venv = Venv(s, "tools")
    tree = collection_tree(s)
    with s.chdir(str(tree)):
        venv.run("ansible-lint", "--profile", "production", "--nocolor", "roles/", "playbooks/")
        venv.run("antsibull-changelog", "lint")
        venv.run("antsibull-docs", "lint-collection-docs", "--plugin-docs", "--skip-rstcheck",
                 "--validate-collection-refs=all", "--disallow-unknown-collection-refs", ".")
        fresh = tree.parents[3] / "reference"
        venv.run("bash", "docs/reference.sh", str(fresh), env={"ANSIBLE_COLLECTIONS_PATH": str(tree.parents[2])})
        venv.run("diff", "-r", "docs/reference", str(fresh))  # stale: run `make docs`


def _sanity(core):
    @session("sanity-" + core, ["sanity", core])
    def sanity(s):
        """ansible-test sanity (empty tests/sanity/ignore-X.Y.txt), every target Python found."""
        ensure_debs(s, "shellcheck")
        ansible_test(s, core, "sanity")


def _units(core):
    @session("units-" + core, ["units", core])
    def units(s):
        """ansible-test units on the controller Python (and the oldest target Python: OLDEST_TARGET)."""
        venv = Venv(s, CORES[core][0])
        ansible_test(s, core, "units", "--local", "--python", venv.version)
        oldest = OLDEST_TARGET.get(core)
        if oldest in PYTHONS:
            ansible_test(s, core, "units", "--venv", "--python", oldest)
        elif oldest:
            s.log("units: no Python %s here, only the controller's ran" % oldest)


def _integration(core):
    @session("integration-" + core, ["integration", core])
    def integration(s):
        """ansible-test integration targets (fixture sysfs trees, temp dirs), locally.

        ansible-test turns deprecation warnings off here (ANSIBLE_DEPRECATION_WARNINGS=false);
        the role sessions run the same modules with them on, and run_module() in the unit
        tests fails on any deprecation a module reports."""
        venv = Venv(s, CORES[core][0])
        # ansible-test copies only the targets: they find the fixture builder through this.
        config = {"tests/integration/integration_config.yml": "netvsc_fixtures: {tree}/tests/fixtures\n"}
        ansible_test(s, core, "integration", "--local", "--python", venv.version, "-v",
                     env={"ANSIBLE_INJECT_FACT_VARS": "false"}, write=config)


def _role(core):
    @session("role-" + core, ["role", core])
    def role(s):
        """roles/failsafe and the playbooks on simulated hosts (tests/integration/role)."""
        venv = Venv(s, CORES[core][0])
        with ansible_log(s, core) as env:
            pytest(s, venv, "tests/integration/role", env=env)


for _add in (_sanity, _units, _integration, _role):
    for _core in CORES:
        _add(_core)


def root_pytest(session, debs, *args, env=None):
    """pytest ARGS with the tool venv, as root, once the Debian packages DEBS are installed."""
    need_root(session)
    ensure_debs(session, *debs)
    pytest(session, Venv(session, "tools"), *args, env=env)


@session("monitor", ["monitor", "root"])
def monitor(s):
    """The monitor for real: uevents in netns, faults, its unit (systemd-analyze), its udev rule."""
    LOGS.mkdir(parents=True, exist_ok=True)
    report = LOGS / "monitor-figures.jsonl"
    report.write_text("")
    root_pytest(s, ("iproute2", "systemd", "udev", "util-linux", "dpdk-dev", "librte-net-failsafe23"),
                "-m", "not nspawn", "tests/integration/monitor", env={"MONITOR_REPORT": str(report)})
    s.log("measured: %s" % " ".join(report.read_text().split()))


@session("guard", ["guard", "root"])
def guard(s):
    """The management guard on the real kernel and a real sshd in network namespaces."""
    root_pytest(s, ("iproute2", "openssh-server", "openssh-client"), "tests/integration/guard")


@session("dpdk", ["dpdk", "root"])
def dpdk(s):
    """Real DPDK 22.11 (host) and 24.11 (Debian 13 root) on the rendered EAL arguments, in netns.

    24.11 runs inside the cached trixie root (tests/molecule/build-root.sh, debootstrap on
    first use)."""
    # gcc, pkg-config: test_port_names.py compiles docs/modes.md's C example against DPDK.
    root_pytest(s, ("iproute2", "dpdk-dev", "librte-net-failsafe23", "debootstrap", "gcc", "pkg-config"),
                "-m", "not nspawn", "tests/integration/dpdk")


@session("nspawn", ["nspawn", "root"])
def nspawn(s):
    """Every test marked nspawn: real systemd in containers of cached Debian 11, 12 and 13 roots.

    The EAL EnvironmentFile round trip; networkd and NetworkManager as consumers."""
    root_pytest(s, ("iproute2", "debootstrap", "systemd-container"), "-m", "nspawn", "tests/integration")


def molecule_collections(session, venv):
    """community.docker (nsenter connection) and its dependency, out of the ansible wheel,
    cached in /var/cache/hyperv-netvsc/collections/<wheel>."""
    dest = COLLECTIONS_CACHE / ANSIBLE_WHEEL.replace("==", "-")
    if (dest / "ansible_collections" / "community" / "docker" / "MANIFEST.json").is_file():
        return dest
    with _locked(COLLECTIONS_CACHE / ".lock"), tempfile.TemporaryDirectory() as download:
        venv.pip("download", "-q", "--no-deps", "-d", download, ANSIBLE_WHEEL)
        (wheel,) = Path(download).glob("ansible-*.whl")
        keep = ("ansible_collections/community/docker/",
                "ansible_collections/community/library_inventory_filtering_v1/")
        staging = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        with zipfile.ZipFile(str(wheel)) as archive:
            archive.extractall(str(staging), [m for m in archive.namelist() if m.startswith(keep)])
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)
    return dest


@session("molecule", ["molecule", "root"])
def molecule(s):
    """Molecule scenarios (extensions/molecule/) in systemd-nspawn containers; -- ARGS: molecule's."""
    need_root(s)
    venv = Venv(s, "tools")
    collections = molecule_collections(s, venv)
    tree = collection_tree(s)
    with ansible_log(s, "2.19") as env:
        env.update({"ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (tree.parents[2], collections),
                    "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0"})
        with s.chdir(str(tree)):
            venv.run("molecule", *(s.posargs or ["test", "--all"]), env=env)


@session("fleet", ["fleet"])
def fleet(s):
    """The demo fleet, the report in headless Chromium, inventory groups, ansible-runner,
    ansible-builder, and the built artifact through galaxy-importer."""
    ensure_debs(s, "chromium")
    venv = Venv(s, "tools")
    importer = Venv(s, "galaxy-importer")
    with ansible_log(s, "2.19") as env:
        env.update({"GALAXY_IMPORTER_VENV": str(importer.path), "FLEET_ARTIFACTS": str(LOGS / "fleet")})
        pytest(s, venv, "--durations=10", "tests/integration/fleet", env=env)


@session("lock", ["lock"], default=False)
def lock(s):
    """Regenerate every tests/requirements/*.txt from its .in (pip freeze of a fresh venv)."""
    for source in sorted(LOCKS.glob("*.in")):
        picked = pick_python(VENV_PYTHONS.get(source.stem, ("3.11",)))
        if picked is None:
            s.error("no Python for %s" % source.name)
        with tempfile.TemporaryDirectory() as scratch:
            s.run(picked[1], "-m", "venv", scratch, external=True)
            pip = [scratch + "/bin/python", "-m", "pip", "--disable-pip-version-check"]
            s.run(*pip, "install", "-q", "-r", str(source), external=True)
            frozen = s.run(*pip, "freeze", "--all", "--exclude", "pip", "--exclude", "setuptools",
                           external=True, silent=True)
        header = "# Generated by `nox -s lock` from %s (Python %s); do not edit.\n" % (source.name, picked[0])
        source.with_suffix(".txt").write_text(header + frozen)


@session("venvs", ["venvs"], default=False)
def venvs(s):
    """Create or update every venv for which this machine has a Python (`make venv`)."""
    for name, pythons in VENV_PYTHONS.items():
        if pick_python(pythons):
            Venv(s, name)
        else:
            s.log("venv %s: no Python %s here" % (name, " or ".join(pythons)))


def summary(report_path):
    """The closing lines of `make test`: one line per session, then "N passed, N failed"."""
    try:
        with open(report_path) as handle:
            sessions = json.load(handle)["sessions"]
    except (OSError, ValueError) as exc:
        print("no session report (%s)\nsummary: 0 passed, 1 failed" % exc)
        return 1
    counts = {"success": 0, "failed": 0, "skipped": 0}
    print("\n%-18s %-8s %8s" % ("session", "result", "time"))
    for entry in sessions:
        status = entry["result"] if entry["result"] in counts else "failed"
        counts[status] += 1
        row = (entry["name"], status, entry.get("duration") or 0, entry.get("reason") or "")
        print("%-18s %-8s %7.0fs %s" % row)
    line = "summary: %d passed, %d failed" % (counts["success"], counts["failed"])
    print(line + (", %d skipped" % counts["skipped"] if counts["skipped"] else ""))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(summary(sys.argv[1]))
