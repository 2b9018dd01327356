# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_manifest: write-ahead records, teardown of exactly what was recorded, and manifests that
cannot be trusted (foreign owner, writable by others, symlink, malformed) delete nothing."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _manifest
from ansible_collections.hyperv.netvsc.plugins.module_utils._manifest import Manifest, ManifestError
from ansible_collections.hyperv.netvsc.plugins.module_utils._plan import Plan, PlanError


def tree(root):
    """{relative path: content or '/' for a directory} of everything below root."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        found[rel] = "/" if path.is_dir() and not path.is_symlink() else (
            "->" + os.readlink(str(path)) if path.is_symlink() else path.read_text())
    return found


@pytest.fixture
def box(tmp_path):
    """A sandbox root with user files in the directories the collection writes next to."""
    root = tmp_path / "root"
    for rel, text in (("etc/hostname", "box\n"), ("etc/ssh/sshd_config", "Port 22\n"),
                      ("etc/netvsc-custom/README", "mine\n"), ("usr/local/lib/tool.so", "elf"),
                      ("var/lib/other/data", "1")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def deploy(root):
    """What a deployment records and writes: returns the manifest path."""
    manifest = str(root / "var/lib/hyperv-netvsc/manifest.json")
    plan = Plan()
    plan.write(str(root / "etc/netvsc-custom/dpdk0.json"), "{}\n")  # into a user's directory
    plan.write(str(root / "etc/netvsc/eal.d/dpdk0.args"), "--vdev\n")  # directories it makes
    plan.write(str(root / "usr/local/lib/netvsc-monitor.pyz"), "zip")  # into a system directory
    _manifest.apply(plan, manifest)
    return manifest


def test_records_are_written_before_the_plan_is_applied(box):
    manifest = str(box / "var/lib/hyperv-netvsc/manifest.json")
    plan = Plan()
    plan.write(str(box / "etc/netvsc/eal.env"), "X=1\n")
    seen = []
    plan.add("look", lambda: seen.append(json.loads(open(manifest).read())))
    _manifest.apply(plan, manifest)
    assert seen[0]["files"] == [str(box / "etc/netvsc/eal.env")]
    assert seen[0]["directories"] == [str(box / "etc/netvsc"), str(box / "var/lib/hyperv-netvsc")]
    assert seen[0]["collection"] == "hyperv.netvsc" and seen[0]["format"] == 1
    assert oct(os.stat(manifest).st_mode & 0o777) == "0o600"


def test_a_file_a_run_removes_is_forgotten(box):
    """A later file at its path (the user's own drop-in, say) is not the collection's: teardown
    leaves it. Its directory stays recorded (teardown removes it if empty)."""
    manifest = deploy(box)
    args = box / "etc/netvsc/eal.d/dpdk0.args"
    plan = Plan()
    plan.remove(str(args))
    _manifest.apply(plan, manifest)
    records = json.loads(open(manifest).read())
    assert str(args) not in records["files"] and str(args.parent) in records["directories"]
    assert str(box / "etc/netvsc-custom/dpdk0.json") in records["files"]
    args.write_text("the user's\n")
    _manifest.teardown(manifest, str(box))
    assert args.read_text() == "the user's\n" and not (box / "etc/netvsc-custom/dpdk0.json").exists()


def fail():
    raise PlanError("boom")


def test_a_run_that_fails_half_way_leaves_every_created_path_recorded(box):
    manifest = str(box / "var/lib/hyperv-netvsc/manifest.json")
    plan = Plan()
    plan.write(str(box / "etc/netvsc/a"), "a")
    plan.add("fail", fail)
    plan.write(str(box / "etc/netvsc/b/c"), "c")
    with pytest.raises(PlanError):
        _manifest.apply(plan, manifest)
    assert (box / "etc/netvsc/a").exists() and not (box / "etc/netvsc/b").exists()
    result = _manifest.teardown(manifest, str(box))
    assert result.kept == {}
    assert not (box / "etc/netvsc").exists() and not (box / "var/lib/hyperv-netvsc").exists()


def test_teardown_removes_exactly_what_was_recorded(box):
    before = tree(box)
    manifest = deploy(box)
    (box / "etc/netvsc-custom/notes.txt").write_text("written by the user later\n")
    assert tree(box) != before
    result = _manifest.teardown(manifest, str(box))
    assert result.kept == {}
    del before  # the user's later file stays too
    after = tree(box)
    assert after["etc/netvsc-custom/notes.txt"] == "written by the user later\n"
    after.pop("etc/netvsc-custom/notes.txt")
    assert after == {"etc": "/", "etc/hostname": "box\n", "etc/ssh": "/",
                     "etc/ssh/sshd_config": "Port 22\n", "etc/netvsc-custom": "/",
                     "etc/netvsc-custom/README": "mine\n", "usr": "/", "usr/local": "/",
                     "usr/local/lib": "/", "usr/local/lib/tool.so": "elf", "var": "/",
                     "var/lib": "/", "var/lib/other": "/", "var/lib/other/data": "1"}
    assert sorted(result.removed) == sorted(str(box / p) for p in (
        "etc/netvsc-custom/dpdk0.json", "etc/netvsc/eal.d/dpdk0.args", "usr/local/lib/netvsc-monitor.pyz",
        "etc/netvsc/eal.d", "etc/netvsc", "var/lib/hyperv-netvsc/manifest.json", "var/lib/hyperv-netvsc"))
    again = _manifest.teardown(manifest, str(box))
    assert again == ([], {})


def test_a_directory_holding_user_files_is_kept_and_stays_recorded(box):
    manifest = deploy(box)
    (box / "etc/netvsc/eal.d/user.args").write_text("mine")
    result = _manifest.teardown(manifest, str(box))
    assert result.kept == {
        str(box / "etc/netvsc/eal.d"): "not empty: it holds user.args, which the collection did not write",
        str(box / "etc/netvsc"): "not empty: it holds eal.d, which the collection did not write"}
    assert (box / "etc/netvsc/eal.d/user.args").read_text() == "mine"
    assert not (box / "etc/netvsc/eal.d/dpdk0.args").exists()
    left = Manifest.load(manifest)
    assert left.files == [] and str(box / "etc/netvsc") in left.directories
    (box / "etc/netvsc/eal.d/user.args").unlink()
    assert _manifest.teardown(manifest, str(box)).kept == {}
    assert not (box / "etc/netvsc").exists() and not (box / "var/lib/hyperv-netvsc").exists()


def test_check_mode_reports_and_removes_nothing(box):
    manifest = deploy(box)
    before = tree(box)
    result = _manifest.teardown(manifest, str(box), check_mode=True)
    assert tree(box) == before
    assert str(box / "etc/netvsc") in result.removed and result.kept == {}


def test_what_changed_kind_since_is_kept(box):
    manifest = deploy(box)
    target = box / "usr/local/lib/netvsc-monitor.pyz"
    target.unlink()
    target.symlink_to("/etc/hostname")
    (box / "etc/netvsc-custom/dpdk0.json").unlink()
    (box / "etc/netvsc-custom/dpdk0.json").mkdir()
    result = _manifest.teardown(manifest, str(box))
    assert result.kept[str(target)].startswith("it is not a regular file now")
    assert result.kept[str(box / "etc/netvsc-custom/dpdk0.json")].startswith("it is not a regular file")
    assert target.is_symlink() and (box / "etc/netvsc-custom/dpdk0.json").is_dir()


def test_systemds_dynamic_user_runtime_directory_layout(box):
    """/run/netvsc links to /run/private/netvsc, both recorded: the link and the directory go."""
    private = box / "run/private/netvsc"
    private.mkdir(parents=True)
    (box / "run/netvsc").symlink_to("private/netvsc")
    (private / "dpdk0.vf").write_text("")
    manifest = Manifest(str(box / "var/lib/hyperv-netvsc/manifest.json"),
                        [str(box / "run/netvsc/dpdk0.vf")],
                        [str(box / "run/netvsc"), str(private)])
    manifest.save()
    assert _manifest.teardown(manifest.path, str(box)).kept == {}
    assert sorted(tree(box / "run")) == ["private"]
    # A recorded directory that became a link elsewhere stays.
    (box / "run/other").symlink_to("/etc")
    manifest = Manifest(manifest.path, [], [str(box / "run/other")])
    manifest.save()
    result = _manifest.teardown(manifest.path, str(box))
    assert result.kept == {str(box / "run/other"): "it is a symlink to /etc now, which the collection did not make"}


def _write_manifest(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    os.chmod(str(path), 0o600)


GOOD = {"collection": "hyperv.netvsc", "format": 1, "files": [], "directories": []}


@pytest.mark.parametrize("data, words", [
    ("{not json", "not valid JSON"),
    ([], "not a format 1 manifest of hyperv.netvsc"),
    (dict(GOOD, collection="other.collection"), "not a format 1 manifest"),
    (dict(GOOD, format=2), "not a format 1 manifest"),
    (dict(GOOD, extra=1), "unknown keys extra"),
    (dict(GOOD, files="/etc/hostname"), "files must be a list"),
    (dict(GOOD, files=["etc/hostname"]), "must be an absolute path"),
    (dict(GOOD, files=["/etc/../etc/hostname"]), "'..'"),
    (dict(GOOD, theirs=["/etc/../etc/hostname"]), "'..'"),
    (dict(GOOD, theirs="/etc/hostname"), "theirs must be a list"),
    (dict(GOOD, directories=["/"]), "must not be /"),
    (dict(GOOD, files=[5]), "must be a path"),
    (dict(GOOD, files=["/etc//hostname"]), "not normalised"),
])
def test_a_malformed_manifest_deletes_nothing_and_says_why(box, data, words):
    path = box / "var/lib/hyperv-netvsc/manifest.json"
    _write_manifest(path, data)
    before = tree(box)
    with pytest.raises(ManifestError) as exc:
        _manifest.teardown(str(path), str(box))
    assert words in str(exc.value) and str(path) in str(exc.value)
    assert tree(box) == before
    plan = Plan()
    plan.write(str(box / "etc/netvsc/eal.env"), "x")
    with pytest.raises(ManifestError):  # writers refuse to add to it, and change nothing
        _manifest.apply(plan, str(path))
    assert tree(box) == before


def test_records_outside_the_sandbox_root_delete_nothing(box, tmp_path):
    outside = tmp_path / "precious"
    outside.write_text("keep")
    path = box / "var/lib/hyperv-netvsc/manifest.json"
    _write_manifest(path, dict(GOOD, files=[str(outside), str(box / "etc/hostname")]))
    with pytest.raises(ManifestError, match="records %s outside %s; nothing was removed" % (outside, box)):
        _manifest.teardown(str(path), str(box))
    assert outside.read_text() == "keep" and (box / "etc/hostname").exists()


def test_a_foreign_manifest_deletes_nothing(box):
    path = box / "var/lib/hyperv-netvsc/manifest.json"
    _write_manifest(path, dict(GOOD, files=[str(box / "etc/hostname")]))
    os.chmod(str(path), 0o666)
    with pytest.raises(ManifestError, match="writable by group or others"):
        _manifest.teardown(str(path), str(box))
    os.chmod(str(path), 0o600)
    os.chmod(str(path.parent), 0o777)
    with pytest.raises(ManifestError, match="the manifest directory .* writable by group or others"):
        _manifest.teardown(str(path), str(box))
    os.chmod(str(path.parent), 0o755)
    os.chown(str(path), 65534, 65534)
    with pytest.raises(ManifestError, match="belongs to uid 65534"):
        _manifest.teardown(str(path), str(box))
    os.chown(str(path), os.geteuid(), os.getegid())
    path.rename(path.parent / "real.json")
    path.symlink_to("real.json")
    with pytest.raises(ManifestError, match="it is a symlink"):
        _manifest.teardown(str(path), str(box))
    path.unlink()
    os.mkfifo(str(path))
    with pytest.raises(ManifestError, match="not a regular file"):
        _manifest.teardown(str(path), str(box))
    assert (box / "etc/hostname").read_text() == "box\n"


def test_no_manifest_removes_nothing(box):
    before = tree(box)
    assert _manifest.teardown(str(box / "var/lib/hyperv-netvsc/manifest.json"), str(box)) == ([], {})
    assert tree(box) == before


def test_without_a_manifest_path_the_plan_is_only_applied(tmp_path):
    plan = Plan()
    plan.write(str(tmp_path / "f"), "x")
    _manifest.apply(plan, None)
    assert (tmp_path / "f").read_text() == "x"


@pytest.mark.parametrize("part", [False, True], ids=["all", "part"])
def test_a_recorded_directory_that_became_a_symlink_is_not_removed_through(box, tmp_path, part):
    """The user moved the collection's /etc/netvsc aside and linked their own directory there:
    the recorded eal.d/dpdk0.args now names their file, which teardown must not delete (nor
    a teardown of that part only)."""
    manifest = deploy(box)
    theirs = tmp_path / "shared-config"
    (theirs / "eal.d").mkdir(parents=True)
    (theirs / "eal.d/dpdk0.args").write_text("the user's own\n")
    (box / "etc/netvsc").rename(box / "etc/netvsc.old")
    (box / "etc/netvsc").symlink_to(theirs)
    result = _manifest.teardown(manifest, str(box), only=[str(box / "etc/netvsc")] if part else None)
    assert (theirs / "eal.d/dpdk0.args").read_text() == "the user's own\n"
    assert result.kept[str(box / "etc/netvsc/eal.d/dpdk0.args")] == (
        "%s is a symlink to %s now, which the collection did not make" % (box / "etc/netvsc", theirs))
    assert str(box / "etc/netvsc/eal.d") in result.kept


def test_a_sandbox_teardown_never_follows_a_link_out_of_the_sandbox(box, tmp_path):
    manifest = deploy(box)
    outside = tmp_path / "real-usr-local-lib"
    outside.mkdir()
    (outside / "netvsc-monitor.pyz").write_text("someone else's archive")
    (box / "usr/local/lib/netvsc-monitor.pyz").unlink()
    (box / "usr/local/lib").rename(box / "usr/local/lib.old")
    (box / "usr/local/lib").symlink_to(outside)
    result = _manifest.teardown(manifest, str(box))
    assert (outside / "netvsc-monitor.pyz").read_text() == "someone else's archive"
    assert result.kept[str(box / "usr/local/lib/netvsc-monitor.pyz")] == (
        "its directory is %s now, outside %s" % (outside, box))


def test_a_sandbox_root_the_collection_made_goes_when_empty(tmp_path):
    root = tmp_path / "made"
    manifest = str(root / "var/lib/hyperv-netvsc/manifest.json")
    plan = Plan()
    plan.write(str(root / "etc/netvsc/eal.env"), "X=1\n")
    _manifest.apply(plan, manifest)
    assert str(root) in Manifest.load(manifest).directories
    assert _manifest.teardown(manifest, str(root)).kept == {}
    assert not root.exists()


def test_a_deeply_nested_manifest_deletes_nothing_and_says_why(box):
    path = box / "var/lib/hyperv-netvsc/manifest.json"
    _write_manifest(path, "[" * 200000)
    with pytest.raises(ManifestError, match="not valid JSON"):
        _manifest.teardown(str(path), str(box))


def test_a_part_goes_and_the_rest_stays_recorded(box):
    """teardown(only=...): the monitor's files go when no pairing needs it; the rest stays."""
    manifest = deploy(box)
    lib = str(box / "usr/local/lib/hyperv-netvsc")
    plan = Plan()
    plan.write(lib + "/netvsc-monitor.pyz", "zip")
    plan.write(str(box / "etc/systemd/system/netvsc-monitor.service"), "[Service]\n")
    _manifest.apply(plan, manifest)
    (box / "etc/systemd/system/other.service").write_text("mine\n")
    before = tree(box)
    unit = str(box / "etc/systemd/system/netvsc-monitor.service")
    check = _manifest.teardown(manifest, str(box), check_mode=True, only=[unit, lib])
    assert tree(box) == before
    result = _manifest.teardown(manifest, str(box), only=[unit, lib, str(box / "run/netvsc")])
    assert result == check
    assert sorted(result.removed) == sorted([unit, lib + "/netvsc-monitor.pyz", lib])
    # /etc/systemd/system holds other.service, and was recorded: it is no part of the monitor.
    assert result.kept == {}
    assert (box / "etc/systemd/system/other.service").exists()
    left = json.loads(open(manifest).read())
    assert unit not in left["files"] and lib not in left["directories"]
    assert str(box / "etc/netvsc/eal.d/dpdk0.args") in left["files"]
    assert _manifest.teardown(manifest, str(box), only=[unit, lib]) == _manifest.Teardown([], {})
    full = _manifest.teardown(manifest, str(box))
    assert sorted(full.kept) == [str(box / "etc/systemd"), str(box / "etc/systemd/system")]


def test_a_file_that_existed_before_is_not_the_collections_to_delete(box):
    theirs = box / "etc/default/dpdk-app"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("APP_OPTS=--burst 64\n")
    manifest = str(box / "var/lib/hyperv-netvsc/manifest.json")
    plan = Plan()
    plan.write(str(theirs), "NETVSC_EAL_ARGS=--vdev x\n")
    _manifest.apply(plan, manifest)
    assert Manifest.load(manifest).files == [] and Manifest.load(manifest).theirs == [str(theirs)]
    result = _manifest.teardown(manifest, str(box))
    assert theirs.read_text() == "NETVSC_EAL_ARGS=--vdev x\n"
    assert result.kept == {str(theirs): _manifest.THEIRS} and "not the collection's" in _manifest.THEIRS
    assert not os.path.exists(manifest)  # theirs does not keep the manifest


def test_a_file_the_collection_created_stays_its_own_when_rewritten(box):
    manifest = str(box / "var/lib/hyperv-netvsc/manifest.json")
    ours = box / "etc/netvsc/eal.env"
    for text in ("A=1\n", "A=2\n", "A=2\n"):
        plan = Plan()
        plan.write(str(ours), text)
        _manifest.apply(plan, manifest)
    assert Manifest.load(manifest).files == [str(ours)] and Manifest.load(manifest).theirs == []
    result = _manifest.teardown(manifest, str(box))
    assert str(ours) in result.removed and not ours.exists() and result.kept == {}


def test_an_up_to_date_file_from_before_the_manifest_is_listed_and_kept(box):
    """An upgrade from a version without the manifest: its files, unchanged or rewritten, are
    not known to be the collection's, so teardown keeps and lists them."""
    old = box / "etc/netvsc/eal.env"
    old.parent.mkdir(parents=True)
    old.write_text("A=1\n")
    manifest = str(box / "var/lib/hyperv-netvsc/manifest.json")
    plan = Plan()
    plan.write(str(old), "A=1\n")
    assert not plan.changed and plan.creates == [] and plan.existing == [str(old)]
    _manifest.apply(plan, manifest)
    assert _manifest.teardown(manifest, str(box), check_mode=True).kept == {str(old): _manifest.THEIRS}
    assert _manifest.teardown(manifest, str(box)).kept == {str(old): _manifest.THEIRS}
    assert old.exists() and not (box / "var/lib/hyperv-netvsc").exists()


def test_theirs_removed_by_a_run_is_forgotten_and_a_file_created_there_later_is_ours(box):
    path = box / "etc/netvsc/x.args"
    path.parent.mkdir(parents=True)
    path.write_text("mine\n")
    manifest = str(box / "var/lib/hyperv-netvsc/manifest.json")
    first = Plan()
    first.write(str(path), "ours\n")
    _manifest.apply(first, manifest)
    path.unlink()  # the user removes it; the collection creates it next time
    second = Plan()
    second.write(str(path), "ours\n")
    _manifest.apply(second, manifest)
    assert Manifest.load(manifest).files == [str(path)] and Manifest.load(manifest).theirs == []


def test_a_part_teardown_lists_theirs_in_the_part_and_keeps_them_recorded(box):
    theirs = box / "usr/local/lib/tool.so"
    manifest = str(box / "var/lib/hyperv-netvsc/manifest.json")
    plan = Plan()
    plan.write(str(theirs), "zip")
    plan.write(str(box / "usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz"), "zip")
    _manifest.apply(plan, manifest)
    part = _manifest.teardown(manifest, str(box), only=[str(box / "usr/local/lib")])
    assert part.kept == {str(theirs): _manifest.THEIRS} and theirs.exists()
    assert Manifest.load(manifest).theirs == [str(theirs)]
    assert _manifest.teardown(manifest, str(box), only=[str(box / "etc")]).kept == {}
