# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Strict declarations: every malformed or hostile file is refused with its name and field."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _declarations as decls
from ansible_collections.hyperv.netvsc.tests.fixtures.declarations import (
    GOOD, MALFORMED, NEEDS_ROOT, write_good)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "pairs.d"
    path.mkdir()
    return path


def test_a_good_declaration_loads_normalised(config):
    data = dict(GOOD, netvsc={"mac": "00-0D-3A-03-1E-B1", "name": "eth1",
                              "vmbus_id": "{000D3A03-1EB1-000D-3A03-1EB1000D3A03}"})
    (config / "dpdk0.json").write_text(json.dumps(data))
    loaded = decls.load(str(config / "dpdk0.json"))
    assert loaded["netvsc"] == {"mac": "00:0d:3a:03:1e:b1", "name": "eth1",
                                "vmbus_id": "000d3a03-1eb1-000d-3a03-1eb1000d3a03"}
    assert decls.dumps(loaded) == decls.dumps(decls.validate(loaded, "again"))


@pytest.mark.parametrize("case", sorted(MALFORMED), ids=str)
def test_each_malformed_file_is_refused_and_the_good_one_still_loads(config, case):
    if case in NEEDS_ROOT and os.geteuid() != 0:
        pytest.skip("needs root to plant a file owned by another user")
    write_good(config)
    expected = MALFORMED[case](config)
    declarations, errors = decls.load_all(str(config))
    assert [d["id"] for d in declarations] == ["dpdk0"]
    assert len(errors) == 1, errors
    assert errors[0].startswith(str(config)), errors
    assert expected in errors[0], errors


def test_a_missing_directory_is_empty(tmp_path):
    assert decls.load_all(str(tmp_path / "none")) == ([], [])


def test_an_untrusted_directory_is_not_read(config):
    write_good(config)
    os.chmod(str(config), 0o777)
    declarations, errors = decls.load_all(str(config))
    assert declarations == [] and len(errors) == 1
    assert "writable by its group or by others (mode 0777); no declaration read from it" in errors[0]


@pytest.mark.parametrize("field, value, message", [
    ("driver", "vfio", "driver must be one of hv_netvsc, uio_hv_generic, not a string \"vfio\""),
    ("force", 1, "force must be true or false, not a number 1"),
    ("pair_id", "Bad-Id", "id must be a string matching"),
])
def test_build_refuses_what_a_reader_would_refuse(field, value, message):
    args = {"pair_id": "dpdk0", "iface": dict(GOOD["netvsc"]), "driver": "hv_netvsc", "force": False}
    args[field] = value
    with pytest.raises(decls.DeclarationError, match="^the declaration of pairing "):
        try:
            decls.build(**args)
        except decls.DeclarationError as exc:
            assert message in str(exc)
            raise


def test_build_refuses_a_missing_mac():
    with pytest.raises(decls.DeclarationError, match="netvsc.mac must be a MAC .* not null"):
        decls.build("dpdk0", dict(GOOD["netvsc"], mac=None))


def test_known_macs_leave_out_a_guid_declared_with_two_macs():
    first = decls.validate(GOOD, "a")
    second = decls.validate(dict(GOOD, id="dpdk1", netvsc=dict(GOOD["netvsc"], mac="00:0d:3a:00:00:01")), "b")
    guid = GOOD["netvsc"]["vmbus_id"]
    assert decls.known_macs([first]) == {guid: "00:0d:3a:03:1e:b1"}
    assert decls.known_macs([first, second]) == {}


def test_default_id_takes_any_mac_form():
    assert decls.default_id("00-0D-3A-03-1E-B1") == "000d3a031eb1"


@pytest.mark.parametrize("pair_id", ["dpdk0\n", "dpdk0\r", "", "Dpdk0", "a" * 33, None, 5])
def test_an_id_is_matched_whole(pair_id):
    with pytest.raises(decls.DeclarationError, match="must match"):
        decls.check_id(pair_id)
    with pytest.raises(decls.DeclarationError, match="id must be a string matching"):
        decls.validate(dict(GOOD, id=pair_id), "x")
