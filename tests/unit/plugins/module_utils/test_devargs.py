# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests of _devargs: every mode, every refusal, grammar rules, env quoting round trip.

Real DPDK parsing of these strings: tests/integration/dpdk/ (nox session dpdk).
"""

from __future__ import annotations

import json
import shlex

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _devargs as d
from ansible_collections.hyperv.netvsc.plugins.module_utils._devargs import DevargsError

MAC1, MAC2, MAC3 = "00:0d:3a:03:1e:b1", "00:0d:3a:03:1e:b2", "60:45:bd:f3:fb:7b"
FS1 = ("net_failsafe_eth1,mac=00:0d:3a:03:1e:b1,hotplug_poll=200,"
       "exec(cat /run/netvsc/eth1.vf),dev(net_tap_eth1,remote=eth1)")
FS2 = ("net_failsafe_eth2,mac=00:0d:3a:03:1e:b2,hotplug_poll=200,"
       "exec(cat /run/netvsc/eth2.vf),dev(net_tap_eth2,remote=eth2)")


def vf(pci="a2a3:00:02.0", mac=MAC1, kind="mlx5"):
    return {"pci_address": pci, "mac": mac, "kind": kind}


def pair(pid="eth1", mac=MAC1, name="eth1", driver="hv_netvsc", forced=False, vf=None):
    return {"id": pid, "mac": mac, "netvsc_name": name, "vmbus_id": None, "driver": driver,
            "forced": forced, "vf": vf}


def uio(pid="eth1", mac=MAC1, vf=None):
    return pair(pid, mac, None, "uio_hv_generic", vf=vf)


# ----------------------------------------------------------------------- vf_device_arg

@pytest.mark.parametrize("kind", ["mlx4", "mlx5", "unknown"])
def test_vf_device_arg_pci(kind):
    assert d.vf_device_arg(vf(kind=kind)) == "a2a3:00:02.0"


def test_vf_device_arg_mana():
    assert d.vf_device_arg(vf("7870:00:00.0", MAC3, "mana")) == "7870:00:00.0,mac=60:45:bd:f3:fb:7b"


def test_vf_device_arg_object():
    class VF:
        pci_address, mac, kind = "0001:00:02.0", MAC1, "mlx4"
    assert d.vf_device_arg(VF()) == "0001:00:02.0"


@pytest.mark.parametrize("pci", ["00:02.0", "A2A3:00:02.0", "a2a3:00:02.8", "a2a3:0:02.0",
                                 "a2a3:00:02.0\n", " a2a3:00:02.0", "", None])
def test_vf_device_arg_bad_pci(pci):
    with pytest.raises(DevargsError, match="PCI address"):
        d.vf_device_arg(vf(pci=pci))


@pytest.mark.parametrize("mac", ["00:0D:3A:03:1E:B1", "00:0d:3a:03:1e:b1\n", "000d3a031eb1", "00-0d-3a-03-1e-b1", None])
def test_vf_device_arg_bad_mac(mac):
    with pytest.raises(DevargsError, match="MAC"):
        d.vf_device_arg(vf(mac=mac))


def test_vf_device_arg_bad_kind_and_none():
    with pytest.raises(DevargsError, match="kind"):
        d.vf_device_arg(vf(kind="ixgbe"))
    with pytest.raises(DevargsError):
        d.vf_device_arg(None)


# ------------------------------------------------------------------------------ failsafe

def test_failsafe_exact():
    r = d.render([pair(vf=vf()), pair("eth2", MAC2, "eth2")])
    assert r.eal_args == ["--vdev", "net_vdev_netvsc0,ignore=1", "--vdev", FS1, "--vdev", FS2]
    assert r.devargs == {"eth1": [FS1], "eth2": [FS2]}
    assert r.modes == {"eth1": "failsafe", "eth2": "failsafe"}
    assert r.warnings == []


def test_failsafe_options():
    r = d.render([pair()], hotplug_poll=500, state_dir="/var/run/x-y/")
    assert r.devargs["eth1"] == [
        "net_failsafe_eth1,mac=00:0d:3a:03:1e:b1,hotplug_poll=500,"
        "exec(cat /var/run/x-y/eth1.vf),dev(net_tap_eth1,remote=eth1)"]


def test_failsafe_ignore_once_and_first():
    r = d.render([pair("a%d" % i, "00:0d:3a:00:00:%02x" % i, "eth%d" % i) for i in range(5)])
    assert r.eal_args.count("net_vdev_netvsc0,ignore=1") == 1
    assert r.eal_args[:2] == ["--vdev", "net_vdev_netvsc0,ignore=1"]
    assert len(r.eal_args) == 12


def test_failsafe_vf_first_tap_second_two_subdevices():
    value = d.render([pair()]).devargs["eth1"][0]
    subs = value.split(",", 3)[3]
    assert subs.index("exec(") < subs.index("dev(")
    assert subs.count("exec(") + subs.count("dev(") + subs.count("fd(") == 2


def test_failsafe_refuses_uio_bound():
    with pytest.raises(DevargsError, match=r"pairing eth1: .*no netdev name.*uio_hv_generic"):
        d.render([uio()], mode="failsafe")


def test_failsafe_refuses_missing_name():
    with pytest.raises(DevargsError, match="no netdev name"):
        d.render([pair(name=None)], mode="failsafe")


@pytest.mark.parametrize("mode, advice", [
    ("failsafe", "Use mode auto, which switches it to the netvsc PMD"),
    ("auto", "declared with driver hv_netvsc; pair it again with driver auto or uio_hv_generic")])
def test_failsafe_refuses_mana(mode, advice):
    with pytest.raises(DevargsError) as exc:
        d.render([pair(mac=MAC3, vf=vf("7870:00:00.0", MAC3, "mana"))], mode=mode)
    msg = str(exc.value)
    for word in ("pairing eth1", "7870:00:00.0 is a MANA device", "not supported", "PCI address",
                 "fs_ethdev_portid_get", advice):
        assert word in msg


def test_failsafe_unknown_vf_kind_warns():
    r = d.render([pair(vf=vf(kind="unknown"))])
    assert r.devargs["eth1"] == [FS1]
    assert any("unknown kind" in w for w in r.warnings)


# --------------------------------------------------------------------------- vdev_netvsc

def test_vdev_netvsc_exact():
    r = d.render([pair(vf=vf()), pair("eth2", MAC2, "eth2", forced=True)], mode="vdev_netvsc")
    assert r.eal_args == ["--vdev", "net_vdev_netvsc0,iface=eth1",
                          "--vdev", "net_vdev_netvsc1,iface=eth2,force=1"]
    assert r.modes == {"eth1": "vdev_netvsc", "eth2": "vdev_netvsc"}
    assert r.devargs["eth2"] == ["net_vdev_netvsc1,iface=eth2,force=1"]


def test_vdev_netvsc_refuses_uio_and_mana():
    with pytest.raises(DevargsError, match="no netdev name"):
        d.render([uio()], mode="vdev_netvsc")
    with pytest.raises(DevargsError, match="MANA"):
        d.render([pair(mac=MAC3, vf=vf("7870:00:00.0", MAC3, "mana"))], mode="vdev_netvsc")


# ---------------------------------------------------------------------------- netvsc_pmd

def test_netvsc_pmd_exact():
    r = d.render([uio(vf=vf()), uio("m", MAC3, vf("7870:00:00.0", MAC3, "mana")),
                  uio("novf", MAC2)], mode="netvsc_pmd")
    assert r.eal_args == ["-a", "a2a3:00:02.0", "--vdev", "7870:00:00.0,mac=60:45:bd:f3:fb:7b"]
    assert r.devargs == {"eth1": ["a2a3:00:02.0"], "m": ["7870:00:00.0,mac=60:45:bd:f3:fb:7b"],
                         "novf": []}
    assert r.modes == {"eth1": "netvsc_pmd", "m": "netvsc_pmd", "novf": "netvsc_pmd"}
    assert len(r.warnings) == 1
    assert "novf" in r.warnings[0] and "synthetic-only" in r.warnings[0]
    assert "net_vdev_netvsc0,ignore=1" not in r.eal_args


def test_netvsc_pmd_refuses_hv_netvsc():
    with pytest.raises(DevargsError, match="pairing eth1: .*declare the pairing with driver "
                                           "uio_hv_generic"):
        d.render([pair(vf=vf())], mode="netvsc_pmd")


# ---------------------------------------------------------------------------------- auto

def test_auto_mixed():
    r = d.render([uio("p", MAC2, vf(pci="0002:00:02.0", mac=MAC2)), pair(vf=vf())], mode="auto")
    assert r.modes == {"p": "netvsc_pmd", "eth1": "failsafe"}
    assert r.eal_args == ["--vdev", "net_vdev_netvsc0,ignore=1", "-a", "0002:00:02.0",
                          "--vdev", FS1]


def test_auto_all_pmd_has_no_ignore():
    r = d.render([uio(vf=vf())], mode="auto")
    assert r.eal_args == ["-a", "a2a3:00:02.0"]


def test_auto_mana_on_uio_is_fine():
    r = d.render([uio(mac=MAC3, vf=vf("7870:00:00.0", MAC3, "mana"))], mode="auto")
    assert r.eal_args == ["--vdev", "7870:00:00.0,mac=60:45:bd:f3:fb:7b"]


# ----------------------------------------------------------------------- validation

def test_bad_mode():
    with pytest.raises(DevargsError, match="mode"):
        d.render([pair()], mode="bond")


@pytest.mark.parametrize("pid", ["Eth1", "eth1\n", "eth-1", "eth,1", "eth(1)", "eth=1", "a b", "",
                                 "x" * 33, None, 7])
def test_bad_id(pid):
    with pytest.raises(DevargsError, match="id"):
        d.render([pair(pid=pid)])


@pytest.mark.parametrize("name", ["eth,1", "eth(1", "eth)1", "eth=1", "eth 1", "eth\t1",
                                  'eth"1', "eth'1", "eth\x011", "ethé", "e" * 16, "a/b", ""])
def test_bad_iface(name):
    with pytest.raises(DevargsError, match="pairing eth1"):
        d.render([pair(name=name)], mode="vdev_netvsc")


@pytest.mark.parametrize("state_dir", ["/run/a,b", "/run/a(b", "/run/a)b", "/run/a=b",
                                       "/run/a b", "/run/'x'", '/run/"x"', "/run/$x",
                                       "/run/a;b", "/run/`x`", "/run/a*", "run/netvsc",
                                       "/run/\x7f", "", None])
def test_bad_state_dir(state_dir):
    with pytest.raises(DevargsError, match="state_dir"):
        d.render([pair()], state_dir=state_dir)


@pytest.mark.parametrize("poll", [0, -1, 1.5, "2000", True, None])
def test_bad_hotplug_poll(poll):
    with pytest.raises(DevargsError, match="hotplug_poll"):
        d.render([pair()], hotplug_poll=poll)


@pytest.mark.parametrize("mode", ["failsafe", "vdev_netvsc", "auto"])
def test_vf_mac_mismatch_is_an_error(mode):
    with pytest.raises(DevargsError, match=r"pairing eth1: the VF a2a3:00:02.0 reports MAC "
                                           r"00:0d:3a:03:1e:b2 but the NetVSC has"):
        d.render([pair(vf=vf(mac=MAC2))], mode=mode)


def test_vf_mac_mismatch_netvsc_pmd():
    with pytest.raises(DevargsError, match="reports MAC"):
        d.render([uio(vf=vf(mac=MAC2))], mode="netvsc_pmd")


def test_bad_vf_names_pairing():
    with pytest.raises(DevargsError, match="pairing eth1: VF PCI address"):
        d.render([pair(vf=vf(pci="02.0"))])


def test_bad_netvsc_mac_and_driver_and_forced():
    with pytest.raises(DevargsError, match="NetVSC MAC"):
        d.render([pair(mac="00:0D:3A:03:1E:B1")])
    with pytest.raises(DevargsError, match="driver"):
        d.render([pair(driver="mlx5_core")])
    with pytest.raises(DevargsError, match="forced"):
        d.render([pair(forced="yes")])


@pytest.mark.parametrize("key,second", [("id", pair(mac=MAC2, name="eth2")),
                                        ("mac", pair("eth2", MAC1, "eth2")),
                                        ("name", pair("eth2", MAC2, "eth1"))])
def test_duplicates(key, second):
    with pytest.raises(DevargsError, match="already used by pairing eth1"):
        d.render([pair(), second])


def test_empty_pairs():
    r = d.render([])
    assert r.eal_args == [] and r.warnings == ["no pairings to render"]


def test_object_pairs():
    class P:
        id, mac, netvsc_name, vmbus_id, driver, forced, vf = (
            "eth1", MAC1, "eth1", None, "hv_netvsc", False, None)
    assert d.render([P()]).devargs["eth1"] == [FS1]


# -------------------------------------------------------------- grammar building blocks

def test_exec_refuses_comma_and_unbalanced():
    with pytest.raises(DevargsError, match="comma"):
        d.exec_subdevice("cat /run/a,b")
    with pytest.raises(DevargsError, match="dangling"):
        d.exec_subdevice("cat (x")
    with pytest.raises(DevargsError, match=r"unmatched '\)'"):
        d.exec_subdevice("cat x)")
    with pytest.raises(DevargsError):
        d.exec_subdevice("cat\nx")
    assert d.exec_subdevice("cat /run/x") == "exec(cat /run/x)"


def test_check_parens():
    assert d.check_parens("a(b(c))d")
    for bad in ("(", ")(", "a(b))", "((a)"):
        with pytest.raises(DevargsError):
            d.check_parens(bad)


def test_failsafe_devargs_limits():
    sub = d.dev_subdevice("net_tap_x,remote=eth1")
    with pytest.raises(DevargsError, match="1 or 2 sub-devices"):
        d.failsafe_devargs("x", MAC1, 1, [sub, sub, sub])
    with pytest.raises(DevargsError, match="1 or 2 sub-devices"):
        d.failsafe_devargs("x", MAC1, 1, [])
    with pytest.raises(DevargsError, match="not a fail-safe sub-device"):
        d.failsafe_devargs("x", MAC1, 1, ["net_tap_x"])
    long_cmd = d.exec_subdevice("cat /" + "a" * 4100)
    with pytest.raises(DevargsError, match="4096"):
        d.failsafe_devargs("x", MAC1, 1, [long_cmd])
    just = d.exec_subdevice("cat /" + "a" * (4095 - len("net_failsafe_x,mac=%s,hotplug_poll=1,"
                                                        "exec(cat /)" % MAC1)))
    assert len(d.failsafe_devargs("x", MAC1, 1, [just])) == 4095


def test_state_path_and_command():
    assert d.vf_state_path("/run/netvsc/", "eth1") == "/run/netvsc/eth1.vf"
    assert d.vf_state_command("/run/netvsc", "eth1") == "cat /run/netvsc/eth1.vf"


# ------------------------------------------------------------------------- formatting

def test_format_args():
    r = d.render([pair()])
    assert d.format_args(r) == "--vdev\nnet_vdev_netvsc0,ignore=1\n--vdev\n" + FS1 + "\n"
    assert d.format_args(r.eal_args) == d.format_args(r)
    with pytest.raises(DevargsError):
        d.format_args(["a\nb"])


def test_format_env_exact():
    r = d.render([pair()])
    assert d.format_env(r) == (
        "NETVSC_EAL_ARGS=\"--vdev net_vdev_netvsc0,ignore=1 --vdev '" + FS1 + "'\"\n")
    assert d.format_env([], var="X") == 'X=""\n'
    with pytest.raises(DevargsError):
        d.format_env(r, var="1BAD")
    for bad in (["it's"], ['a"b'], ["a\\b"], ["a\nb"], [""]):
        with pytest.raises(DevargsError):
            d.format_env(bad)


def _systemd_env_value(line):
    """systemd.exec(5) EnvironmentFile=, double-quoted value: \\ before \\ " ` $ is dropped."""
    key, _sep, raw = line.rstrip("\n").partition("=")
    assert raw[0] == raw[-1] == '"'
    out, i, body = [], 0, raw[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body) and body[i + 1] in '\\"`$':
            out.append(body[i + 1])
            i += 2
            continue
        assert c != '"', "unescaped quote"
        out.append(c)
        i += 1
    return key, "".join(out)


@pytest.mark.parametrize("args", [
    ["--vdev", "net_vdev_netvsc0,ignore=1", "--vdev", FS1, "--vdev", FS2],
    ["-a", "a2a3:00:02.0", "--vdev", "7870:00:00.0,mac=60:45:bd:f3:fb:7b"],
    ["--vdev", "x,exec(cat /run/a$b`c`),dev(y)", "-l", "0-1", "a  b"],
])
def test_format_env_round_trip(args):
    """EnvironmentFile value, then the "$VAR" split (quotes respected and removed).

    shlex in POSIX mode implements the same word splitting for the quoting format_env emits
    (bare words and single-quoted words). Real systemd: tests/integration/dpdk/test_systemd_env.py.
    """
    key, value = _systemd_env_value(d.format_env(args))
    assert key == "NETVSC_EAL_ARGS"
    assert shlex.split(value) == args


def test_format_json():
    r = d.render([uio(vf=vf()), uio("novf", MAC2)], mode="netvsc_pmd")
    text = d.format_json(r)
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data == r.to_dict()
    assert sorted(data) == ["devargs", "devices", "eal_args", "modes", "reasons", "warnings"]
    assert json.loads(d.format_json(r.eal_args)) == ["-a", "a2a3:00:02.0"]


def test_rendered_equality_and_repr():
    assert d.render([pair()]) == d.render([pair()])
    assert "eal_args" in repr(d.render([pair()]))
