# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the fleet-level tests: the demo fleet, once, and its report; helpers in harness.py."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.hyperv.netvsc.demo import fleet as demo_fleet
from ansible_collections.hyperv.netvsc.tests.integration.fleet.harness import ROOT, ansible_env, run


@pytest.fixture(scope="session")
def demo_hosts():
    return sorted(demo_fleet.FLEET)


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
