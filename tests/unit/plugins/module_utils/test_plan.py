# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_plan: planning only reads, the one write path, records of what a plan creates, and
files the collection never wrote (symlinks, FIFOs, directories) are neither read nor replaced."""

from __future__ import annotations

import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _plan
from ansible_collections.hyperv.netvsc.plugins.module_utils._plan import Plan, PlanError


def snapshot(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_planning_reads_only_and_records_what_it_will_create(tmp_path):
    target = tmp_path / "a" / "b" / "f.conf"
    plan = Plan()
    plan.write(str(target), "x\n")
    plan.write(str(tmp_path / "a" / "g.conf"), "y\n")
    assert snapshot(tmp_path) == []
    assert plan.creates == [(str(tmp_path / "a"), "directory"), (str(tmp_path / "a" / "b"), "directory"),
                            (str(target), "file"), (str(tmp_path / "a" / "g.conf"), "file")]
    assert plan.descriptions == ["create directory %s" % (tmp_path / "a"),
                                 "create directory %s" % (tmp_path / "a" / "b"),
                                 "write %s" % target, "write %s" % (tmp_path / "a" / "g.conf")]
    old = os.umask(0o077)
    try:
        plan.apply()
    finally:
        os.umask(old)
    assert target.read_text() == "x\n"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert oct((tmp_path / "a" / "b").stat().st_mode & 0o777) == "0o755"
    again = Plan()
    again.write(str(target), "x\n")
    assert not again.changed and again.files == {str(target): "unchanged"} and again.creates == []


def test_the_injected_move_is_the_write_path(tmp_path):
    moves = []

    def move(src, dest):
        assert os.path.dirname(src) == os.path.dirname(dest)  # same file system: a rename
        moves.append(dest)
        os.rename(src, dest)

    plan = Plan(move)
    plan.write(str(tmp_path / "f"), "text")
    plan.apply()
    assert moves == [str(tmp_path / "f")] and (tmp_path / "f").read_text() == "text"
    assert os.listdir(str(tmp_path)) == ["f"]  # no temporary file left


def test_remove_and_diffs(tmp_path):
    (tmp_path / "old").write_text("before\n")
    plan = Plan()
    plan.remove(str(tmp_path / "old"))
    plan.remove(str(tmp_path / "never"))
    plan.write(str(tmp_path / "old2"), "after\n")
    assert plan.files == {str(tmp_path / "old"): "removed", str(tmp_path / "old2"): "written"}
    assert plan.diffs == [
        {"before_header": str(tmp_path / "old"), "after_header": "%s (absent)" % (tmp_path / "old"),
         "before": "before\n", "after": ""},
        {"before_header": "%s (absent)" % (tmp_path / "old2"), "after_header": str(tmp_path / "old2"),
         "before": "", "after": "after\n"}]
    plan.apply()
    assert snapshot(tmp_path) == ["old2"]


@pytest.mark.parametrize("make, words", [
    (lambda p: os.symlink("/etc/hostname", str(p)), "is a symlink; it is not a file this collection wrote"),
    (lambda p: os.mkfifo(str(p)), "is not a regular file; it is not a file this collection wrote"),
    (lambda p: p.mkdir(), "is a directory"),
])
def test_what_the_collection_never_wrote_is_neither_read_nor_replaced(tmp_path, make, words):
    path = tmp_path / "90-hyperv-netvsc-vf-x.rules"
    make(path)
    for plan_it in (lambda plan: plan.write(str(path), "text"), lambda plan: plan.remove(str(path))):
        with pytest.raises(PlanError) as exc:
            plan_it(Plan())
        assert str(exc.value).startswith("%s %s" % (path, words))
    assert os.path.lexists(str(path))


def test_a_file_in_the_way_of_a_directory(tmp_path):
    (tmp_path / "d").write_text("")
    with pytest.raises(PlanError, match="exists and is not a directory"):
        Plan().make_dirs(str(tmp_path / "d" / "e"))


def test_extend_keeps_order_and_records(tmp_path):
    first, second = Plan(), Plan()
    first.write(str(tmp_path / "d" / "a"), "a")
    second.write(str(tmp_path / "d" / "b"), "b")
    first.extend(second)
    assert [c.path for c in first.creates] == [str(tmp_path / "d"), str(tmp_path / "d" / "a"),
                                               str(tmp_path / "d" / "b")]
    first.apply()  # the directory step of the second plan finds it made already
    assert snapshot(tmp_path) == ["d", "d/a", "d/b"]


def test_write_file_without_move_uses_the_monitors_atomic_write(tmp_path):
    _plan.write_file(str(tmp_path / "f"), "one", 0o600)
    assert (tmp_path / "f").read_text() == "one"
    assert oct((tmp_path / "f").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(PlanError, match="cannot write"):
        _plan.write_file(str(tmp_path / "missing" / "f"), "x")
