# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet-level tests: the demo fleet, the report (in real headless Chromium), constructed
groups from the fact cache, ansible-runner and ansible-builder.

Everything is written below pytest's tmp dirs; the checkout is only read. Run through
tests/run/60-fleet.sh, or directly from a venv with ansible-core 2.19 and pytest:
``python -m pytest tests/integration/fleet``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.dirname(sys.executable)


def _load_demo_fleet():
    """demo/fleet.py as module netvsc_demo_fleet (the name `fleet` is this test directory's)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("netvsc_demo_fleet",
                                                  os.path.join(ROOT, "demo", "fleet.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo_fleet = _load_demo_fleet()


def tool(name):
    """An executable of this venv (ansible-playbook, ansible-runner, ...), else from PATH."""
    path = os.path.join(BIN, name)
    return path if os.access(path, os.X_OK) else name


def pinned_tool(name):
    """tool(name) for a tool pinned in tests/requirements.txt; skip when it is not installed."""
    exe = tool(name)
    if not shutil.which(exe) and not os.access(exe, os.X_OK):
        pytest.skip("%s is not installed (it is in tests/requirements.txt)" % name)
    return exe


@pytest.fixture(scope="session")
def demo_hosts():
    return sorted(demo_fleet.FLEET)


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    """A collections path holding this checkout as hyperv.netvsc."""
    parts = ROOT.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "hyperv"] and parts[-1] == "netvsc":
        return os.sep.join(parts[:-3])  # COLLECTION_ROOT from tests/run/all.sh
    path = tmp_path_factory.mktemp("collections")
    (path / "ansible_collections" / "hyperv").mkdir(parents=True)
    os.symlink(ROOT, str(path / "ansible_collections" / "hyperv" / "netvsc"))
    return str(path)


def ansible_env(demo_dir, collections):
    """Environment for ansible-* on a demo fleet built in demo_dir (demo/ansible.cfg)."""
    env = dict(os.environ)
    env.update({
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
        "ANSIBLE_CONFIG": os.path.join(ROOT, "demo", "ansible.cfg"),
        "ANSIBLE_INVENTORY": os.path.join(demo_dir, "inventory"),
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": os.path.join(demo_dir, "facts"),
        "ANSIBLE_COLLECTIONS_PATH": collections,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": os.path.join(demo_dir, ".ansible-tmp"),
    })
    return env


def run(cmd, env, timeout=300, cwd=None, check=True):
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=cwd or ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    proc.seconds = time.monotonic() - start
    if check and proc.returncode != 0:
        raise AssertionError("%s exited %d after %.1fs:\n%s" % (
            " ".join(cmd), proc.returncode, proc.seconds, proc.stdout[-6000:]))
    return proc


@pytest.fixture(scope="session")
def demo(tmp_path_factory, collections_path):
    """`make demo`'s script run once on a fresh fleet: {dir, output, seconds, env}."""
    demo_dir = str(tmp_path_factory.mktemp("demo"))
    env = ansible_env(demo_dir, collections_path)
    env.update({"DEMO_DIR": demo_dir, "DEMO_COLLECTIONS": collections_path, "DEMO_SETUP": "0"})
    proc = run(["bash", os.path.join(ROOT, "demo", "run.sh")], env, timeout=600)
    return {"dir": demo_dir, "output": proc.stdout, "seconds": proc.seconds,
            "env": ansible_env(demo_dir, collections_path)}


@pytest.fixture(scope="session")
def report(demo):
    """The report of the demo fleet: {dir, data (report.json)}."""
    out = os.path.join(demo["dir"], "report")
    with open(os.path.join(out, "report.json")) as handle:
        data = json.load(handle)
    return {"dir": out, "data": data}
