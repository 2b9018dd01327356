# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every role's defaults/main.yml and meta/argument_specs.yml list the same variables, and
each default has the documented type, default value and (if any) choice."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

COLLECTION = Path(__file__).resolve().parents[3]
ROLES = sorted(p.parent.parent for p in COLLECTION.glob("roles/*/meta/argument_specs.yml"))

TYPES = {
    "str": str, "path": str, "int": int, "float": (int, float), "bool": bool,
    "list": list, "dict": dict,
}


def _load(role):
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    return defaults, specs["argument_specs"]["main"]["options"]


def test_roles_found():
    assert [r.name for r in ROLES] == sorted(p.name for p in COLLECTION.glob("roles/*") if p.is_dir())
    assert ROLES


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_defaults_and_spec_list_the_same_variables(role):
    defaults, options = _load(role)
    assert sorted(set(defaults) - set(options)) == [], "defaults missing from argument_specs"
    assert sorted(set(options) - set(defaults)) == [], "argument_specs options without a default"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_default_types_values_and_choices_match(role):
    defaults, options = _load(role)
    for name, option in options.items():
        assert option.get("description"), "%s has no description" % name
        assert name.startswith("netvsc_"), name
        value = defaults[name]
        kind = option.get("type", "str")
        if kind != "raw":
            expected = TYPES[kind]
            assert isinstance(value, expected), "%s: default %r is not %s" % (name, value, kind)
            if kind in ("int", "float"):
                assert not isinstance(value, bool), name
        assert option.get("default") == value, "%s: spec default %r != defaults %r" % (
            name, option.get("default"), value)
        if "choices" in option:
            assert value in option["choices"], name
        if kind == "list":
            assert "elements" in option, "%s: list without elements" % name
            if option["elements"] != "raw":
                assert all(isinstance(v, TYPES[option["elements"]]) for v in value), name


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_meta_main_names_the_role(role):
    meta = yaml.safe_load((role / "meta" / "main.yml").read_text())["galaxy_info"]
    assert meta["namespace"] == "hyperv"
    assert meta["role_name"] == role.name
    assert meta["platforms"] and meta["min_ansible_version"]
