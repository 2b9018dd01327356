# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The malformed-declaration suite against each module: a warning or a refusal, never a traceback.

Every case of tests/fixtures/declarations.py sits next to a valid declaration (dpdk0 = eth1):
netvsc_facts and netvsc_failsafe warn and keep dpdk0; netvsc_pair warns, still pairs another
NetVSC, and refuses, changing nothing, to write over or remove the bad file.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.hyperv.netvsc.plugins.modules import netvsc_facts, netvsc_failsafe, netvsc_pair
from ansible_collections.hyperv.netvsc.tests.fixtures.declarations import (
    MALFORMED, NEEDS_ROOT, conflicting, write_good)
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import CASES, build
from ansible_collections.hyperv.netvsc.tests.unit.plugins.modules.utils import run_module

CASE_NAMES = sorted(MALFORMED)


class Host:
    """cx5_4nic with pairs.d holding dpdk0 (eth1) and whatever a test plants."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.root = build(CASES["cx5_4nic"], str(tmp_path / "sys"))
        self.config = tmp_path / "pairs.d"
        self.config.mkdir()
        write_good(self.config)

    def args(self, **kwargs):
        return dict(kwargs, sysfs_root=self.root, config_dir=str(self.config))

    def pair_args(self, **kwargs):
        return self.args(udev_rules_dir=str(self.tmp / "udev"), network_dir=str(self.tmp / "network"),
                         **kwargs)

    def digest(self):
        """Hash of every file name, type and content the modules may write."""
        digest = hashlib.sha256()
        for base in (self.config, self.tmp / "udev", self.tmp / "network"):
            for directory, dirs, files in os.walk(str(base)):
                dirs.sort()
                for name in sorted(dirs + files):
                    path = os.path.join(directory, name)
                    digest.update(path.encode())
                    if os.path.isfile(path) and not os.path.islink(path):
                        with open(path, "rb") as handle:
                            digest.update(handle.read())
        return digest.hexdigest()


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda *a, **k: (0, "", ""))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda *a, **k: None)
    return Host(tmp_path)


def plant(host, case):
    if case in NEEDS_ROOT and os.geteuid() != 0:
        pytest.skip("needs root to plant a file owned by another user")
    fragment = MALFORMED[case](str(host.config))
    return fragment, fragment.split(".json")[0]


def no_traceback(result):
    assert "Traceback" not in json.dumps(result) and "exception" not in result, result


@pytest.mark.parametrize("case", CASE_NAMES)
def test_facts_warn_and_keep_the_valid_declaration(host, capsys, case):
    fragment, _stem = plant(host, case)
    result = run_module(netvsc_facts, capsys, host.args())
    no_traceback(result)
    assert result["rc"] == 0
    assert sorted(result["ansible_facts"]["netvsc"]["declarations"]) == ["dpdk0"]
    assert any(fragment in w for w in result["warnings"]), (fragment, result["warnings"])


@pytest.mark.parametrize("case", CASE_NAMES)
def test_failsafe_warns_and_renders_the_valid_pairing(host, capsys, case):
    fragment, _stem = plant(host, case)
    result = run_module(netvsc_failsafe, capsys, host.args())
    no_traceback(result)
    assert result["rc"] == 0, result
    assert sorted(result["pairs"]) == ["dpdk0"]
    assert any(fragment in w and w.startswith("skipping an invalid pairing declaration")
               for w in result["warnings"]), (fragment, result["warnings"])


@pytest.mark.parametrize("case", CASE_NAMES)
def test_pair_warns_pairs_others_and_never_overwrites_the_bad_file(host, capsys, case):
    fragment, stem = plant(host, case)
    other = run_module(netvsc_pair, capsys, host.pair_args(netvsc="eth2", id="dpdk1"))
    no_traceback(other)
    assert other["rc"] == 0, other
    assert any(fragment in w for w in other["warnings"]), (fragment, other["warnings"])
    before = host.digest()
    for state in ("present", "absent"):
        refused = run_module(netvsc_pair, capsys, host.pair_args(netvsc="eth3", id=stem, state=state))
        no_traceback(refused)
        assert refused["rc"] == 1, refused
        assert refused["msg"].startswith("refusing to replace or remove %s/%s.json, which is not a "
                                         "valid pairing declaration" % (host.config, stem)), refused["msg"]
        assert host.digest() == before


def test_a_conflicting_declaration_is_never_rendered_as_another_nic(host, capsys):
    conflicting(str(host.config))
    result = run_module(netvsc_failsafe, capsys, host.args())
    assert result["rc"] == 0, result
    assert sorted(result["pairs"]) == ["dpdk0"]
    assert any(w.startswith("pairing conflict: MAC 00:0d:3a:03:1e:b1 and VMBus GUID "
                            "000d3a03-18c9-000d-3a03-18c9000d3a03 designates 2 NetVSCs: eth1 (by MAC), "
                            "eth2 (by VMBus GUID); it is not rendered") for w in result["warnings"])
    asked = run_module(netvsc_failsafe, capsys, host.args(pairs=["conflict"]))
    assert asked["rc"] == 1 and "designates 2 NetVSCs" in asked["msg"]


def test_pair_refuses_a_netvsc_a_conflicting_declaration_names(host, capsys):
    (host.config / "dpdk0.json").unlink()
    conflicting(str(host.config))
    before = host.digest()
    for token in ("eth1", "eth2"):
        result = run_module(netvsc_pair, capsys, host.pair_args(netvsc=token, id="dpdk0"))
        assert result["rc"] == 1 and "already declared as pairing conflict" in result["msg"], result
    assert host.digest() == before
    removed = run_module(netvsc_pair, capsys, host.pair_args(netvsc="eth1", id="conflict", state="absent"))
    assert removed["rc"] == 0 and removed["changed"] is True, removed
    assert not (host.config / "conflict.json").exists()
