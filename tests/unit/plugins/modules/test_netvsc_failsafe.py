# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netvsc_failsafe through the real AnsibleModule entry point, on fixture sysfs trees."""

from __future__ import annotations

import json
import os
import shlex

import pytest


from ansible_collections.hyperv.netvsc.plugins.module_utils import _declarations, _devargs
from ansible_collections.hyperv.netvsc.plugins.modules import netvsc_failsafe
from ansible_collections.hyperv.netvsc.tests.unit.plugins.modules.utils import run_module
from ansible_collections.hyperv.netvsc.tests.fixtures import os_tree
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import CASES, build, netvsc_guid_from_mac, remove_vf

ETH1 = {"mac": "00:0d:3a:03:1e:b1", "name": "eth1", "vmbus_id": "000d3a03-1eb1-000d-3a03-1eb1000d3a03"}
ETH2 = {"mac": "00:0d:3a:03:18:c9", "name": "eth2", "vmbus_id": "000d3a03-18c9-000d-3a03-18c9000d3a03"}


def ident(mac, name):
    """A declaration's netvsc identity with the GUID Azure derives from the MAC."""
    return {"mac": mac, "name": name, "vmbus_id": netvsc_guid_from_mac(mac)}


FS_ETH1 = ("net_failsafe_dpdk0,mac=00:0d:3a:03:1e:b1,hotplug_poll=200,"
           "exec(cat /run/netvsc/dpdk0.vf),dev(net_tap_dpdk0,remote=eth1)")


def run(capsys, args, check_mode=False, diff=False):
    return run_module(netvsc_failsafe, capsys, args, check_mode, diff)


class Env:
    def __init__(self, tmp_path, case="cx5_4nic"):
        """case: a CASES name or a spec."""
        self.tmp = tmp_path
        self.root = tmp_path / "sys"
        build(CASES[case] if isinstance(case, str) else case, str(self.root))
        self.config_dir = tmp_path / "pairs.d"
        self.config_dir.mkdir()

    def declare(self, pair_id, netvsc, driver="hv_netvsc", force=False):
        declaration = _declarations.build(pair_id, netvsc, driver, force=force)
        (self.config_dir / (pair_id + ".json")).write_text(_declarations.dumps(declaration))

    def args(self, **kwargs):
        args = dict(sysfs_root=str(self.root), config_dir=str(self.config_dir))
        args.update(kwargs)
        return args


@pytest.fixture
def env(tmp_path):
    env = Env(tmp_path)
    env.declare("dpdk0", ETH1)
    env.declare("dpdk1", ETH2, force=True)
    return env


def test_failsafe_default_renders_every_declaration(env, capsys):
    result = run(capsys, env.args())
    assert result["rc"] == 0, result
    assert result["changed"] is False and result["files"] == {}
    fs_eth2 = FS_ETH1.replace("dpdk0", "dpdk1").replace("1e:b1", "18:c9").replace("eth1", "eth2")
    assert result["eal_args"] == ["--vdev", "net_vdev_netvsc0,ignore=1",
                                  "--vdev", FS_ETH1, "--vdev", fs_eth2]
    assert result["devargs"] == {"dpdk0": [FS_ETH1], "dpdk1": [fs_eth2]}
    assert result["mode"] == {"dpdk0": "failsafe", "dpdk1": "failsafe"}
    assert result["content"] == "".join(a + "\n" for a in result["eal_args"])
    assert result["pairs"]["dpdk0"] == {"netvsc_name": "eth1", "mac": ETH1["mac"],
                                        "present": True, "vf": "a2a3:00:02.0", "mode": "failsafe",
                                        "mode_reason": "mode failsafe was asked for"}
    assert result["ports"] == [
        {"position": 0, "id": "dpdk0", "device": "net_failsafe_dpdk0", "mode": "failsafe",
         "netvsc": "eth1", "mac": ETH1["mac"], "vmbus_id": ETH1["vmbus_id"]},
        {"position": 1, "id": "dpdk1", "device": "net_failsafe_dpdk1", "mode": "failsafe",
         "netvsc": "eth2", "mac": ETH2["mac"], "vmbus_id": ETH2["vmbus_id"]}]


def test_pairs_select_and_order(env, capsys):
    result = run(capsys, env.args(pairs=["eth2", "dpdk0"], hotplug_poll=500,
                                  state_dir="/run/dpdk-state"))
    assert result["rc"] == 0, result
    assert list(result["devargs"]) == ["dpdk1", "dpdk0"]
    assert result["eal_args"][3].startswith("net_failsafe_dpdk1,")
    assert "hotplug_poll=500,exec(cat /run/dpdk-state/dpdk0.vf)" in result["devargs"]["dpdk0"][0]
    by_mac = run(capsys, env.args(pairs=[ETH2["mac"]]))
    assert list(by_mac["devargs"]) == ["dpdk1"]


def test_vf_files_are_the_files_exec_reads_in_port_order(env, capsys):
    result = run(capsys, env.args(pairs=["eth2", "dpdk0"], state_dir="/run/dpdk-state/"))
    assert result["vf_files"] == ["/run/dpdk-state/dpdk1.vf", "/run/dpdk-state/dpdk0.vf"]
    for pair_id, path in zip(result["devargs"], result["vf_files"]):
        assert "exec(cat %s)" % path in result["devargs"][pair_id][0]
    # Also where no pairing reads them (the netvsc PMD): the role records them only with the
    # monitor; a state directory the shell would expand is refused as in exec().
    assert run(capsys, env.args(mode="vdev_netvsc"))["vf_files"] == [
        "/run/netvsc/dpdk0.vf", "/run/netvsc/dpdk1.vf"]
    bad = run(capsys, env.args(mode="vdev_netvsc", state_dir="/run/$(reboot)"))
    assert bad["rc"] == 1 and "state_dir" in bad["msg"] and "vf_files" not in bad, bad


def test_unknown_pair(env, capsys):
    result = run(capsys, env.args(pairs=["eth3"]))
    assert result["rc"] == 1
    assert result["msg"] == "no valid pairing declaration matches eth3; declared pairings: dpdk0, dpdk1"


def test_vdev_netvsc_mode_uses_force(env, capsys):
    result = run(capsys, env.args(mode="vdev_netvsc"))
    assert result["rc"] == 0, result
    assert result["eal_args"] == ["--vdev", "net_vdev_netvsc0,iface=eth1",
                                  "--vdev", "net_vdev_netvsc1,iface=eth2,force=1"]
    assert result["mode"] == {"dpdk0": "vdev_netvsc", "dpdk1": "vdev_netvsc"}


def test_netvsc_pmd_needs_uio(env, capsys):
    result = run(capsys, env.args(mode="netvsc_pmd"))
    assert result["rc"] == 1
    assert "mode netvsc_pmd needs the NetVSC bound to uio_hv_generic" in result["msg"]
    assert "pairing dpdk0" in result["msg"]


def uio_env(tmp_path):
    env = Env(tmp_path, "uio_bound")
    env.declare("pmd0", ETH1, driver="uio_hv_generic")
    return env


def test_netvsc_pmd_on_uio_bound(tmp_path, capsys):
    env = uio_env(tmp_path)
    result = run(capsys, env.args(mode="netvsc_pmd"))
    assert result["rc"] == 0, result
    assert result["eal_args"] == ["-a", "a2a3:00:02.0"]
    assert result["mode"] == {"pmd0": "netvsc_pmd"}
    assert result["pairs"]["pmd0"]["netvsc_name"] is None
    auto = run(capsys, env.args(mode="auto"))
    assert auto["eal_args"] == ["-a", "a2a3:00:02.0"] and auto["mode"] == {"pmd0": "netvsc_pmd"}
    failsafe = run(capsys, env.args())
    assert failsafe["rc"] == 1
    assert "mode failsafe needs the NetVSC's kernel netdev" in failsafe["msg"]


def test_auto_mixes_modes(tmp_path, capsys):
    env = uio_env(tmp_path)
    env.declare("dpdk9", ident("00:0d:3a:03:16:46", "eth0"))
    result = run(capsys, env.args(mode="auto"))
    assert result["rc"] == 0, result
    assert result["mode"] == {"dpdk9": "failsafe", "pmd0": "netvsc_pmd"}
    assert result["eal_args"][:2] == ["--vdev", "net_vdev_netvsc0,ignore=1"]
    assert result["eal_args"][-2:] == ["-a", "a2a3:00:02.0"]


def test_mana_failsafe_refused(tmp_path, capsys):
    env = Env(tmp_path, "mana_shared_pci")
    env.declare("mana1", {"mac": "60:45:bd:f3:fb:7b", "name": "eth1",
                          "vmbus_id": "f8615163-0000-1000-2000-6045bdf3fb7b"})
    result = run(capsys, env.args())
    assert result["rc"] == 1
    assert result["msg"].startswith("pairing mana1: mode failsafe is not valid for it: its VF "
                                    "7870:00:00.0 is a MANA device")


def test_absent_netvsc_renders_from_declaration(env, capsys):
    env.declare("gone", ident("00:0d:3a:99:99:99", "eth7"))
    result = run(capsys, env.args(pairs=["gone"]))
    assert result["rc"] == 0, result
    assert result["devargs"]["gone"] == [
        "net_failsafe_gone,mac=00:0d:3a:99:99:99,hotplug_poll=200,"
        "exec(cat /run/netvsc/gone.vf),dev(net_tap_gone,remote=eth7)"]
    assert result["pairs"]["gone"]["present"] is False
    assert any("the NetVSC eth7 (MAC 00:0d:3a:99:99:99) is not present now" in w
               for w in result["warnings"])


def test_vf_absent_renders_failsafe(tmp_path, capsys):
    env = Env(tmp_path, "vf_absent_servicing")
    env.declare("svc", ident("00:0d:3a:f5:81:02", "eth1"))
    result = run(capsys, env.args())
    assert result["rc"] == 0, result
    assert result["pairs"]["svc"]["vf"] is None
    assert "exec(cat /run/netvsc/svc.vf)" in result["devargs"]["svc"][0]


def test_malformed_declaration_is_skipped_with_a_warning(env, capsys):
    (env.config_dir / "bad.json").write_text('{"format": 1, "id": "bad"}')
    result = run(capsys, env.args())
    assert result["rc"] == 0, result
    assert sorted(result["pairs"]) == ["dpdk0", "dpdk1"]
    assert any("bad.json: driver is missing" in w for w in result["warnings"]), result["warnings"]
    asked = run(capsys, env.args(pairs=["bad"]))
    assert asked["rc"] == 1 and "no valid pairing declaration matches bad" in asked["msg"]


def test_no_declarations(tmp_path, capsys):
    env = Env(tmp_path)
    result = run(capsys, env.args())
    assert result["rc"] == 1
    assert "no valid pairing declarations in %s" % env.config_dir in result["msg"]


def test_not_hyperv(tmp_path, capsys):
    env = Env(tmp_path, "kvm_virtio")
    env.declare("dpdk0", ETH1)
    result = run(capsys, env.args())
    assert result["rc"] == 1
    assert result["msg"] == "this host is not a Hyper-V/Azure guest (no VMBus in %s)" % env.root


def test_devargs_error_is_reported(env, capsys):
    result = run(capsys, env.args(state_dir="/run/my state"))
    assert result["rc"] == 1
    assert "state_dir" in result["msg"] and "Traceback" not in json.dumps(result)
    result = run(capsys, env.args(hotplug_poll=0))
    assert result["rc"] == 1 and "hotplug_poll must be a positive integer" in result["msg"]


def test_format_env(env, capsys):
    result = run(capsys, env.args(pairs=["dpdk0"], format="env"))
    assert result["rc"] == 0, result
    eal_line, ports_line = result["content"].splitlines()
    assert eal_line + "\n" == _devargs.format_env(result["eal_args"])
    assert eal_line.startswith('NETVSC_EAL_ARGS="--vdev net_vdev_netvsc0,ignore=1 --vdev \'')
    value = eal_line.split("=", 1)[1].strip()
    assert shlex.split(shlex.split(value)[0]) == result["eal_args"]
    assert ports_line == 'NETVSC_DPDK_PORTS="net_failsafe_dpdk0"'


def test_format_json(env, capsys):
    result = run(capsys, env.args(format="json"))
    data = json.loads(result["content"])
    assert data["eal_args"] == result["eal_args"] and data["modes"] == result["mode"]


def test_dest_write_check_diff_idempotence(env, capsys):
    dest = env.tmp / "eal.env"
    check = run(capsys, env.args(dest=str(dest), format="env"), check_mode=True, diff=True)
    assert check["rc"] == 0 and check["changed"] is True, check
    assert not dest.exists()
    assert check["diff"]["before"] == "" and check["diff"]["after"] == check["content"]
    assert check["diff"]["before_header"] == "%s (absent)" % dest

    first = run(capsys, env.args(dest=str(dest), format="env", dest_mode="0640"))
    assert first["rc"] == 0 and first["changed"] is True, first
    assert first["mode"] == {"dpdk0": "failsafe", "dpdk1": "failsafe"}  # not file stats
    assert first["files"] == {str(dest): "written"}
    assert dest.read_text() == first["content"]
    assert oct(dest.stat().st_mode & 0o777) == "0o640"

    second = run(capsys, env.args(dest=str(dest), format="env", dest_mode="0640"), diff=True)
    assert second["changed"] is False and "diff" not in second
    assert second["files"] == {str(dest): "unchanged"}

    mode_only = run(capsys, env.args(dest=str(dest), format="env", dest_mode="0644"))
    assert mode_only["changed"] is True and oct(dest.stat().st_mode & 0o777) == "0o644"

    env.declare("dpdk0", ETH1, force=True)  # no change for fail-safe: content is the same
    same = run(capsys, env.args(dest=str(dest), format="env"))
    assert same["changed"] is False

    changed = run(capsys, env.args(dest=str(dest), format="env", hotplug_poll=1000), diff=True)
    assert changed["changed"] is True
    assert "hotplug_poll=200," in changed["diff"]["before"]
    assert "hotplug_poll=1000" in changed["diff"]["after"]
    assert "hotplug_poll=1000" in dest.read_text()

    check_change = run(capsys, env.args(dest=str(dest), format="args"), check_mode=True)
    assert check_change["changed"] is True and "hotplug_poll=1000" in dest.read_text()


def test_dest_mode_requires_dest_or_args_dir(env, capsys):
    result = run(capsys, env.args(dest_mode="0644", owner="root"))
    assert result["rc"] == 1
    assert result["msg"] == ("dest_mode, owner: only with dest, port_map or args_dir (they apply "
                             "to the files this module writes)")
    with_args_dir = run(capsys, env.args(dest_mode="0600", args_dir=str(env.tmp / "eal.d")))
    assert with_args_dir["rc"] == 0, with_args_dir
    assert oct((env.tmp / "eal.d" / "dpdk0.args").stat().st_mode & 0o777) == "0o600"


def single_pair_args(env, capsys, pair_id, **kwargs):
    """What format args with pairs [pair_id] renders: the expected <args_dir>/<id>.args."""
    result = run(capsys, env.args(pairs=[pair_id], format="args", **kwargs))
    assert result["rc"] == 0, result
    return result["content"]


def test_args_dir_writes_one_file_per_pairing(env, capsys):
    etc = env.tmp / "etc" / "netvsc"
    dest, args_dir = etc / "eal.env", etc / "eal.d"
    args = env.args(dest=str(dest), format="env", args_dir=str(args_dir), mode="vdev_netvsc")
    umask = os.umask(0o077)
    try:
        result = run(capsys, args)
    finally:
        os.umask(umask)
    assert result["rc"] == 0 and result["changed"] is True, result
    assert dest.read_text() == result["content"] == _devargs.format_env(result["eal_args"]) + (
        'NETVSC_DPDK_PORTS="net_failsafe_vsc0 net_failsafe_vsc1"\n')
    assert sorted(p.name for p in args_dir.iterdir()) == ["dpdk0.args", "dpdk1.args"]
    for pair_id in ("dpdk0", "dpdk1"):
        alone = single_pair_args(env, capsys, pair_id, mode="vdev_netvsc")
        assert (args_dir / (pair_id + ".args")).read_text() == alone
    # Rendered alone: dpdk1 is net_vdev_netvsc0 in its file, net_vdev_netvsc1 in eal.env.
    assert (args_dir / "dpdk1.args").read_text() == "--vdev\nnet_vdev_netvsc0,iface=eth2,force=1\n"
    assert result["files"] == {str(dest): "written", str(args_dir / "dpdk0.args"): "written",
                               str(args_dir / "dpdk1.args"): "written"}
    for directory in (etc.parent, etc, args_dir):  # created like mkdir -p, 0755 whatever the umask
        assert oct(directory.stat().st_mode & 0o777) == "0o755"

    second = run(capsys, args, diff=True)
    assert second["changed"] is False and "diff" not in second
    assert set(second["files"].values()) == {"unchanged"}


def test_args_dir_failsafe_file_matches_single_pair_rendering(env, capsys):
    args_dir = env.tmp / "eal.d"
    result = run(capsys, env.args(args_dir=str(args_dir), hotplug_poll=700,
                                  state_dir="/run/dpdk-state"))
    assert result["rc"] == 0 and result["changed"] is True, result
    content = (args_dir / "dpdk0.args").read_text()
    assert content == single_pair_args(env, capsys, "dpdk0", hotplug_poll=700,
                                       state_dir="/run/dpdk-state")
    assert content.splitlines() == ["--vdev", "net_vdev_netvsc0,ignore=1", "--vdev",
                                    FS_ETH1.replace("=200,", "=700,").replace(
                                        "/run/netvsc", "/run/dpdk-state")]
    assert result["files"] == {
        str(args_dir / "dpdk0.args"): "written", str(args_dir / "dpdk1.args"): "written"}


def test_args_dir_removes_stale_pairings_only(env, capsys):
    args_dir = env.tmp / "eal.d"
    args_dir.mkdir()
    (args_dir / "old0.args").write_text("--vdev\nold\n")
    keep = {"notes.txt": "x", "Upper.args": "x", "has-dash.args": "x", "dpdk0.args.bak": "x"}
    for name, text in keep.items():
        (args_dir / name).write_text(text)
    (args_dir / "dir0.args").mkdir()  # not a regular file
    (args_dir / "link0.args").symlink_to(args_dir / "notes.txt")

    check = run(capsys, env.args(args_dir=str(args_dir), pairs=["dpdk0"]), check_mode=True,
                diff=True)
    assert check["rc"] == 0 and check["changed"] is True, check
    assert check["files"] == {str(args_dir / "dpdk0.args"): "written",
                              str(args_dir / "old0.args"): "removed"}
    assert (args_dir / "old0.args").exists() and not (args_dir / "dpdk0.args").exists()

    # pairs selects dpdk0 only, so dpdk1.args is stale too: args_dir holds the selection.
    (args_dir / "dpdk1.args").write_text("--vdev\nsomething\n")
    result = run(capsys, env.args(args_dir=str(args_dir), pairs=["dpdk0"]), diff=True)
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["files"] == {str(args_dir / "dpdk0.args"): "written",
                               str(args_dir / "dpdk1.args"): "removed",
                               str(args_dir / "old0.args"): "removed"}
    assert sorted(p.name for p in args_dir.iterdir()) == sorted(
        list(keep) + ["dir0.args", "dpdk0.args", "link0.args"])
    removed = [d for d in result["diff"] if d["after"] == ""]
    assert removed == [
        {"before_header": str(args_dir / "dpdk1.args"),
         "after_header": "%s (absent)" % (args_dir / "dpdk1.args"),
         "before": "--vdev\nsomething\n", "after": ""},
        {"before_header": str(args_dir / "old0.args"),
         "after_header": "%s (absent)" % (args_dir / "old0.args"),
         "before": "--vdev\nold\n", "after": ""}]


def test_args_dir_check_mode_and_diff(env, capsys):
    dest, args_dir = env.tmp / "new" / "eal.env", env.tmp / "new" / "eal.d"
    args = env.args(dest=str(dest), format="env", args_dir=str(args_dir))
    check = run(capsys, args, check_mode=True, diff=True)
    assert check["rc"] == 0 and check["changed"] is True, check
    assert not (env.tmp / "new").exists()  # no directory created either
    assert set(check["files"].values()) == {"written"}
    assert [(d["before_header"], d["after_header"]) for d in check["diff"]] == [
        ("%s (absent)" % path, str(path))
        for path in (dest, args_dir / "dpdk0.args", args_dir / "dpdk1.args")]
    assert check["diff"][0]["after"] == check["content"]
    assert check["diff"][1]["after"] == single_pair_args(env, capsys, "dpdk0")

    first = run(capsys, args)
    assert first["changed"] is True and dest.exists()
    changed = run(capsys, env.args(dest=str(dest), format="env", args_dir=str(args_dir),
                                   pairs=["dpdk1"], hotplug_poll=900), check_mode=True, diff=True)
    assert changed["changed"] is True
    assert changed["files"] == {str(dest): "written", str(args_dir / "dpdk1.args"): "written",
                                str(args_dir / "dpdk0.args"): "removed"}
    assert [d["after_header"] for d in changed["diff"]] == [
        str(dest), str(args_dir / "dpdk1.args"), "%s (absent)" % (args_dir / "dpdk0.args")]
    assert "hotplug_poll=900" in changed["diff"][1]["after"]
    assert "hotplug_poll=200," in changed["diff"][1]["before"]
    assert (args_dir / "dpdk0.args").exists() and "hotplug_poll=200," in dest.read_text()


def test_args_dir_mode_change_only(env, capsys):
    args_dir = env.tmp / "eal.d"
    assert run(capsys, env.args(args_dir=str(args_dir), dest_mode="0644"))["changed"] is True
    check = run(capsys, env.args(args_dir=str(args_dir), dest_mode="0640"), check_mode=True)
    assert check["changed"] is True and set(check["files"].values()) == {"unchanged"}
    assert oct((args_dir / "dpdk0.args").stat().st_mode & 0o777) == "0o644"
    result = run(capsys, env.args(args_dir=str(args_dir), dest_mode="0640"))
    assert result["changed"] is True and set(result["files"].values()) == {"unchanged"}
    for name in ("dpdk0.args", "dpdk1.args"):
        assert oct((args_dir / name).stat().st_mode & 0o777) == "0o640"


def test_args_dir_is_a_file(env, capsys):
    args_dir, dest = env.tmp / "eal.d", env.tmp / "eal.env"
    args_dir.write_text("not a directory")
    result = run(capsys, env.args(dest=str(dest), args_dir=str(args_dir)))
    assert result["rc"] == 1
    assert result["msg"] == "args_dir %s: %s exists and is not a directory" % (args_dir, args_dir)
    assert not dest.exists() and "Traceback" not in json.dumps(result)  # nothing half-written


def test_dest_parent_is_a_file(env, capsys):
    (env.tmp / "plain").write_text("")
    dest = env.tmp / "plain" / "sub" / "eal.env"
    result = run(capsys, env.args(dest=str(dest)))
    assert result["rc"] == 1
    assert result["msg"] == "dest %s: %s exists and is not a directory" % (dest, env.tmp / "plain")


def test_dest_is_a_directory(env, capsys):
    result = run(capsys, env.args(dest=str(env.tmp)))
    assert result["rc"] == 1 and result["msg"] == "dest %s: %s is a directory" % (env.tmp, env.tmp)


@pytest.mark.parametrize("option", ["dest", "port_map"])
def test_an_output_inside_args_dir(env, capsys, option):
    args_dir = env.tmp / "eal.d"
    clash = run(capsys, env.args(**{option: str(args_dir / "dpdk1.args"), "args_dir": str(args_dir)}))
    assert clash["rc"] == 1
    assert clash["msg"] == "%s %s is also the args_dir file of pairing dpdk1" % (
        option, args_dir / "dpdk1.args")
    assert not args_dir.exists()


def test_dest_named_like_a_stale_args_file(env, capsys):
    args_dir = env.tmp / "eal.d"
    # A dest named like a stale .args file is not removed by the same call.
    dest = args_dir / "all.args"
    first = run(capsys, env.args(dest=str(dest), args_dir=str(args_dir)))
    assert first["rc"] == 0 and first["files"][str(dest)] == "written", first
    second = run(capsys, env.args(dest=str(dest), args_dir=str(args_dir)))
    assert second["changed"] is False and dest.exists()


def test_unreadable_stale_file_fails_before_writing(env, capsys, monkeypatch):
    args_dir = env.tmp / "eal.d"
    args_dir.mkdir()
    (args_dir / "old0.args").write_text("x")
    real_open = os.open

    def deny(path, *args, **kwargs):
        if str(path).endswith("old0.args"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    result = run(capsys, env.args(args_dir=str(args_dir)))
    assert result["rc"] == 1
    assert result["msg"] == "args_dir %s: cannot read %s (Permission denied)" % (args_dir, args_dir / "old0.args")
    assert sorted(p.name for p in args_dir.iterdir()) == ["old0.args"]


def test_manifest_records_what_was_created_and_only_that(env, capsys):
    etc = env.tmp / "etc"
    etc.mkdir()
    manifest = env.tmp / "var" / "lib" / "hyperv-netvsc" / "manifest.json"
    dest, args_dir = etc / "netvsc" / "eal.env", etc / "netvsc" / "eal.d"
    args = env.args(dest=str(dest), format="env", args_dir=str(args_dir), manifest=str(manifest))
    check = run(capsys, args, check_mode=True)
    assert check["changed"] is True and not manifest.exists()
    result = run(capsys, args)
    assert result["rc"] == 0, result
    recorded = json.loads(manifest.read_text())
    assert recorded["files"] == sorted([str(dest), str(args_dir / "dpdk0.args"), str(args_dir / "dpdk1.args")])
    # etc existed before: only the directories this call made are recorded.
    assert recorded["directories"] == sorted([str(etc / "netvsc"), str(args_dir), str(manifest.parent),
                                              str(manifest.parent.parent), str(manifest.parent.parent.parent)])
    stamp = manifest.stat().st_mtime_ns
    assert run(capsys, args)["changed"] is False
    assert manifest.stat().st_mtime_ns == stamp  # nothing new to record: not rewritten


def test_a_foreign_manifest_fails_before_any_write(env, capsys):
    manifest = env.tmp / "manifest.json"
    manifest.write_text('{"collection": "someone.else", "format": 1}')
    os.chmod(str(manifest), 0o600)
    dest = env.tmp / "etc" / "eal.env"
    result = run(capsys, env.args(dest=str(dest), manifest=str(manifest)))
    assert result["rc"] == 1
    assert result["msg"] == "%s is not a format 1 manifest of hyperv.netvsc" % manifest
    assert not (env.tmp / "etc").exists()


# ---------------------------------------------------------------- port order and port map

def natural_env(tmp_path):
    """Three NetVSCs whose ids sort apart from their names: eth10 (id a), eth2 (b), eth9 (c)."""
    nics = (("a", "eth10", "00:0d:3a:00:00:10"), ("b", "eth2", "00:0d:3a:00:00:02"),
            ("c", "eth9", "00:0d:3a:00:00:09"))
    env = Env(tmp_path, {"gen": 2, "netvsc": [{"name": name, "mac": mac} for _id, name, mac in nics]})
    for pair_id, name, mac in nics:
        env.declare(pair_id, ident(mac, name))
    return env


def test_default_order_is_the_natural_order_of_netvsc_names(tmp_path, capsys):
    env = natural_env(tmp_path)
    result = run(capsys, env.args())
    assert result["rc"] == 0, result
    assert list(result["devargs"]) == ["b", "c", "a"]  # eth2, eth9, eth10
    assert [a.split(",")[0] for a in result["eal_args"][3::2]] == [
        "net_failsafe_b", "net_failsafe_c", "net_failsafe_a"]
    assert [(p["position"], p["netvsc"], p["device"]) for p in result["ports"]] == [
        (0, "eth2", "net_failsafe_b"), (1, "eth9", "net_failsafe_c"), (2, "eth10", "net_failsafe_a")]
    listed = run(capsys, env.args(pairs=["eth10", "eth2"]))
    assert [p["id"] for p in listed["ports"]] == ["a", "b"]  # the order asked for wins


def test_absent_netvsc_is_ordered_by_its_last_seen_name(tmp_path, capsys):
    env = natural_env(tmp_path)
    env.declare("z", ident("00:0d:3a:00:00:03", "eth3"))
    result = run(capsys, env.args())
    assert [p["netvsc"] for p in result["ports"]] == ["eth2", "eth3", "eth9", "eth10"]


def test_port_map_file_beside_the_environment_file(env, capsys):
    etc = env.tmp / "etc" / "netvsc"
    dest, port_map = etc / "eal.env", etc / "ports.map"
    args = env.args(dest=str(dest), format="env", port_map=str(port_map), dest_mode="0640")
    check = run(capsys, args, check_mode=True, diff=True)
    assert check["changed"] is True and not etc.exists()
    assert check["files"] == {str(dest): "written", str(port_map): "written"}
    result = run(capsys, args)
    assert result["rc"] == 0 and result["changed"] is True, result
    assert json.loads(port_map.read_text()) == {"format": 1, "ports": result["ports"]}
    assert oct(port_map.stat().st_mode & 0o777) == "0o640"
    assert dest.read_text().endswith('NETVSC_DPDK_PORTS="net_failsafe_dpdk0 net_failsafe_dpdk1"\n')
    again = run(capsys, args)
    assert again["changed"] is False and set(again["files"].values()) == {"unchanged"}
    # The VF leaving changes nothing in the map (nor in the arguments).
    remove_vf(str(env.root), "enP41635s2")
    assert run(capsys, args)["changed"] is False


def test_port_map_may_not_be_another_output(env, capsys):
    same = run(capsys, env.args(dest=str(env.tmp / "x"), port_map=str(env.tmp / "x")))
    assert same["rc"] == 1 and same["msg"] == "port_map %s is also dest %s" % (
        env.tmp / "x", env.tmp / "x")


@pytest.mark.parametrize("option", ["port_map", "dest"])
def test_no_output_is_a_declaration_file(env, capsys, option):
    """A .json output in config_dir would be read back as a (malformed) pairing declaration
    by netvsc_pair, this module and the monitor, which withholds a VF for it."""
    before = sorted(os.listdir(str(env.config_dir)))
    target = env.config_dir / "ports.json"
    result = run(capsys, env.args(**{option: str(target)}))
    assert result["rc"] == 1 and result["msg"] == (
        "%s %s is in config_dir and would be read as a pairing declaration; write it elsewhere "
        "or name it without .json" % (option, target))
    # Through a symlinked directory too; a name without .json there is fine.
    link = env.tmp / "pairs-link"
    link.symlink_to(env.config_dir)
    assert run(capsys, env.args(**{option: str(link / "dpdk.json")}))["rc"] == 1
    assert sorted(os.listdir(str(env.config_dir))) == before
    assert run(capsys, env.args(**{option: str(env.config_dir / "ports.map")}))["rc"] == 0


def test_netvsc_pmd_port_is_the_vmbus_guid_with_the_last_seen_name(tmp_path, capsys):
    env = uio_env(tmp_path)
    result = run(capsys, env.args(mode="netvsc_pmd"))
    assert result["ports"] == [{"position": 0, "id": "pmd0", "device": ETH1["vmbus_id"],
                                "mode": "netvsc_pmd", "netvsc": "eth1", "mac": ETH1["mac"],
                                "vmbus_id": ETH1["vmbus_id"]}]


def test_auto_gives_the_reason_from_the_installed_dpdk(env, capsys):
    new = os_tree.build("debian13", str(env.tmp / "os13"))
    result = run(capsys, env.args(mode="auto", readiness_root=new, pairs=["dpdk0"]))
    assert result["rc"] == 0, result
    assert result["pairs"]["dpdk0"]["mode"] == "failsafe"
    assert result["pairs"]["dpdk0"]["mode_reason"] == (
        "the NetVSC is declared with driver hv_netvsc (netvsc_pair with driver auto would bind it "
        "to uio_hv_generic for the netvsc PMD of DPDK 24.11.8)")
    debian12 = os_tree.PRESETS["debian12"]
    spec = dict(debian12, dpdk=dict(debian12["dpdk"], version="21.11.7", abi="22.0"))
    old = os_tree.build(spec, str(env.tmp / "os-old"))
    result = run(capsys, env.args(mode="auto", readiness_root=old, pairs=["dpdk0"]))
    assert result["pairs"]["dpdk0"]["mode_reason"] == (
        "DPDK 21.11.7 is older than 22.11, from which Microsoft recommends the netvsc PMD")


# ------------------------------------------------------------------------ unit drop-ins

def test_units_get_a_drop_in_and_lose_it_when_no_longer_listed(env, capsys):
    units_dir = env.tmp / "system"
    dest = env.tmp / "etc" / "eal.env"
    args = env.args(dest=str(dest), format="env", units=["dpdk-app.service", "fwd@1.service"],
                    units_dir=str(units_dir))
    check = run(capsys, args, check_mode=True)
    assert check["changed"] is True and not units_dir.exists()
    result = run(capsys, args)
    assert result["rc"] == 0 and result["changed"] is True, result
    assert result["monitor_needed"] is True
    app = units_dir / "dpdk-app.service.d" / "50-hyperv-netvsc.conf"
    text = app.read_text()
    assert "EnvironmentFile=%s\n" % dest in text and "After=netvsc-monitor.service\n" in text
    assert (units_dir / "fwd@1.service.d" / "50-hyperv-netvsc.conf").read_text() == text
    assert run(capsys, args)["changed"] is False
    # A file of the same name that this module did not write is never removed.
    foreign = units_dir / "other.service.d" / "50-hyperv-netvsc.conf"
    foreign.parent.mkdir()
    foreign.write_text("[Service]\nEnvironment=MINE=1\n")
    fewer = run(capsys, dict(args, units=["fwd@1.service"]))
    assert fewer["changed"] is True and fewer["files"][str(app)] == "removed", fewer
    assert not app.exists() and foreign.exists()
    assert run(capsys, dict(args, units=[]))["files"] == {
        str(dest): "unchanged", str(units_dir / "fwd@1.service.d" / "50-hyperv-netvsc.conf"): "removed"}
    assert foreign.exists()


def test_units_without_an_environment_file_or_with_a_bad_name(env, capsys):
    alone = run(capsys, env.args(units=["dpdk-app.service"]))
    assert alone["rc"] == 1 and alone["msg"].startswith("units: needs dest with format env")
    args = env.args(dest=str(env.tmp / "eal.env"), format="env", units_dir=str(env.tmp / "system"))
    bad = run(capsys, dict(args, units=["../../etc/cron.d/x.service"]))
    assert bad["rc"] == 1 and "is not the name of a systemd service unit" in bad["msg"]
    assert not (env.tmp / "eal.env").exists()


def test_netvsc_pmd_drop_in_needs_no_monitor(tmp_path, capsys):
    env = uio_env(tmp_path)
    dest = env.tmp / "eal.env"
    result = run(capsys, env.args(mode="netvsc_pmd", dest=str(dest), format="env",
                                  units=["dpdk-app.service"], units_dir=str(env.tmp / "system")))
    assert result["rc"] == 0, result
    assert result["monitor_needed"] is False
    text = (env.tmp / "system" / "dpdk-app.service.d" / "50-hyperv-netvsc.conf").read_text()
    assert "netvsc-monitor" not in text
    assert "uio_hv_generic/%s ||" % ETH1["vmbus_id"] in text and "ip link set" not in text
