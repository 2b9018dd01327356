# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo's site.yml and report.yml through ansible-runner (what AWX/AAP job templates use),
with a private data dir: status successful, the report written, runner's fact cache filled."""

from __future__ import annotations

import glob
import json
import os
import shutil

import pytest

from ansible_collections.hyperv.netvsc.demo import fleet as demo_fleet
from ansible_collections.hyperv.netvsc.tests.integration.fleet.harness import pinned_tool, run

# A slice of the demo fleet keeps the stage short: two managed hosts (one with a VF away),
# one observed MANA host, one non-Hyper-V host.
LIMIT = ["az-cx5-01", "az-servicing-01", "az-mana-01", "kvm-01"]

PLAYBOOK = """---
- name: Deploy
  ansible.builtin.import_playbook: hyperv.netvsc.site
- name: Report
  ansible.builtin.import_playbook: hyperv.netvsc.report
"""


@pytest.fixture(scope="module")
def runner():
    return pinned_tool("ansible-runner")


def test_site_and_report_through_ansible_runner(runner, tmp_path, collections_path):
    fleet = tmp_path / "fleet"
    demo_fleet.build_fleet(str(fleet))
    pdd = tmp_path / "pdd"
    (pdd / "project").mkdir(parents=True)
    (pdd / "project" / "demo.yml").write_text(PLAYBOOK)
    shutil.copytree(str(fleet / "inventory"), str(pdd / "inventory"))
    (pdd / "env").mkdir()
    report_dir = tmp_path / "report"
    (pdd / "env" / "extravars").write_text(json.dumps({"netvsc_report_dir": str(report_dir)}))
    (pdd / "env" / "envvars").write_text(json.dumps({
        "ANSIBLE_COLLECTIONS_PATH": collections_path,
        "ANSIBLE_INJECT_FACT_VARS": "False",
        "ANSIBLE_NOCOLOR": "1",
    }))
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(runner) + os.pathsep + env.get("PATH", "")
    proc = run([runner, "run", str(pdd), "-p", "demo.yml", "--ident", "fleet",
                "--limit", ",".join(LIMIT)], env, timeout=600, check=False)
    artifacts = pdd / "artifacts" / "fleet"
    status = (artifacts / "status").read_text().strip()
    assert status == "successful", proc.stdout[-6000:]
    assert (artifacts / "rc").read_text().strip() == "0"

    for name in ("report.html", "report.json", "report.csv"):
        assert (report_dir / name).stat().st_size > 0
    data = json.loads((report_dir / "report.json").read_text())
    assert sorted(set(r["host"] for r in data["rows"])) == sorted(LIMIT)
    servicing = [r for r in data["rows"] if r["host"] == "az-servicing-01" and r["netvsc"] == "eth1"]
    assert servicing[0]["severity"] == 0 and servicing[0]["monitor"] == "one-shot"

    # Runner (like AWX with use_fact_cache) points the jsonfile fact cache at the artifacts.
    cached = glob.glob(str(artifacts / "fact_cache" / "*az-cx5-01"))
    assert cached, os.listdir(str(artifacts))
    with open(cached[0]) as handle:
        stored = json.load(handle)
    stored = json.loads(stored["__payload__"]) if "__payload__" in stored else stored
    assert stored["netvsc"]["interfaces"]["eth1"]["vf"]["name"] == "enP41635s2"

    events = [json.load(open(p)) for p in glob.glob(str(artifacts / "job_events" / "*.json"))]
    assert any(e.get("event") == "playbook_on_stats" for e in events)
    assert not [e for e in events if e.get("event") == "runner_on_failed"
                and not e.get("event_data", {}).get("ignore_errors")]
