# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest configuration of every test of hyperv.netvsc, and the one place that sets the
import path.

Import path: tests import the collection as ``ansible_collections.hyperv.netvsc...`` (plugins,
module_utils, ``tests.fixtures``). When the checkout already sits at
``.../ansible_collections/hyperv/netvsc`` (ansible-test's copy), that tree's root is used;
otherwise the checkout is linked as ``build/collections/ansible_collections/hyperv/netvsc``
(the link ``make demo`` and ``make docs`` use too). That root goes first on sys.path, once,
is the ``collections_path`` fixture for tests that run ansible-playbook, and is where
Ansible's collection loader finds ``hyperv.netvsc.*`` by name (``lookup_loader.get(...)``),
as ansible-test's pytest plugin arranges under ``ansible-test units``. As there, tests of
modules and of controller plugins belong in separate pytest runs: once a process imports
controller code (a lookup plugin), ansible-core sends module warnings to the display instead
of the module result. ``ansible-test units`` (the ``units-*`` sessions) splits them itself.

Markers, for what a test needs from this machine (noxfile.py selects sessions by them):

* ``root``: root privileges (network namespaces, mounts, udev, systemd);
* ``nspawn``: a systemd-nspawn container booted from a cached Debian root;
* ``dpdk``: ``dpdk-testpmd``.

A marked test whose needs are missing is skipped, or fails when ``NETVSC_TESTS_STRICT=1``:
the nox sessions set it, so that a CI run cannot pass by skipping what it was meant to run.
DeprecationWarning and PendingDeprecationWarning are errors (issue 14: zero deprecations).

Shared test doubles: ``fake_commands`` (tests/fixtures/commands.py) and ``netns``
(tests/fixtures/netns.py).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collections_root():
    """The directory holding ``ansible_collections/hyperv/netvsc`` for this checkout."""
    parent, names = REPO, []
    for _level in range(3):
        parent, name = os.path.split(parent)
        names.insert(0, name)
    if names == ["ansible_collections", "hyperv", "netvsc"]:
        return parent
    root = os.path.join(REPO, "build", "collections")
    link = os.path.join(root, "ansible_collections", "hyperv", "netvsc")
    if os.path.realpath(link) != os.path.realpath(REPO):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        temporary = "%s.%d" % (link, os.getpid())
        os.symlink(REPO, temporary)
        os.replace(temporary, link)  # atomic: parallel test runs may race here
    return root


def _install_collection_finder():
    """Ansible's collection finder on COLLECTIONS, as ansible-test's pytest plugin installs it
    (it imports no controller code). Installed before any conftest imports the collection:
    a package imported without it lacks the metadata the finder needs for its submodules.
    Under ansible-test the plugin installs its own later, for the same tree."""
    try:
        from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    except ImportError:  # no ansible-core here: tests of plain module_utils still run
        return
    _AnsibleCollectionFinder(paths=[COLLECTIONS])._install()  # pylint: disable=protected-access


COLLECTIONS = _collections_root()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
_install_collection_finder()

STRICT = os.environ.get("NETVSC_TESTS_STRICT") == "1"
MARKERS = {
    "root": "needs root (network namespaces, mounts, udev, systemd)",
    "nspawn": "boots a systemd-nspawn container from a cached Debian root (needs root)",
    "dpdk": "runs dpdk-testpmd (needs root)",
}


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", "%s: %s" % (name, text))
    for category in ("DeprecationWarning", "PendingDeprecationWarning"):
        config.addinivalue_line("filterwarnings", "error::" + category)


def require(ok, reason):
    """Skip the running test unless ok; under NETVSC_TESTS_STRICT=1 fail instead."""
    if not ok:
        if STRICT:
            pytest.fail("%s (NETVSC_TESTS_STRICT=1: a session must not skip)" % reason)
        pytest.skip(reason)


def pytest_runtest_setup(item):
    markers = {mark.name for mark in item.iter_markers()}
    if markers & set(MARKERS):
        require(os.geteuid() == 0, "needs root")
    if "nspawn" in markers:
        require(shutil.which("systemd-nspawn") is not None, "needs systemd-nspawn (systemd-container)")
    if "dpdk" in markers:
        require(shutil.which("dpdk-testpmd") is not None, "needs dpdk-testpmd (dpdk-dev)")


@pytest.fixture(scope="session")
def collections_path():
    """A collections path that holds this checkout as hyperv.netvsc."""
    return COLLECTIONS


@pytest.fixture
def netns():
    """A throw-away network namespace (tests/fixtures/netns.py), removed afterwards."""
    require(os.geteuid() == 0 and shutil.which("ip") is not None, "needs root and iproute2")
    from ansible_collections.hyperv.netvsc.tests.fixtures.netns import Netns
    namespace = Netns()
    try:
        yield namespace
    finally:
        namespace.close()


@pytest.fixture
def fake_commands(monkeypatch):
    """AnsibleModule.run_command/get_bin_path replaced by a recorder (tests/fixtures/commands.py)."""
    from ansible.module_utils import basic
    from ansible_collections.hyperv.netvsc.tests.fixtures.commands import FakeCommands
    commands = FakeCommands()
    # Bound methods of the fake are not descriptors: the AnsibleModule instance is not passed.
    monkeypatch.setattr(basic.AnsibleModule, "run_command", commands.run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", commands.get_bin_path)
    return commands
