# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Execution environment: execution-environment.yml (schema v3) passes ansible-builder create,
and meta/execution-environment.yml is what ansible-builder introspect reads (empty deps).
Building the image needs a container engine, which this machine does not have."""

from __future__ import annotations

import os
import shutil

import pytest

from ansible_collections.hyperv.netvsc.tests.integration.fleet.harness import ROOT, pinned_tool, run


@pytest.fixture(scope="module")
def builder():
    return pinned_tool("ansible-builder")


def test_create_writes_a_build_context(builder, tmp_path):
    context = tmp_path / "context"
    run([builder, "create", "-f", os.path.join(ROOT, "execution-environment.yml"),
         "-c", str(context), "--output-filename", "Containerfile"], dict(os.environ), cwd=str(tmp_path))
    containerfile = (context / "Containerfile").read_text()
    assert "FROM" in containerfile and "ansible-galaxy" in containerfile
    requirements = (context / "_build" / "requirements.yml").read_text()
    assert "hyperv.netvsc" in requirements


def test_collection_metadata_is_read_and_empty(builder, tmp_path):
    # A copy of the collection with a marker requirement proves introspect reads our files...
    coll = tmp_path / "collections" / "ansible_collections" / "hyperv" / "netvsc"
    (coll / "meta").mkdir(parents=True)
    for name in ("execution-environment.yml", "ee-requirements.txt", "ee-bindep.txt"):
        shutil.copy(os.path.join(ROOT, "meta", name), str(coll / "meta" / name))
    shutil.copy(os.path.join(ROOT, "galaxy.yml"), str(coll / "galaxy.yml"))
    marked = run([builder, "introspect", str(tmp_path / "collections")], dict(os.environ)).stdout
    assert "python: []" in marked and "system: []" in marked
    with open(str(coll / "meta" / "ee-requirements.txt"), "a") as handle:
        handle.write("netvsc-marker-package\n")
    marked = run([builder, "introspect", str(tmp_path / "collections")], dict(os.environ)).stdout
    assert "netvsc-marker-package" in marked and "hyperv.netvsc" in marked
    # ...and the real files declare nothing (comments only).
    for name in ("ee-requirements.txt", "ee-bindep.txt"):
        with open(os.path.join(ROOT, "meta", name)) as handle:
            assert all(not line.strip() or line.startswith("#") for line in handle)
