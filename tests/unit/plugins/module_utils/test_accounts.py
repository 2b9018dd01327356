# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Accounts (_accounts, _manifest.ensure_account): the collection creates a user or group
only when it does not exist, records it, and teardown deletes only what it recorded. Real
shadow-utils on the real system (root, unique names, cleaned up) and on sandbox account files."""

from __future__ import annotations

import grp
import json
import functools
import os
import pwd
import uuid

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _accounts, _manifest
from ansible_collections.hyperv.netvsc.plugins.module_utils._manifest import Manifest, ManifestError
from ansible_collections.hyperv.netvsc.tests.fixtures.commands import real_run_command

# As netvsc_files calls them, with the module's runner: here the programs really run.
ensure = functools.partial(_manifest.ensure_account, run=real_run_command)
teardown = functools.partial(_manifest.teardown, run=real_run_command)

need_real = pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("NETVSC_TESTS_STRICT"),
                               reason="needs root")


def entry(kind, name):
    """The real passwd or group entry of name, None when it does not exist."""
    try:
        return tuple(pwd.getpwnam(name) if kind == "user" else grp.getgrnam(name))
    except KeyError:
        return None


def accounts(removed):
    """The accounts among what teardown removed (the rest are paths), in order."""
    return [r for r in removed if not r.startswith("/")]


@pytest.fixture
def name():
    """A unique account name, deleted from the real system afterwards whatever happened."""
    made = "nvt%s" % uuid.uuid4().hex[:12]
    yield made
    for kind in ("user", "group"):
        if entry(kind, made) is not None:
            real_run_command(_accounts.delete_command(kind, made))


@pytest.fixture
def manifest(tmp_path):
    return str(tmp_path / "var/lib/hyperv-netvsc/manifest.json")


@need_real
def test_a_missing_account_is_created_recorded_and_deleted_at_teardown(manifest, name):
    done = ensure(manifest, name)
    assert done.added == ["group %s" % name, "user %s" % name] and done.theirs == [] and done.skipped is None
    user = pwd.getpwnam(name)
    assert user.pw_gid == grp.getgrnam(name).gr_gid and user.pw_shell == "/usr/sbin/nologin"
    assert user.pw_dir == "/nonexistent" and not os.path.exists("/nonexistent")
    recorded = json.loads(open(manifest).read())
    assert recorded["users"] == [name] and recorded["groups"] == [name]
    again = ensure(manifest, name)  # ours now: nothing to add, no warning
    assert again.added == [] and again.theirs == []
    result = teardown(manifest)
    assert accounts(result.removed) == ["user %s" % name, "group %s" % name] and result.kept == {}
    assert entry("user", name) is None and entry("group", name) is None


@need_real
def test_an_existing_account_is_used_as_it_is_and_survives_teardown(manifest):
    before = entry("user", "www-data"), entry("group", "www-data")
    if None in before:
        pytest.skip("no www-data account on this machine")
    done = ensure(manifest, "www-data")
    assert done.added == [] and done.theirs == ["group www-data", "user www-data"]
    assert (entry("user", "www-data"), entry("group", "www-data")) == before  # home, shell, group
    assert not os.path.exists(manifest)  # nothing of ours to record
    _manifest.Manifest(manifest, files=[manifest]).save()
    result = teardown(manifest)
    assert accounts(result.removed) == [] and (entry("user", "www-data"), entry("group", "www-data")) == before


@need_real
def test_check_mode_reports_and_creates_nothing(manifest, name):
    done = ensure(manifest, name, check_mode=True)
    assert done.added == ["group %s" % name, "user %s" % name]
    assert entry("user", name) is None and entry("group", name) is None and not os.path.exists(manifest)


@pytest.fixture
def sandbox(tmp_path):
    """A sandbox root with its own account files, holding an sshd user."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n"
                                     "sshd:x:102:65534::/run/sshd:/usr/sbin/nologin\n")
    (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return root


def test_a_sandbox_gets_its_accounts_in_its_own_files_and_no_real_one(sandbox, name):
    manifest = str(sandbox / "var/lib/hyperv-netvsc/manifest.json")
    sshd = (sandbox / "etc/passwd").read_text().splitlines()[1]
    done = ensure(manifest, "sshd", str(sandbox))
    assert done.added == ["group sshd"] and done.theirs == ["user sshd"]
    assert (sandbox / "etc/passwd").read_text().splitlines()[1] == sshd  # not modified
    done = ensure(manifest, name, str(sandbox))
    assert done.added == ["group %s" % name, "user %s" % name]
    assert _accounts.exists("user", name, str(sandbox)) and entry("user", name) is None
    result = teardown(manifest, str(sandbox), only=[], accounts=[name])
    assert sorted(result.removed) == ["group %s" % name, "user %s" % name]
    assert Manifest.load(manifest).groups == ["sshd"] and Manifest.load(manifest).users == []
    result = teardown(manifest, str(sandbox))
    assert accounts(result.removed) == ["group sshd"] and result.kept == {}
    assert (sandbox / "etc/passwd").read_text().splitlines() == [
        "root:x:0:0:root:/root:/bin/bash", sshd]
    assert not os.path.exists(manifest)


def test_a_sandbox_without_account_files_gets_none(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    done = ensure(str(root / "manifest.json"), "netvsc-mon", str(root))
    assert done.added == [] and "no etc/passwd and etc/group" in done.skipped
    assert sorted(os.listdir(str(root))) == []


def test_a_failing_command_is_named_and_the_account_stays_recorded(sandbox):
    manifest = str(sandbox / "var/lib/hyperv-netvsc/manifest.json")

    def refuse(argv):
        return 1, "", "%s: cannot lock /etc/passwd\n" % argv[0]
    with pytest.raises(_accounts.AccountError, match="groupadd --prefix .* --system netvsc-mon failed .*cannot lock"):
        _manifest.ensure_account(manifest, "netvsc-mon", str(sandbox), run=refuse)
    assert Manifest.load(manifest).groups == ["netvsc-mon"]  # write-ahead
    (sandbox / "etc/group").write_text("netvsc-mon:x:999:\n")
    result = _manifest.teardown(manifest, str(sandbox), run=refuse)
    command = " ".join(_accounts.delete_command("group", "netvsc-mon", str(sandbox)))
    assert result.kept == {"group netvsc-mon": "cannot delete it (%s failed (exit 1): %s: cannot lock "
                           "/etc/passwd)" % (command, command.split()[0])}
    assert Manifest.load(manifest).groups == ["netvsc-mon"]


@pytest.mark.parametrize("bad", ["Root", "../x", "a" * 33, "", 5, "x:y"])
def test_bad_names_are_refused(bad, tmp_path):
    with pytest.raises(_accounts.AccountError, match="not a system account name"):
        ensure(str(tmp_path / "m.json"), bad, str(tmp_path))
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"collection": "hyperv.netvsc", "format": 1, "users": [bad]}))
    os.chmod(str(path), 0o600)
    with pytest.raises(ManifestError, match="in users"):
        Manifest.load(str(path))


def test_no_user_is_made_in_a_group_that_is_not_the_collections(sandbox):
    """userdel deletes the group of the user's name with the user: the user's own group
    netvsc-mon would go at teardown."""
    (sandbox / "etc/group").write_text("netvsc-mon:x:990:\n")
    manifest = str(sandbox / "var/lib/hyperv-netvsc/manifest.json")
    with pytest.raises(_accounts.AccountError, match="the group netvsc-mon exists and the collection did not create it"):
        ensure(manifest, "netvsc-mon", str(sandbox))
    assert (sandbox / "etc/group").read_text() == "netvsc-mon:x:990:\n" and not os.path.exists(manifest)


@need_real
def test_module_utils_run_no_program_themselves(manifest, name):
    """Without the module's runner (AnsibleModule.run_command) nothing is created: a clear
    error naming the command, and the real system is unchanged."""
    with pytest.raises(_accounts.AccountError, match="cannot run .*groupadd --system %s: no command runner" % name):
        _manifest.ensure_account(manifest, name)
    assert entry("group", name) is None and entry("user", name) is None
