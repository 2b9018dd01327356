# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EXACT netvsc_pmd output, fed to real DPDK: `-a <VF>` for an mlx5 VF and
`--vdev <PCI>,mac=<MAC>` for a MANA vPort.

There is no VF and no VMBus here. DPDK's PCI bus scans $SYSFS_PCI_DEVICES instead of
/sys/bus/pci/devices, so each rendered VF exists as a simulated PCI function (vendor and
device ids of tests/fixtures/sysfs_tree.KINDS, its kernel driver, the `resource` file the
scan needs) and the real PMD is chosen and probed. It then finds no RDMA device behind it,
which is as far as this machine goes. Shown per DPDK:

* mlx5 (both): the EAL accepts `-a`, the mlx5 PMD probes exactly that address and gives up
  for want of a Verbs device; testpmd exits cleanly.
* MANA on 24.11: the MANA PMD probes the --vdev address and parses `mac=` (it logs the
  key and value); with no RDMA device behind the simulated function it then crashes (exit
  139, docs/modes.md), so the exit status is not asserted.
* MANA on 22.11 (Debian 12 does not package the MANA PMD): the EAL accepts the argument
  and nothing probes it.
* A malformed address is refused by the EAL ("failed to parse device"): the checks above
  can fail.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _devargs
from ansible_collections.hyperv.netvsc.tests.fixtures.sysfs_tree import KINDS

from .conftest import PARSE_ERRORS

pytestmark = pytest.mark.dpdk

MLX5 = {"id": "p_mlx5", "mac": "00:0d:3a:03:1e:b1", "netvsc_name": None, "driver": "uio_hv_generic",
        "vf": {"pci_address": "a2a3:00:02.0", "mac": "00:0d:3a:03:1e:b1", "kind": "mlx5"}}
MANA = {"id": "p_mana", "mac": "60:45:bd:f3:fb:7b", "netvsc_name": None, "driver": "uio_hv_generic",
        "vf": {"pci_address": "7870:00:00.0", "mac": "60:45:bd:f3:fb:7b", "kind": "mana"}}
# One line per BAR: start, end, flags (all zero: nothing to map).
RESOURCE = "0x0000000000000000 0x0000000000000000 0x0000000000000000\n" * 6


def pci_devices(base, *pairs):
    """A directory laid out like /sys/bus/pci/devices with each pairing's VF."""
    devices = base / "pci-devices"
    for pair in pairs:
        vendor, device, driver, _revision = KINDS[pair["vf"]["kind"]]
        fn = devices / pair["vf"]["pci_address"]
        fn.mkdir(parents=True)
        (base / "drivers" / driver).mkdir(parents=True, exist_ok=True)
        attrs = {"vendor": vendor, "device": device, "subsystem_vendor": vendor,
                 "subsystem_device": "0x0000", "class": "0x020000", "numa_node": "0",
                 "resource": RESOURCE}
        for name, value in attrs.items():
            (fn / name).write_text(value if value.endswith("\n") else value + "\n")
        os.symlink(os.path.join("..", "..", "drivers", driver), str(fn / "driver"))
    return devices


def run(testpmd, netns, args, devices):
    pmd = testpmd(netns, args, pci_devices=devices)
    try:
        pmd.wait_for(r"No probed ethernet devices|Cannot init EAL", timeout=45)
    except AssertionError:
        if pmd.proc.poll() is None:
            raise  # still running: a hang, not an exit
    rc = pmd.stop()
    return pmd, rc, pmd.text()


def test_rendered_netvsc_pmd_args(tmp_path):
    rendered = _devargs.render([MLX5, MANA], mode="netvsc_pmd")
    assert rendered.eal_args == ["-a", "a2a3:00:02.0", "--vdev", "7870:00:00.0,mac=60:45:bd:f3:fb:7b"]


def test_mlx5_vf_allowed_and_probed(netns, testpmd, tmp_path):
    args = _devargs.render([MLX5], mode="netvsc_pmd").eal_args
    pmd, rc, log = run(testpmd, netns, args, pci_devices(tmp_path, MLX5))
    vendor, device = KINDS["mlx5"][0][2:], KINDS["mlx5"][1][2:]
    assert "Probe PCI driver: mlx5_pci (%s:%s) device: a2a3:00:02.0" % (vendor, device) in log
    assert "a2a3:00:02.0 cannot be used" in log  # no Verbs device behind it
    for err in PARSE_ERRORS:
        assert err not in log, err
    assert rc == 0, "testpmd exit status %s, log %s" % (rc, pmd.log_path)


def test_mana_vport_args(netns, testpmd, tmp_path, dpdk):
    args = _devargs.render([MANA], mode="netvsc_pmd").eal_args
    pmd, rc, log = run(testpmd, netns, args, pci_devices(tmp_path, MANA))
    for err in PARSE_ERRORS:
        assert err not in log, err
    print("DPDK %s: MANA run exit status %s, log %s" % (dpdk.version, rc, pmd.log_path))
    if dpdk.version == "22.11":
        assert "net_mana" not in log  # no MANA PMD in Debian 12: accepted, not probed
        assert rc == 0
    else:
        assert "Probe PCI driver: net_mana (%s:%s) device: 7870:00:00.0" % (
            KINDS["mana"][0][2:], KINDS["mana"][1][2:]) in log
        assert "key=mac value=60:45:bd:f3:fb:7b" in log


def test_malformed_address_is_refused(netns, testpmd, tmp_path):
    pmd, rc, log = run(testpmd, netns, ["-a", "a2a3:00:02.0;x"], pci_devices(tmp_path, MLX5))
    assert "failed to parse device" in log
    assert rc != 0
