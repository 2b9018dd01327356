# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendered vdev_netvsc arguments, fed to real DPDK.

There is no NetVSC here: `eth1` is a veth in the test netns. The EAL must accept the
argument, vdev_netvsc must parse it and report that the named interface is not a NetVSC
("Cannot find the specified netvsc device"), and testpmd must go on and exit cleanly.
"""

from __future__ import annotations

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _devargs

from .conftest import PARSE_ERRORS

pytestmark = pytest.mark.dpdk


def test_vdev_netvsc_args_accepted(netns, testpmd):
    netns.veth("eth1", "eth1p")
    pairs = [{"id": "eth1", "mac": "00:0d:3a:03:1e:b1", "netvsc_name": "eth1",
              "vmbus_id": None, "driver": "hv_netvsc", "forced": False, "vf": None}]
    rendered = _devargs.render(pairs, mode="vdev_netvsc")
    assert rendered.eal_args == ["--vdev", "net_vdev_netvsc0,iface=eth1"]
    pmd = testpmd(netns, rendered.eal_args)
    pmd.wait_for(r"Press enter to exit|No probed ethernet devices", timeout=45)
    rc = pmd.stop()
    log = pmd.text()
    assert 'invoked as "net_vdev_netvsc0", using arguments "iface=eth1"' in log
    assert "Cannot find the specified netvsc device" in log
    for err in PARSE_ERRORS:
        assert err not in log, err
    assert rc == 0, "testpmd exit status %s, log %s" % (rc, pmd.log_path)
