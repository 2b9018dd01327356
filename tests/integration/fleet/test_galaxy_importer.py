# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The built artifact passes Galaxy's import: `ansible-galaxy collection build`, then
galaxy-importer (`python -m galaxy_importer.main ARTIFACT`) on the tarball, which runs
ansible-doc on every plugin, ansible-lint with the production profile and the changelog
check, configured by galaxy-importer.cfg beside this file. Its ansible-test sanity step is
off: it needs a container engine, and the sanity-* sessions run sanity.

galaxy-importer pins its own ansible-core and ansible-lint, so it runs from a venv of its own,
$GALAXY_IMPORTER_VENV (the fleet session makes it from tests/requirements/galaxy-importer.txt);
the build uses this venv's ansible-galaxy."""

from __future__ import annotations

import json
import os
import tarfile

import pytest
import yaml

from ansible_collections.hyperv.netvsc.tests.integration.fleet.harness import ROOT, run, tool

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "galaxy-importer.cfg")
# Where galaxy-importer looks for a changelog (loaders/collection.py).
CHANGELOG_PATHS = ("CHANGELOG.rst", "CHANGELOG.md", "docs/CHANGELOG.md", "docs/CHANGELOG.rst",
                   "changelogs/changelog.yaml", "changelogs/changelog.yml")


def _galaxy_yml():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """The tarball `ansible-galaxy collection build` makes of the checkout, and its members."""
    out = tmp_path_factory.mktemp("artifact")
    run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), ROOT],
        dict(os.environ), cwd=str(out))
    meta = _galaxy_yml()
    path = out / ("%s-%s-%s.tar.gz" % (meta["namespace"], meta["name"], meta["version"]))
    assert path.is_file(), sorted(os.listdir(str(out)))
    with tarfile.open(str(path)) as tar:
        members = set(tar.getnames())
    return {"path": str(path), "members": members}


@pytest.fixture(scope="module")
def imported(artifact, tmp_path_factory):
    """galaxy-importer's run on the artifact: {proc, lines, result (importer_result.json)}."""
    venv = os.environ.get("GALAXY_IMPORTER_VENV", "")
    python = os.path.join(venv, "bin", "python")
    if not venv or not os.access(python, os.X_OK):
        pytest.skip("no galaxy-importer venv ($GALAXY_IMPORTER_VENV; the fleet session makes it)")
    work = tmp_path_factory.mktemp("galaxy-importer")
    for name in ("home", "tmp", "ansible-tmp"):
        (work / name).mkdir()
    # Nothing of this venv or of the caller's Ansible settings leaks in: the importer finds
    # ansible-doc and ansible-lint on PATH, so its venv's bin/ comes first.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANSIBLE_", "GALAXY_IMPORTER_", "PYTHON")) and k != "VIRTUAL_ENV"}
    env.update({
        "PATH": os.path.join(venv, "bin") + os.pathsep + env.get("PATH", ""),
        "VIRTUAL_ENV": venv,
        "HOME": str(work / "home"),  # ansible-lint's and ansible-compat's caches
        "GALAXY_IMPORTER_CONFIG": CONFIG,
        "GALAXY_IMPORTER_TMP_ROOT_DIR": str(work / "tmp"),
        "GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP": str(work / "ansible-tmp"),
    })
    # It writes importer_result.json into its working directory.
    proc = run([python, "-m", "galaxy_importer.main", artifact["path"]], env, timeout=600,
               cwd=str(work), check=False)
    result_file = work / "importer_result.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else None
    return {"proc": proc, "lines": proc.stdout.splitlines(), "result": result}


def _allowed_warnings(artifact):
    """Importer warnings that are expected now, each only while its reason holds."""
    allowed = []
    if not any(path in artifact["members"] for path in CHANGELOG_PATHS):
        # Until the first `antsibull-changelog release` there are only changelogs/fragments/
        # (no changelogs/changelog.yaml, no CHANGELOG.rst).
        allowed.append("WARNING: No changelog found.")
    return allowed


def test_import_passes_with_no_errors_and_no_lint_findings(imported, artifact):
    proc, lines = imported["proc"], imported["lines"]
    output = "\n".join(lines)
    assert proc.returncode == 0, output
    assert "Importer processing completed successfully" in lines, output
    assert imported["result"] is not None, output
    # Each step ran (a step whose tool is missing only logs a warning and is skipped).
    assert any(line.startswith("Importing with galaxy-importer ") for line in lines), output
    assert "Getting doc strings via ansible-doc" in lines, output
    assert any(line.startswith("Linting collection via ansible-lint ") for line in lines), output
    assert "...ansible-lint run complete" in lines, output
    errors = [line for line in lines if line.startswith(("ERROR", "CRITICAL")) or "Traceback" in line]
    assert errors == [], output
    # Every other warning fails: ansible-lint's findings, a sanity ignore file, a tool missing.
    allowed = _allowed_warnings(artifact)
    warnings = [line for line in lines if line.startswith("WARNING")
                and not any(line.startswith(prefix) for prefix in allowed)]
    assert warnings == [], output


def test_import_result_describes_the_collection(imported):
    data = imported["result"]
    if data is None:
        pytest.fail("no importer_result.json:\n" + imported["proc"].stdout[-6000:])
    meta = _galaxy_yml()
    assert (data["metadata"]["namespace"], data["metadata"]["name"], data["metadata"]["version"]) \
        == (meta["namespace"], meta["name"], meta["version"])
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        assert data["requires_ansible"] == yaml.safe_load(handle)["requires_ansible"]
    found = {(c["content_type"], c["name"]) for c in data["contents"]}
    modules = {name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
               if name.endswith(".py") and name != "__init__.py"}
    assert {name for kind, name in found if kind == "module"} == modules
    assert {name for kind, name in found if kind == "role"} == set(os.listdir(os.path.join(ROOT, "roles")))
    # ansible-doc read every module's documentation.
    docs = {c["content_name"]: c for c in data["docs_blob"]["contents"] if c["content_type"] == "module"}
    assert set(docs) == modules
    assert all(docs[name].get("doc_strings") for name in modules), sorted(docs)
    assert data["docs_blob"]["collection_readme"]["html"]
