# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The failsafe role over a real SSH connection, against the guard reading a real kernel.

Issue 10's role test, beside the guard's own real-kernel tests (this session has root,
iproute2 and openssh-server). The "VM" is a network namespace running Debian's sshd
(tests/fixtures/sshd_netns.py); the controller is a second namespace, and ansible-playbook
connects over ssh to a host name that is none of the VM's addresses (ssh_config HostName), as
with an Azure public IP or DNS name. Inside the VM:

    eth0  198.18.0.2/24   the NIC the SSH connection comes in on
    eth1  (no address)    a port of bridge br0 198.19.0.2/24, which holds the default route
    eth2  (no address)    free

The sysfs tree makes eth0..eth2 NetVSCs with the VM's names, MACs and ifindexes and carries
no simulated network, so the guard reads routes, links and sshd's connections from the VM's
kernel, where the modules run. The role runs with gather_facts: false and, in one run, with
SSH_CONNECTION emptied, so the connection is found in the kernel only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.hyperv.netvsc.tests.fixtures import sysfs_tree
from ansible_collections.hyperv.netvsc.tests.fixtures.sshd_netns import SshWorld

HOST = "dpdk-vm.example.invalid"
PLAY = """
- name: The failsafe role over SSH
  hosts: all
  gather_facts: false
  environment: "{{ play_environment | default({}) }}"
  roles:
    - role: hyperv.netvsc.failsafe
"""

RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", re.M)
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")

pytestmark = pytest.mark.root


class Vm:
    """The VM namespace with its NetVSC tree and sandbox, and the playbook runner."""

    def __init__(self, base, collections):
        self.base = base
        self.world = SshWorld(base / "ssh", prefix="nvrole")
        self.world.link("eth0", ["198.18.0.2/24"], ["198.18.0.1/24"])
        self.world.link("eth1", [], ["198.19.0.1/24"])
        self.world.link("eth2")
        for argv in (("ip", "link", "add", "br0", "type", "bridge"), ("ip", "link", "set", "eth1", "master", "br0"),
                     ("ip", "addr", "add", "198.19.0.2/24", "dev", "br0"), ("ip", "link", "set", "br0", "up"),
                     ("ip", "route", "add", "default", "via", "198.19.0.1")):
            self.world.vm(*argv)
        self.world.start_sshd("198.18.0.2")
        self.sysfs, self.root = base / "sys", base / "root"
        sysfs_tree.build(self.world.netvsc_spec(["eth0", "eth1", "eth2"]), str(self.sysfs))
        self.macs = dict((name, link["address"]) for name, link in self.world.links().items())
        self.playbook = base / "play.yml"
        self.playbook.write_text(PLAY)
        self.inventory = base / "inventory.json"
        self.inventory.write_text(json.dumps({"all": {"hosts": {HOST: {
            "ansible_connection": "ssh",
            "ansible_ssh_common_args": "-F %s" % self.world.ssh_config,
            "ansible_python_interpreter": sys.executable,
            "netvsc_manage_services": False,
            "netvsc_sysfs_root": str(self.sysfs),
            "netvsc_root_dir": str(self.root)}}}}))
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections),
                        ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="false",
                        ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp"), ANSIBLE_REMOTE_TEMP=str(base / "remote-tmp"),
                        ANSIBLE_HOST_KEY_CHECKING="false")
        self.env.pop("ANSIBLE_CONFIG", None)

    def run(self, interfaces=None, **extra):
        variables = dict(extra)
        if interfaces is not None:
            variables["netvsc_interfaces"] = interfaces
        proc = self.world.controller(ANSIBLE_PLAYBOOK, "-i", str(self.inventory), str(self.playbook),
                                     "-e", json.dumps(variables), check=False, env=self.env,
                                     stdin=subprocess.DEVNULL, timeout=300)
        proc.output = proc.stdout + proc.stderr
        proc.recap = dict((m.group(1), {"changed": int(m.group(2)), "failed": int(m.group(3))})
                          for m in RECAP.finditer(proc.stdout))[HOST]
        return proc

    def files(self):
        if not self.root.exists():
            return {}
        return dict((str(p.relative_to(self.root)), hashlib.sha256(p.read_bytes()).hexdigest())
                    for p in sorted(self.root.rglob("*")) if p.is_file() and p.name != "state.json")

    def declared(self):
        config = self.root / "etc" / "netvsc" / "pairs.d"
        return sorted(json.loads(p.read_text())["netvsc"]["name"] for p in config.glob("*.json")) \
            if config.exists() else []

    def close(self):
        self.world.close()


@pytest.fixture(scope="module")
def vm(tmp_path_factory, collections_path):
    machine = Vm(tmp_path_factory.mktemp("role-ssh"), collections_path)
    yield machine
    machine.close()


def _show(proc):
    return "rc=%s\n%s" % (proc.returncode, proc.output[-6000:])


def test_the_connection_reaches_the_vm_by_a_name_that_is_none_of_its_addresses(vm):
    out = vm.world.ssh("ip -br addr show eth0; echo $SSH_CONNECTION").stdout
    assert "198.18.0.2/24" in out and out.split()[-2] == "198.18.0.2"
    assert HOST not in out


def test_automatic_selection_leaves_the_bridge_port_and_the_ssh_nic_alone(vm):
    proc = vm.run(play_environment={"SSH_CONNECTION": ""})  # found in the kernel only
    assert proc.returncode == 0, _show(proc)
    assert vm.declared() == ["eth2"]
    assert "Not pairing eth0: eth0 holds 198.18.0.2, the local address of the SSH connection from 198.18.0.1" in proc.output
    assert ("Not pairing eth1: eth1 is a port of bridge br0, which holds the IPv4 default route (table main)"
            in proc.output), _show(proc)
    again = vm.run()
    assert again.returncode == 0 and again.recap["changed"] == 0, _show(again)


@pytest.mark.parametrize("name", ["eth1", "eth0"])
def test_force_alone_is_refused_with_nothing_written(vm, name):
    before = vm.files()
    proc = vm.run([{"name": name, "force": True}, "eth2"])
    assert proc.returncode != 0 and proc.recap["failed"] == 1 and proc.recap["changed"] == 0, _show(proc)
    assert "Refusing 1 of 2 pairings, nothing was changed: %s: " % name in proc.output
    assert "set allow_management: true on its item if you really mean it" in proc.output
    assert vm.files() == before


def test_allow_management_pairs_the_bridge_port(vm):
    proc = vm.run([{"name": vm.macs["eth1"].upper().replace(":", "-"), "allow_management": True}, "eth2"])
    assert proc.returncode == 0, _show(proc)
    assert vm.declared() == ["eth1", "eth2"]
    declaration = json.loads((vm.root / "etc/netvsc/pairs.d" / ("%s.json" % vm.macs["eth1"].replace(":", ""))).read_text())
    assert declaration["force"] is True
    # The connection still works: nothing took eth0 or the bridge away.
    assert vm.world.ssh("true").returncode == 0


def test_teardown_over_ssh(vm):
    proc = vm.run(netvsc_state="absent")
    assert proc.returncode == 0, _show(proc)
    assert not vm.root.exists()
