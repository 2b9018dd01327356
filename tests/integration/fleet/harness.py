# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet-level tests: the demo fleet, the report (in real headless Chromium), constructed
groups from the fact cache, ansible-runner and ansible-builder.

Everything is written below pytest's tmp dirs; the checkout is only read. The fixtures are in
conftest.py next to this file; nox runs these tests in session ``fleet`` (noxfile.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.dirname(sys.executable)


def tool(name):
    """An executable of this venv (ansible-playbook, ansible-runner, ...), else from PATH."""
    path = os.path.join(BIN, name)
    return path if os.access(path, os.X_OK) else name


def pinned_tool(name):
    """tool(name) for a tool pinned in tests/requirements/tools.in; skip when it is not installed."""
    exe = tool(name)
    if not shutil.which(exe) and not os.access(exe, os.X_OK):
        pytest.skip("%s is not installed (it is in tests/requirements/tools.in)" % name)
    return exe


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
