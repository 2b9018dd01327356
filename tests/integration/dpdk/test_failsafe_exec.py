# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fail-safe's exec() with the renderer's own building blocks, VF appearing at run time.

The devargs are built with _devargs.failsafe_devargs / exec_subdevice / vf_state_command
(the same helpers render() uses), with one change forced by this machine: the second
sub-device is `dev(net_af_packet_syn,iface=vsyn0)` on a veth in a test netns instead of the
TAP remote (unavailable here, see test_failsafe_rendered.py).

Shown:
1. while <state_dir>/<id>.vf is EMPTY, fail-safe re-runs `cat <file>` every hotplug_poll ms;
2. once a device line is written (atomically, as the monitor does), fail-safe parses it,
   probes the sub-device, configures and starts it and switches TX to it (the preferred,
   first sub-device);
3. after that exec() is no longer run (the sub-device is no longer undefined).

VF stand-in: `net_tap_vf,iface=dtapvf` (a TAP without remote=). An af_packet stand-in
is probed too, but fail-safe then applies the running port's link state with
rte_eth_dev_set_link_up(), which af_packet does not implement ("Failed to apply
link_status"), so it never reaches the started state; TAP implements it.
"""

from __future__ import annotations

import os
import re
import statistics
import time

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _devargs

from .conftest import PARSE_ERRORS

MAC = "00:0d:3a:03:1e:b1"
POLL_MS = 200
VF_LINE = "net_tap_vf,iface=dtapvf"

pytestmark = pytest.mark.dpdk


def test_exec_polls_empty_file_then_takes_the_vf(netns, testpmd, tmp_path):
    netns.veth("vsyn0", "vsyn1")
    state_dir = str(tmp_path)
    vf_file = _devargs.vf_state_path(state_dir, "eth1")
    open(vf_file, "w").close()
    cmd = _devargs.vf_state_command(state_dir, "eth1")
    value = _devargs.failsafe_devargs("eth1", MAC, POLL_MS, [
        _devargs.exec_subdevice(cmd),
        _devargs.dev_subdevice("net_af_packet_syn,iface=vsyn0"),
    ])
    pmd = testpmd(netns, ["--vdev", _devargs.VDEV_NETVSC_IGNORE, "--vdev", value])
    fs = re.escape(pmd.dpdk.failsafe_log)
    exec_rx = r"%s'%s'$" % (fs, re.escape(cmd))

    # port started on the synthetic stand-in
    started = pmd.wait_for(fs + "Starting sub_device 1", timeout=45)[0][0]
    runs = pmd.wait_for(exec_rx, count=6, since=started, timeout=20)
    gaps = [b[0] - a[0] for a, b in zip(runs, runs[1:])]
    median = statistics.median(gaps)
    print("exec() runs while empty: %d, median interval %.3fs (hotplug_poll=%dms)"
          % (len(runs), median, POLL_MS))
    assert 0.5 * POLL_MS / 1000 <= median <= 3 * POLL_MS / 1000, gaps

    # the monitor publishes a VF: temp file + rename
    tmp = vf_file + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(VF_LINE + "\n")
    os.rename(tmp, vf_file)
    written = time.monotonic()

    pmd.wait_for(fs + re.escape(VF_LINE) + "$", since=written, timeout=10)
    took = pmd.wait_for(fs + "Starting sub_device 0", since=written, timeout=10)
    pmd.wait_for(r"Switching tx_dev to preferred sub_device", since=written, timeout=10)
    print("VF stand-in started %.3fs after the state file was written" % (took[0][0] - written))

    # exec() is not re-run once the sub-device is parsed/probed/started
    time.sleep(5 * POLL_MS / 1000)
    after = pmd.matching(exec_rx, since=took[0][0] + 0.05)
    rc = pmd.stop()
    log = pmd.text()
    assert after == [], after
    for err in PARSE_ERRORS + ("Failed to apply", "Unable to synchronize"):
        assert err not in log, err
    assert pmd.dpdk.failsafe_log + "net_af_packet_syn,iface=vsyn0" in log
    assert rc == 0, "testpmd exit status %s, log %s" % (rc, pmd.log_path)
