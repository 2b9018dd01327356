# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_vfpolicy: the exact rule and .network lines, their syntax, and plan/apply of the files."""

from __future__ import annotations

import configparser
import re

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _binding, _scan, _vfpolicy

MAC = "00:0d:3a:03:1e:b1"
MATCH = 'SUBSYSTEM=="net", ACTION!="remove", SUBSYSTEMS=="pci", ATTR{address}=="%s"' % MAC
UNMANAGED = MATCH + ', ENV{NETVSC_VF_UNMANAGED}="1", ENV{ID_NET_MANAGED_BY}="unmanaged", ENV{NM_UNMANAGED}="1"'
MODULES = [
    MATCH + ', DRIVERS=="mlx4_core", RUN{builtin}+="kmod load mlx4_ib ib_uverbs"',
    MATCH + ', DRIVERS=="mlx5_core", RUN{builtin}+="kmod load mlx5_ib ib_uverbs"',
    MATCH + ', DRIVERS=="mana", RUN{builtin}+="kmod load mana_ib ib_uverbs"',
]

# udev rule syntax (udev(7)): comma-separated KEY[{attr}]OP"value"; match keys compare,
# assignment keys assign; values are double-quoted without embedded quotes here.
_PAIR = re.compile(r'^(?P<key>[A-Z_]+)(?:\{(?P<attr>[A-Za-z0-9_]+)\})?(?P<op>==|!=|\+=|:=|=)"(?P<value>[^"]*)"$')
_MATCH_KEYS = {"SUBSYSTEM", "ACTION", "SUBSYSTEMS", "ATTR", "DRIVERS"}
_ASSIGN_KEYS = {"ENV", "RUN"}


def rule_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def parse_rule_line(line):
    """[(key, attr, op, value)] of one rule line; fails the test on bad syntax."""
    pairs = []
    for part in line.split(", "):
        found = _PAIR.match(part)
        assert found, "bad udev key/value %r in %r" % (part, line)
        key, op = found.group("key"), found.group("op")
        if key in _MATCH_KEYS:
            assert op in ("==", "!="), part
        else:
            assert key in _ASSIGN_KEYS and op in ("=", "+="), part
        pairs.append((key, found.group("attr"), op, found.group("value")))
    return pairs


def test_rule_lines_both_options():
    text = _vfpolicy.udev_rule("dpdk0", MAC)
    assert rule_lines(text) == [UNMANAGED] + MODULES
    assert text.startswith("# Managed by hyperv.netvsc.netvsc_pair, pairing dpdk0 (NetVSC MAC %s).\n" % MAC)
    assert "DPDK owns this pairing's SR-IOV VF" in text
    assert "the VF can come back as another kind" in text  # why every kind is listed
    assert "01-hyperv-netvsc-vf-dpdk0.network" in text


def test_rule_lines_one_option():
    assert rule_lines(_vfpolicy.udev_rule("dpdk0", MAC, unmanaged=False)) == MODULES
    only = _vfpolicy.udev_rule("dpdk0", MAC, modules=False)
    assert rule_lines(only) == [UNMANAGED] and "kmod" not in only
    assert _vfpolicy.udev_rule("dpdk0", MAC, unmanaged=False, modules=False) is None


def test_rule_syntax():
    for line in rule_lines(_vfpolicy.udev_rule("dpdk0", MAC)):
        pairs = parse_rule_line(line)
        assert pairs[:4] == [("SUBSYSTEM", None, "==", "net"), ("ACTION", None, "!=", "remove"),
                             ("SUBSYSTEMS", None, "==", "pci"), ("ATTR", "address", "==", MAC)]
        for key, attr, op, value in pairs:
            if key == "RUN":
                assert attr == "builtin" and op == "+=" and value.split()[:2] == ["kmod", "load"]


def test_one_module_line_per_known_kind():
    """Every VF kind the scanner can report has its driver and modules, and nothing else."""
    known = set(_scan.KINDS) - {"unknown"}
    assert set(_vfpolicy.KIND_MODULES) == known == set(_scan.VF_KINDS.values())
    text = _vfpolicy.udev_rule("dpdk0", MAC, unmanaged=False)
    drivers = [dict((k, v) for k, _a, _o, v in parse_rule_line(line))["DRIVERS"]
               for line in rule_lines(text)]
    assert drivers == [_vfpolicy.KIND_MODULES[kind][0] for kind in _scan.KINDS if kind in known]
    for _driver, modules in _vfpolicy.KIND_MODULES.values():
        assert modules[-1] == "ib_uverbs"


def test_network_file():
    text = _vfpolicy.network_file("dpdk0", MAC)
    assert text.startswith("# Managed by hyperv.netvsc.netvsc_pair, pairing dpdk0 (NetVSC MAC %s).\n" % MAC)
    assert "90-hyperv-netvsc-vf-dpdk0.rules" in text
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body == ["[Match]", "MACAddress=%s" % MAC, "Property=NETVSC_VF_UNMANAGED=1", "",
                    "[Link]", "Unmanaged=yes"]
    parser = configparser.ConfigParser(comment_prefixes=("#",))
    parser.optionxform = str
    parser.read_string(text)
    assert dict(parser["Match"]) == {"MACAddress": MAC, "Property": "NETVSC_VF_UNMANAGED=1"}
    assert dict(parser["Link"]) == {"Unmanaged": "yes"}


def files(tmp_path, mac=MAC, **options):
    return _vfpolicy.files("dpdk0", mac, str(tmp_path / "rules.d"), str(tmp_path / "network"),
                           **options)


def test_files_paths_and_options(tmp_path):
    rule = str(tmp_path / "rules.d" / "90-hyperv-netvsc-vf-dpdk0.rules")
    network = str(tmp_path / "network" / "01-hyperv-netvsc-vf-dpdk0.network")
    both = files(tmp_path)
    assert both == {"udev_rule": (rule, _vfpolicy.udev_rule("dpdk0", MAC)),
                    "network": (network, _vfpolicy.network_file("dpdk0", MAC))}
    assert _vfpolicy.written(both) == {"udev_rule": rule, "network": network}
    modules = files(tmp_path, unmanaged=False)
    assert modules["network"] == (network, None)
    assert _vfpolicy.written(modules) == {"udev_rule": rule, "network": None}
    off = files(tmp_path, mac=None, unmanaged=False, modules=False)
    assert off == {"udev_rule": (rule, None), "network": (network, None)}
    assert _vfpolicy.written(off) == _vfpolicy.written({}) == {"udev_rule": None, "network": None}


def test_plan_writes_then_is_empty(tmp_path):
    wanted = files(tmp_path)
    plan = _vfpolicy.plan(wanted)
    assert not (tmp_path / "rules.d").exists()  # planning only reads
    (rule, rule_text), (network, network_text) = wanted.values()
    assert plan.descriptions == ["create directory %s" % (tmp_path / "rules.d"), "write %s" % rule,
                                 "create directory %s" % (tmp_path / "network"), "write %s" % network]
    assert plan.creates == [(str(tmp_path / "rules.d"), "directory"), (rule, "file"),
                            (str(tmp_path / "network"), "directory"), (network, "file")]
    assert plan.diffs == [{"before_header": "%s (absent)" % path, "after_header": path,
                           "before": "", "after": text}
                          for path, text in wanted.values()]
    plan.apply()
    for path, text in wanted.values():
        with open(path) as handle:
            assert handle.read() == text
    for directory in ("rules.d", "network"):
        assert oct((tmp_path / directory).stat().st_mode & 0o777) == "0o755"
    assert oct((tmp_path / "network" / "01-hyperv-netvsc-vf-dpdk0.network").stat().st_mode & 0o777) == "0o644"
    assert not _vfpolicy.plan(files(tmp_path)).changed


def test_plan_rewrites_changed_content(tmp_path):
    _vfpolicy.plan(files(tmp_path)).apply()
    plan = _vfpolicy.plan(files(tmp_path, unmanaged=False))
    rule, network = (path for path, _text in files(tmp_path).values())
    assert plan.descriptions == ["write %s" % rule, "remove %s" % network]
    assert plan.diffs[0]["before"] == _vfpolicy.udev_rule("dpdk0", MAC)
    assert plan.diffs[1]["after"] == ""
    plan.apply()
    assert not (tmp_path / "network" / "01-hyperv-netvsc-vf-dpdk0.network").exists()


def test_both_options_off_removes_files(tmp_path):
    """Also what state=absent plans: no mac needed, every file of the pairing goes."""
    assert not _vfpolicy.plan(files(tmp_path, mac=None, unmanaged=False, modules=False)).changed
    _vfpolicy.plan(files(tmp_path)).apply()
    plan = _vfpolicy.plan(files(tmp_path, mac=None, unmanaged=False, modules=False))
    assert [d["after"] for d in plan.diffs] == ["", ""]
    assert [d["before"] for d in plan.diffs] == [text for _path, text in files(tmp_path).values()]
    plan.apply()
    assert list((tmp_path / "rules.d").iterdir()) == [] and list((tmp_path / "network").iterdir()) == []


def test_a_file_in_the_way_of_a_directory_is_refused_while_planning(tmp_path):
    (tmp_path / "network").write_text("")  # a file where the directory should be
    with pytest.raises(_binding.PlanError, match=r"/network exists and is not a directory$"):
        _vfpolicy.plan(files(tmp_path))


def test_write_failure_is_a_plan_error(tmp_path):
    plan = _vfpolicy.plan(files(tmp_path))
    (tmp_path / "network").write_text("")  # appears between planning and applying
    with pytest.raises(_binding.PlanError, match=r"cannot create directory .*/network \(a file is in the way\)"):
        plan.apply()
