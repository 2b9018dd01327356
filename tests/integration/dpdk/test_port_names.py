# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port map's device names are the names real DPDK gives the ports (fail-safe, which can
probe here; the host's DPDK 22.11, whose naming code 24.11 keeps unchanged: docs/modes.md), and
the ways docs/modes.md shows to look a port up by name work:

1. testpmd, with the EnvironmentFile sourced and split as the docs say, lists one port per
   pairing under the port map's name, with the pairing's MAC (``show port summary all``);
2. the C snippet of docs/modes.md (taken from the docs, compiled against the installed DPDK
   with pkg-config) finds every name of ``NETVSC_DPDK_PORTS`` with
   ``rte_eth_dev_get_port_by_name()``, in the port map's order, each on a port of its own.

The pairings are listed in an order that is neither their ids' nor their names', and the TAP
fallback cannot start here (see test_failsafe_rendered.py), which changes no name.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _devargs, _portmap

from .conftest import HARNESS_EAL, REPO, TESTPMD

pytestmark = pytest.mark.dpdk

PAIRS = [
    {"id": "zeta", "mac": "00:0d:3a:03:1e:b2", "netvsc_name": "eth2", "vmbus_id": None,
     "driver": "hv_netvsc", "forced": False, "vf": None},
    {"id": "alpha", "mac": "00:0d:3a:03:1e:b1", "netvsc_name": "eth10", "vmbus_id": None,
     "driver": "hv_netvsc", "forced": False, "vf": None},
]
MARKER = "<!-- ports.c:"
# The EnvironmentFile ($1) sourced and split as docs/modes.md says; then the program, the
# harness's EAL options, the rendered ones, "--" and the program's own ($APP_ARGS).
RUN = ('set -a; . "$1"; set +a; shift; eval "set -- \\"\\$@\\" $NETVSC_EAL_ARGS"; '
       'exec "$@" -- $APP_ARGS')


def c_snippet():
    """The C code block that follows the ports.c marker in docs/modes.md."""
    with open(os.path.join(REPO, "docs", "modes.md")) as handle:
        text = handle.read()
    found = re.search(re.escape(MARKER) + r".*?\n```c\n(.*?)```", text, re.S)
    assert found, "docs/modes.md has no C block after %r" % MARKER
    return found.group(1)


@pytest.fixture
def rendered_env(netns, tmp_path):
    """The EnvironmentFile netvsc_failsafe writes for PAIRS, and the port map."""
    state_dir = tmp_path / "run"
    state_dir.mkdir()
    for pair in PAIRS:
        (state_dir / (pair["id"] + ".vf")).write_text("")
        netns.veth(pair["netvsc_name"], pair["netvsc_name"] + "p")
    rendered = _devargs.render(PAIRS, mode="failsafe", state_dir=str(state_dir))
    ports = _portmap.port_map(PAIRS, rendered)
    env = tmp_path / "eal.env"
    env.write_text(_devargs.format_env(rendered.eal_args) + _devargs.format_env(
        [port["device"] for port in ports], var="NETVSC_DPDK_PORTS"))
    return env, ports


def run_in(netns, env, program, app_args="", stdin=None):
    prefix = "--file-prefix=netvsc-names-%d" % os.getpid()
    command = netns.exec(["env", "APP_ARGS=" + app_args, "sh", "-c", RUN, "sh", str(env), program]
                         + HARNESS_EAL + [prefix])
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_testpmd_lists_the_port_map_names(netns, rendered_env):
    env, ports = rendered_env
    assert [port["device"] for port in ports] == ["net_failsafe_zeta", "net_failsafe_alpha"]
    proc = run_in(netns, env, TESTPMD, "-i --total-num-mbufs=4096",
                  stdin="show port summary all\nquit\n")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    shown = re.findall(r"^(?:testpmd> )?(\d+)\s+([0-9A-F:]{17})\s+(\S+)\s+(\S+)", out, re.M)
    by_name = dict((name, (int(port), mac.lower(), driver)) for port, mac, name, driver in shown)
    for port in ports:
        assert by_name[port["device"]][1:] == (port["mac"], "net_failsafe"), out
    assert "Number of available ports: 2" in out  # no hidden sub-port is listed


def test_the_c_snippet_finds_each_port_by_name(netns, rendered_env, tmp_path):
    env, ports = rendered_env
    source = tmp_path / "ports.c"
    source.write_text(c_snippet())
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libdpdk"], capture_output=True,
                           text=True, check=True).stdout.split()
    program = tmp_path / "ports"
    subprocess.run(["cc", "-O0", "-o", str(program), str(source)] + flags, check=True)
    proc = run_in(netns, env, str(program))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    found = re.findall(r"^position (\d+): (\S+) is port (\d+)$", proc.stdout, re.M)
    assert [(int(position), name) for position, name, _id in found] == [
        (port["position"], port["device"]) for port in ports], out
    assert len(set(port_id for _p, _n, port_id in found)) == len(ports)
