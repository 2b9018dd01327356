# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netvsc_files through the real AnsibleModule entry point, in a sandbox root."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.modules import netvsc_files
from ansible_collections.hyperv.netvsc.tests.unit.plugins.modules.utils import run_module


def run(capsys, args, check_mode=False, diff=False):
    return run_module(netvsc_files, capsys, args, check_mode, diff)


def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def box(tmp_path):
    root = tmp_path / "root"
    (root / "usr/local/lib").mkdir(parents=True)
    (root / "usr/local/lib/tool.so").write_text("elf")
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "etc/systemd/system/sshd.service").write_text("[Unit]\n")
    return root


def args(box, **kwargs):
    base = dict(root=str(box), manifest=str(box / "var/lib/hyperv-netvsc/manifest.json"))
    base.update(kwargs)
    return base


def deploy_args(box):
    return args(box, directories=[str(box / "usr/local/lib/hyperv-netvsc"), str(box / "run/netvsc")],
                files=[{"path": str(box / "etc/systemd/system/netvsc-monitor.service"), "content": "[Service]\n"}],
                record_files=[str(box / "usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz"),
                              str(box / "run/netvsc/dpdk0.vf"), str(box / "run/netvsc/state.json")],
                record_directories=[str(box / "run/private/netvsc"), str(box / "usr/local/lib")])


def test_present_check_mode_writes_nothing_then_records_and_writes(box, capsys):
    before = tree(box)
    check = run(capsys, deploy_args(box), check_mode=True, diff=True)
    assert check["rc"] == 0 and check["changed"] is True, check
    assert check["diff"]["after"] == "[Service]\n" and tree(box) == before
    result = run(capsys, deploy_args(box))
    assert result["rc"] == 0 and result["changed"] is True, result
    unit = box / "etc/systemd/system/netvsc-monitor.service"
    assert result["files"] == {str(unit): "written"}
    assert unit.read_text() == "[Service]\n" and oct(unit.stat().st_mode & 0o777) == "0o644"
    recorded = json.loads((box / "var/lib/hyperv-netvsc/manifest.json").read_text())
    assert recorded["files"] == sorted(str(box / p) for p in (
        "etc/systemd/system/netvsc-monitor.service", "usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz",
        "run/netvsc/dpdk0.vf", "run/netvsc/state.json"))
    # usr/local/lib existed: not recorded; run/private/netvsc did not: recorded for systemd.
    assert recorded["directories"] == sorted(str(box / p) for p in (
        "usr/local/lib/hyperv-netvsc", "run", "run/netvsc", "run/private/netvsc", "var",
        "var/lib", "var/lib/hyperv-netvsc"))
    again = run(capsys, deploy_args(box), check_mode=True)
    assert again["changed"] is False
    assert run(capsys, deploy_args(box))["changed"] is False


def test_absent_removes_exactly_what_was_recorded(box, capsys):
    before = tree(box)
    run(capsys, deploy_args(box))
    (box / "usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz").write_text("zip")
    (box / "run/netvsc/dpdk0.vf").write_text("")
    (box / "run/netvsc/user-notes").write_text("mine")
    check = run(capsys, args(box, state="absent"), check_mode=True)
    assert check["changed"] is True and (box / "run/netvsc/dpdk0.vf").exists()
    result = run(capsys, args(box, state="absent"))
    assert result["rc"] == 0 and result["changed"] is True
    assert result["kept"] == {
        str(box / "run/netvsc"): "not empty: it holds user-notes, which the collection did not write",
        str(box / "run"): "not empty: it holds netvsc, which the collection did not write"}
    assert tree(box) == sorted(before + ["run", "run/netvsc", "run/netvsc/user-notes",
                                         "var", "var/lib", "var/lib/hyperv-netvsc",
                                         "var/lib/hyperv-netvsc/manifest.json"])
    (box / "run/netvsc/user-notes").unlink()
    last = run(capsys, args(box, state="absent"))
    assert last["kept"] == {} and tree(box) == before
    assert run(capsys, args(box, state="absent"))["changed"] is False


def test_absent_with_paths_removes_that_part_only(box, capsys):
    """What the role does when no pairing needs the monitor any more."""
    run(capsys, deploy_args(box))
    (box / "usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz").write_text("zip")
    (box / "run/netvsc/dpdk0.vf").write_text("")
    run(capsys, args(box, record_files=[str(box / "etc/netvsc/eal.env")]))  # before it is written
    (box / "etc/netvsc").mkdir(parents=True)
    (box / "etc/netvsc/eal.env").write_text("X=1\n")
    monitor = [str(box / "etc/systemd/system/netvsc-monitor.service"),
               str(box / "usr/local/lib/hyperv-netvsc"), str(box / "run/netvsc")]
    result = run(capsys, args(box, state="absent", paths=monitor))
    assert result["rc"] == 0 and result["changed"] is True, result
    assert sorted(result["removed"]) == sorted(monitor + [
        str(box / "usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz"), str(box / "run/netvsc/dpdk0.vf")])
    assert (box / "etc/netvsc/eal.env").exists() and (box / "usr/local/lib/tool.so").exists()
    again = run(capsys, args(box, state="absent", paths=monitor))
    assert again["changed"] is False
    recorded = json.loads((box / "var/lib/hyperv-netvsc/manifest.json").read_text())
    assert str(box / "etc/netvsc/eal.env") in recorded["files"]
    outside = run(capsys, args(box, state="absent", paths=["/etc/systemd/system/netvsc-monitor.service"]))
    assert outside["rc"] == 1 and "paths[0] /etc/systemd/system/netvsc-monitor.service is not below root" in outside["msg"]


def test_a_foreign_manifest_removes_nothing(box, capsys):
    manifest = box / "var/lib/hyperv-netvsc/manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"collection": "hyperv.netvsc", "format": 1,
                                    "files": [str(box / "usr/local/lib/tool.so")], "directories": []}))
    os.chmod(str(manifest), 0o600)
    os.chown(str(manifest), 65534, 65534)
    result = run(capsys, args(box, state="absent"))
    assert result["rc"] == 1 and result["msg"].endswith("someone else could have written it; nothing was removed")
    assert (box / "usr/local/lib/tool.so").exists()
    result = run(capsys, deploy_args(box))
    assert result["rc"] == 1 and result["msg"].endswith("; nothing was changed")
    assert not (box / "usr/local/lib/hyperv-netvsc").exists()


@pytest.mark.parametrize("bad, words", [
    ({"directories": ["relative/dir"]}, "directories[0] 'relative/dir' must be an absolute path"),
    ({"files": [{"path": "/etc/../x", "content": ""}]}, "files[0].path '/etc/../x' must not contain '..'"),
    ({"record_files": ["/etc/hostname"]}, "record_files[0] /etc/hostname is not below root"),
    ({"files": [{"path": "/a", "content": "", "mode": "rw"}]}, "files[0].mode 'rw' is not an octal mode"),
])
def test_bad_paths_are_refused_before_any_change(box, capsys, bad, words):
    before = tree(box)
    given = dict(bad)
    for item in given.get("files", []):
        if item["path"] == "/a":
            item["path"] = str(box / "a")
    result = run(capsys, args(box, **given))
    assert result["rc"] == 1 and words in result["msg"], result
    assert tree(box) == before


def test_require_systemd(box, capsys, monkeypatch):
    real = os.path.isdir
    monkeypatch.setattr(netvsc_files.os.path, "isdir",
                        lambda p: False if p == "/run/systemd/system" else real(p))
    result = run(capsys, dict(deploy_args(box), require_systemd=True))
    assert result["rc"] == 1 and "systemd does not run this host" in result["msg"]
    assert "netvsc_manage_services: false" in result["msg"]
    assert not (box / "var").exists()


def test_system_user_is_created_where_missing_and_deleted_with_its_part(box, capsys):
    (box / "etc/passwd").write_text("sshd:x:102:65534::/run/sshd:/usr/sbin/nologin\n")
    (box / "etc/group").write_text("nogroup:x:65534:\n")
    check = run(capsys, args(box, system_user="netvsc-mon"), check_mode=True)
    assert check["changed"] is True and check["accounts"] == ["group netvsc-mon", "user netvsc-mon"], check
    assert "netvsc-mon" not in (box / "etc/passwd").read_text()
    result = run(capsys, args(box, system_user="netvsc-mon"))
    assert result["accounts"] == ["group netvsc-mon", "user netvsc-mon"] and not result.get("warnings"), result
    assert (box / "etc/passwd").read_text().splitlines()[1].endswith(":/nonexistent:/usr/sbin/nologin")
    assert run(capsys, args(box, system_user="netvsc-mon"))["changed"] is False
    theirs = run(capsys, args(box, system_user="sshd"))
    assert theirs["accounts"] == ["group sshd"]
    assert theirs["warnings"] == ["the user sshd exists already and the collection did not create it: it is "
                                  "used as it is (not modified) and stays at teardown"]
    gone = run(capsys, args(box, state="absent", paths=[], system_user="netvsc-mon"))
    assert gone["changed"] is True and gone["removed"] == ["user netvsc-mon", "group netvsc-mon"], gone
    assert (box / "etc/passwd").read_text() == "sshd:x:102:65534::/run/sshd:/usr/sbin/nologin\n"
    assert run(capsys, args(box, state="absent"))["removed"][:1] == ["group sshd"]
    assert (box / "etc/passwd").read_text() == "sshd:x:102:65534::/run/sshd:/usr/sbin/nologin\n"
    assert (box / "etc/group").read_text() == "nogroup:x:65534:\n"
