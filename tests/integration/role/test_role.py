# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration tests of roles/failsafe and the playbooks, driving ansible-playbook.

Four simulated hosts run with the local connection and gather_facts: false, each with its own
sysfs fixture tree and simulated network (netvsc_sysfs_root: routes, addresses, connections
for the management guard) and sandbox root (netvsc_root_dir), netvsc_manage_services: false:

  cx5       cx5_4nic (eth0 holds the default route: the guard's management NIC), mode failsafe
  servicing vf_absent_servicing (eth1 has no VF)
  mlx4      mlx4_old_kernel, mode vdev_netvsc
  kvm       kvm_virtio (not Hyper-V)

The tests run in file order (one fleet, one story): check mode from clean, first run,
published state, second run (and its module count), diff, refusals, inputs people paste,
facts playbook, teardown; then teardown next to user files in a sandbox of its own. Wall times
per host are written to $ROLE_TIMINGS (default <tmp>/role-timings.json) and printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from ansible_collections.hyperv.netvsc.tests.fixtures import sysfs_tree

HOSTS = {
    "cx5": {"case": "cx5_4nic", "vars": {}},
    "servicing": {"case": "vf_absent_servicing", "vars": {}},
    "mlx4": {"case": "mlx4_old_kernel", "vars": {"netvsc_mode": "vdev_netvsc"}},
    "kvm": {"case": "kvm_virtio", "vars": {}},
}
MAX_RERUN_MODULES = 6  # issue 10: a no-change rerun, whatever the number of pairings
HYPERV = ["cx5", "servicing", "mlx4"]
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                   r"\s+skipped=(\d+)", re.M)


def _ansible_playbook():
    """The ansible-playbook of the Python running the tests (the session's ansible-core)."""
    candidate = Path(sys.executable).parent / "ansible-playbook"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("ansible-playbook")
    if not found:
        pytest.skip("ansible-playbook not found")
    return found


class Fleet:
    def __init__(self, base, collections, hosts=None):
        """hosts: {name: {"case": fixture case, "vars": host vars}} (default HOSTS)."""
        self.base = base
        self.playbook = _ansible_playbook()
        self.coll_root = Path(collections) / "ansible_collections" / "hyperv" / "netvsc"
        inventory = {"all": {"vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "netvsc_manage_services": False,
            "netvsc_become": False,
        }, "hosts": {}}}
        for name, host in (hosts or HOSTS).items():
            sysfs = base / name / "sys"
            spec = sysfs_tree.CASES[host["case"]]
            sysfs_tree.build(spec, str(sysfs))
            sysfs_tree.write_simulated_network(spec, str(sysfs))
            hostvars = dict(host["vars"], netvsc_sysfs_root=str(sysfs),
                            netvsc_root_dir=str(self.root(name)))
            hostvars.setdefault("ansible_host", "127.0.0.1")
            inventory["all"]["hosts"][name] = hostvars
        self.inventory = base / "inventory.json"
        self.inventory.write_text(json.dumps(inventory, indent=2))
        self.count = base / "count.json"
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections),
                        ANSIBLE_CALLBACK_PLUGINS=str(self.coll_root / "benchmarks" / "callback_plugins"),
                        ANSIBLE_CALLBACKS_ENABLED="netvsc_count", NETVSC_COUNT_OUT=str(self.count),
                        ANSIBLE_INJECT_FACT_VARS="false", ANSIBLE_NOCOLOR="1",
                        ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="false",
                        ANSIBLE_RETRY_FILES_ENABLED="false",
                        ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp"),
                        ANSIBLE_REMOTE_TEMP=str(base / "ansible-tmp"))
        self.env.pop("ANSIBLE_CONFIG", None)
        self.timings = {}

    def root(self, host):
        return self.base / host / "root"

    def run(self, playbook="site.yml", *args, limit=None, check=False, diff=False, extra=None,
            inventory=None):
        argv = [self.playbook, "-i", str(inventory or self.inventory),
                str(self.coll_root / "playbooks" / playbook), "-e", "netvsc_target=all"]
        if limit:
            argv += ["--limit", limit]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        if extra:
            argv += ["-e", json.dumps(extra)]
        argv += list(args)
        started = time.monotonic()
        proc = subprocess.run(argv, env=self.env, cwd=str(self.base), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, check=False)
        proc.elapsed = time.monotonic() - started
        proc.recap = {m.group(1): dict(zip(("ok", "changed", "unreachable", "failed", "skipped"),
                                           map(int, m.groups()[1:])))
                      for m in RECAP.finditer(proc.stdout)}
        proc.modules = ({h: c["modules"] for h, c in json.loads(self.count.read_text())["hosts"].items()}
                        if self.count.exists() else {})
        return proc

    def files(self, host, root=None):
        """{relative path: sha256} of every file below a host's sandbox root, but the
        monitor's state.json (its updated_at is a heartbeat that every --once run renews)."""
        root = root or self.root(host)
        if not root.exists():
            return {}
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if (p.is_file() or p.is_symlink()) and p.name != "state.json"}


def _show(proc):
    return "rc=%s\n%s" % (proc.returncode, proc.stdout[-6000:])


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, collections_path):
    fleet = Fleet(tmp_path_factory.mktemp("role"), collections_path)
    yield fleet
    out = Path(os.environ.get("ROLE_TIMINGS") or fleet.base / "role-timings.json")
    out.write_text(json.dumps(fleet.timings, indent=2, sort_keys=True) + "\n")
    sys.stderr.write("\nrole wall times (s): %s\n" % json.dumps(fleet.timings, sort_keys=True))


def test_check_mode_from_clean_reports_changes_and_writes_nothing(fleet):
    proc = fleet.run(check=True, diff=True)
    assert proc.returncode == 0, _show(proc)
    for host in HYPERV:
        assert proc.recap[host]["changed"] > 0, _show(proc)
        assert proc.recap[host]["failed"] == 0
        assert fleet.files(host) == {}, host
    assert proc.recap["kvm"]["changed"] == 0
    # --diff shows the contents that a real run writes.
    assert 'NETVSC_EAL_ARGS="--vdev net_vdev_netvsc0,ignore=1' in proc.stdout
    assert '"vmbus_id": "000d3a03-1eb1-000d-3a03-1eb1000d3a03"' in proc.stdout
    assert 'ATTR{address}=="00:0d:3a:03:1e:b1"' in proc.stdout
    assert "net_vdev_netvsc0,iface=eth1" in proc.stdout  # mlx4 host, vdev_netvsc mode


@pytest.mark.parametrize("host", list(HOSTS))
def test_first_run(fleet, host):
    proc = fleet.run(limit=host)
    fleet.timings.setdefault(host, {})["first_run"] = round(proc.elapsed, 2)
    assert proc.returncode == 0, _show(proc)
    if host == "kvm":
        assert proc.recap[host]["changed"] == 0
        assert "not a Hyper-V/Azure guest" in proc.stdout
        assert fleet.files(host) == {}
    else:
        assert proc.recap[host]["changed"] > 0, _show(proc)


def _read(fleet, host, rel):
    return (fleet.root(host) / rel).read_text()


def test_cx5_files(fleet):
    files = fleet.files("cx5")
    ids = ["000d3a031eb1", "000d3a0318c9", "000d3a0319f7"]  # eth1..eth3; eth0 is management
    for pair_id in ids:
        assert "etc/netvsc/pairs.d/%s.json" % pair_id in files
        assert "etc/netvsc/eal.d/%s.args" % pair_id in files
    assert not any("000d3a031646" in f for f in files), "management NIC eth0 was touched"
    declaration = json.loads(_read(fleet, "cx5", "etc/netvsc/pairs.d/000d3a031eb1.json"))
    assert declaration["netvsc"] == {"mac": "00:0d:3a:03:1e:b1", "name": "eth1",
                                     "vmbus_id": "000d3a03-1eb1-000d-3a03-1eb1000d3a03"}
    assert declaration["driver"] == "hv_netvsc" and declaration["force"] is False
    state_dir = fleet.root("cx5") / "run" / "netvsc"
    env = _read(fleet, "cx5", "etc/netvsc/eal.env")
    assert env.startswith('NETVSC_EAL_ARGS="--vdev net_vdev_netvsc0,ignore=1 --vdev ')
    assert ("net_failsafe_000d3a031eb1,mac=00:0d:3a:03:1e:b1,hotplug_poll=200,"
            "exec(cat %s/000d3a031eb1.vf),dev(net_tap_000d3a031eb1,remote=eth1)" % state_dir) in env
    assert env.splitlines()[0].count("net_failsafe_") == 3
    assert env.splitlines()[1] == 'NETVSC_DPDK_PORTS="%s"' % " ".join(
        "net_failsafe_" + pair_id for pair_id in ids)  # eth1..eth3, in that order
    args = _read(fleet, "cx5", "etc/netvsc/eal.d/000d3a0318c9.args").splitlines()
    assert args[:3] == ["--vdev", "net_vdev_netvsc0,ignore=1", "--vdev"]
    assert args[3].startswith("net_failsafe_000d3a0318c9,mac=00:0d:3a:03:18:c9,")
    for pair_id, mac in zip(ids, ["00:0d:3a:03:1e:b1", "00:0d:3a:03:18:c9", "00:0d:3a:03:19:f7"]):
        rules = _read(fleet, "cx5", "etc/udev/rules.d/90-hyperv-netvsc-vf-%s.rules" % pair_id)
        assert set(re.findall(r'ATTR\{address\}=="([0-9a-f:]+)"', rules)) == {mac}
        assert 'RUN{builtin}+="kmod load mlx5_ib ib_uverbs"' in rules
        network = _read(fleet, "cx5", "etc/systemd/network/01-hyperv-netvsc-vf-%s.network" % pair_id)
        assert "MACAddress=%s" % mac in network and "Unmanaged=yes" in network
    unit = _read(fleet, "cx5", "etc/systemd/system/netvsc-monitor.service")
    assert "Type=notify" in unit
    archive = fleet.root("cx5") / "usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz"
    assert "ExecStart=/usr/bin/python3 %s --foreground" % archive in unit
    assert "--config-dir %s/etc/netvsc/pairs.d" % fleet.root("cx5") in unit
    assert "--state-dir %s" % state_dir in unit
    assert not [f for f in files if f.startswith("etc/modules-load.d/")]
    with zipfile.ZipFile(str(archive)) as pyz:
        packed = dict((name, pyz.read(name)) for name in pyz.namelist())
    sources = dict(("hyperv_netvsc/" + path.name, path.read_bytes())
                   for path in (fleet.coll_root / "plugins" / "module_utils").glob("*.py"))
    assert packed.pop("hyperv_netvsc/__init__.py") == b""
    assert "from hyperv_netvsc._monitor import main" in packed.pop("__main__.py").decode()
    assert packed == sources


def test_mlx4_files(fleet):
    files = fleet.files("mlx4")
    assert sorted(f for f in files if f.startswith("etc/netvsc/pairs.d/")) == [
        "etc/netvsc/pairs.d/000d3a12ebf6.json"]
    assert _read(fleet, "mlx4", "etc/netvsc/eal.env") == (
        'NETVSC_EAL_ARGS="--vdev net_vdev_netvsc0,iface=eth1"\n'
        'NETVSC_DPDK_PORTS="net_failsafe_vsc0"\n')
    assert "kmod load mlx4_ib ib_uverbs" in _read(
        fleet, "mlx4", "etc/udev/rules.d/90-hyperv-netvsc-vf-000d3a12ebf6.rules")


def test_published_vf_files(fleet):
    """The --once monitor run published the live VF (cx5) or an empty file (servicing)."""
    state = fleet.root("cx5") / "run" / "netvsc"
    assert (state / "000d3a031eb1.vf").read_text() == "a2a3:00:02.0\n"
    for pair_id in ("000d3a0318c9", "000d3a0319f7"):
        assert re.match(r"^[0-9a-f]{4}:00:02\.0\n$", (state / (pair_id + ".vf")).read_text())
    published = json.loads((state / "state.json").read_text())
    assert published["pairs"]["000d3a031eb1"]["vf"] == "a2a3:00:02.0"
    servicing = fleet.root("servicing") / "run" / "netvsc"
    assert (servicing / "000d3af58102.vf").read_text() == ""
    # vdev_netvsc finds the VF itself: nothing reads the monitor's files, so there is no monitor.
    assert not (fleet.root("mlx4") / "run/netvsc").exists()
    assert not (fleet.root("mlx4") / "usr/local/lib/hyperv-netvsc").exists()


@pytest.mark.parametrize("host", list(HOSTS))
def test_second_run_changes_nothing(fleet, host):
    before = fleet.files(host)
    proc = fleet.run(limit=host)
    fleet.timings.setdefault(host, {})["second_run"] = round(proc.elapsed, 2)
    fleet.timings[host]["rerun_modules"] = proc.modules[host]
    assert proc.returncode == 0, _show(proc)
    assert proc.recap[host]["changed"] == 0, _show(proc)
    # No setup, no facts module, one netvsc_pair call whatever the number of pairings: 5
    # module runs (netvsc_pair, netvsc_failsafe, netvsc_files, copy, the --once run); without
    # a fail-safe pairing (mlx4: vdev_netvsc) no monitor, 3 (netvsc_pair, netvsc_failsafe,
    # netvsc_files removing the monitor's records, none here).
    expected = {"kvm": 1, "mlx4": 3}.get(host, 5)
    assert proc.modules[host] == expected <= MAX_RERUN_MODULES, proc.modules
    assert fleet.files(host) == before


def test_check_mode_after_deploy_changes_nothing(fleet):
    proc = fleet.run(check=True, diff=True)
    assert proc.returncode == 0, _show(proc)
    assert all(r["changed"] == 0 for r in proc.recap.values()), _show(proc)


def test_a_pairing_dropped_from_the_list_is_removed(fleet):
    """The role owns the declarations: eth3 left out of netvsc_interfaces loses its pairing,
    EAL arguments, VF policy files and published .vf; naming it again brings them back."""
    before = fleet.files("cx5")
    dropped = [f for f in before if "000d3a0319f7" in f]
    assert len(dropped) == 5, dropped  # declaration, .args, udev rule, .network, .vf
    proc = fleet.run(limit="cx5", extra={"netvsc_interfaces": ["eth1", "eth2"]})
    assert proc.returncode == 0, _show(proc)
    after = fleet.files("cx5")
    assert not [f for f in after if "000d3a0319f7" in f]
    assert _read(fleet, "cx5", "etc/netvsc/eal.env").splitlines()[0].count("net_failsafe_") == 2
    proc = fleet.run(limit="cx5")
    assert proc.returncode == 0, _show(proc)
    assert sorted(fleet.files("cx5")) == sorted(before)


def test_management_nic_refused_when_named(fleet):
    """The guard (the simulated network: eth0 holds the default route) refuses eth0, force
    alone does not help, and nothing is changed for eth1 either; allow_management lets it
    through (check mode: nothing written)."""
    before = fleet.files("cx5")
    for item in ("eth0", {"name": "eth0", "force": True}):
        proc = fleet.run(limit="cx5", extra={"netvsc_interfaces": ["eth1", item]})
        assert proc.returncode != 0
        assert proc.recap["cx5"]["failed"] == 1 and proc.recap["cx5"]["changed"] == 0
        assert ("Refusing 1 of 2 pairings, nothing was changed: eth0: eth0 holds the IPv4 default "
                "route (table main); set allow_management: true on its item if you really mean it."
                in proc.stdout), _show(proc)
        assert fleet.files("cx5") == before
    proc = fleet.run(limit="mlx4", extra={"netvsc_interfaces": ["00-0D-3A-1D-66-D4"]})  # eth0
    assert proc.recap["mlx4"]["failed"] == 1 and proc.recap["mlx4"]["changed"] == 0
    assert "eth0 holds the IPv4 default route" in proc.stdout
    proc = fleet.run(limit="cx5", check=True,
                     extra={"netvsc_interfaces": [{"name": "eth0", "allow_management": True}]})
    assert proc.returncode == 0, _show(proc)
    assert proc.recap["cx5"]["changed"] > 0
    assert fleet.files("cx5") == before


def test_not_a_netvsc_is_refused_before_any_change(fleet):
    before = fleet.files("cx5")
    proc = fleet.run(limit="cx5", extra={"netvsc_interfaces": ["eth1", "enP2969s1"]})
    assert proc.recap["cx5"]["failed"] == 1 and proc.recap["cx5"]["changed"] == 0, _show(proc)
    assert "enP2969s1 is the VF of eth0; pass eth0" in proc.stdout
    assert fleet.files("cx5") == before


def test_inputs_people_paste(fleet):
    """A string where a list is expected and MACs as Azure shows them are accepted (the same
    pairings, nothing changes); a misspelt variable, an unknown item key and a system
    directory are refused before anything runs on the host."""
    before = fleet.files("cx5")
    proc = fleet.run(limit="cx5", extra={"netvsc_interfaces": "eth1, 00-0D-3A-03-18-C9 000d3a0319f7"})
    assert proc.returncode == 0 and proc.recap["cx5"]["changed"] == 0, _show(proc)
    refusals = [
        ({"netvsc_interface": ["eth1"]},
         "netvsc_interface is not a variable of the hyperv.netvsc.failsafe role; did you mean "
         "netvsc_interfaces?"),
        ({"netvsc_interfaces": [{"name": "eth1", "allow_managment": True}]},
         "netvsc_interfaces item 1 has unknown keys allow_managment"),
        ({"netvsc_config_dir": "/etc"},
         "netvsc_config_dir must not be the system directory /etc on its own"),
        ({"netvsc_monitor_lib_dir": "/usr/local/lib/"},
         "netvsc_monitor_lib_dir must not be the system directory /usr/local/lib on its own"),
        ({"netvsc_eal_dir": "/etc/netvsc/../ssh"}, "netvsc_eal_dir '/etc/netvsc/../ssh' must not contain '..'"),
    ]
    for extra, message in refusals:
        proc = fleet.run(limit="cx5", extra=extra)
        assert proc.recap["cx5"]["failed"] == 1 and proc.recap["cx5"]["changed"] == 0, _show(proc)
        assert message in proc.stdout, _show(proc)
        assert proc.modules["cx5"] == 0  # refused on the controller: nothing ran on the host
    assert fleet.files("cx5") == before


def test_check_mode_and_diff_are_exact(fleet):
    """--check --diff changes no byte of the sandbox, and shows what the real run then writes."""
    extra = {"netvsc_interfaces": ["eth2", "eth1"], "netvsc_mode": "vdev_netvsc"}
    before = fleet.files("cx5")
    check = fleet.run(limit="cx5", check=True, diff=True, extra=extra)
    assert check.returncode == 0 and check.recap["cx5"]["changed"] > 0, _show(check)
    assert fleet.files("cx5") == before
    planned = 'NETVSC_EAL_ARGS="--vdev net_vdev_netvsc0,iface=eth2 --vdev net_vdev_netvsc1,iface=eth1"'
    assert "+" + planned in check.stdout, _show(check)
    assert "000d3a0319f7.json (absent)" in check.stdout  # eth3's declaration goes
    real = fleet.run(limit="cx5", extra=extra)
    assert real.returncode == 0, _show(real)
    assert _read(fleet, "cx5", "etc/netvsc/eal.env") == (
        planned + '\nNETVSC_DPDK_PORTS="net_failsafe_vsc0 net_failsafe_vsc1"\n')
    assert fleet.run(limit="cx5", check=True, diff=True, extra=extra).recap["cx5"]["changed"] == 0
    restore = fleet.run(limit="cx5")
    assert restore.returncode == 0 and sorted(fleet.files("cx5")) == sorted(before)


def test_non_hyperv_fails_when_asked(fleet):
    proc = fleet.run(limit="kvm", extra={"netvsc_non_hyperv": "fail"})
    assert proc.recap["kvm"]["failed"] == 1
    assert "is not a Hyper-V/Azure guest" in proc.stdout


def test_facts_playbook_prints_one_table(fleet):
    before = {host: fleet.files(host) for host in HOSTS}
    proc = fleet.run("facts.yml")
    assert proc.returncode == 0, _show(proc)
    assert all(r["changed"] == 0 for r in proc.recap.values())
    assert re.search(r"cx5\s+eth1\s+enP\S+\s+a2a3:00:02\.0\s+mlx5\s+kernel\s+000d3a031eb1: a2a3:00:02\.0",
                     proc.stdout), proc.stdout
    assert re.search(r"cx5\s+eth0\s+enP2969s1\s+\S+\s+mlx5\s+kernel\s+one-shot, not declared", proc.stdout)
    assert re.search(r"servicing\s+eth1\s+-\s+-\s+-\s+-\s+000d3af58102: no VF", proc.stdout)
    assert re.search(r"kvm\s+\(not Hyper-V\)", proc.stdout)
    for host in HOSTS:
        assert fleet.files(host).keys() == before[host].keys()


def test_teardown_leaves_no_role_files(fleet):
    proc = fleet.run("teardown.yml")
    assert proc.returncode == 0, _show(proc)
    for host in HYPERV:
        assert proc.recap[host]["changed"] > 0
        # Everything the collection made went, the sandbox root included (the first run made it).
        assert not fleet.root(host).exists(), sorted(fleet.root(host).rglob("*"))
    proc = fleet.run("teardown.yml")
    assert proc.returncode == 0, _show(proc)
    assert all(r["changed"] == 0 for r in proc.recap.values()), _show(proc)


USER_FILES = {
    "etc/hostname": "box\n",
    "etc/ssh/sshd_config": "Port 22\n",
    "etc/netvsc-custom/README": "the user's, next to the declarations\n",
    "usr/local/lib/libuser.so": "elf",
    "usr/local/lib/tools/helper": "#!/bin/sh\n",
    "run/lock/user.lock": "",
}


def _sandbox(base, files):
    """A cx5_4nic sysfs tree at base/sys and a sandbox root at base/root holding files
    ({relative path: text}): (sysfs, root)."""
    sysfs, root = base / "sys", base / "root"
    spec = sysfs_tree.CASES["cx5_4nic"]
    sysfs_tree.build(spec, str(sysfs))
    sysfs_tree.write_simulated_network(spec, str(sysfs))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return sysfs, root


def test_teardown_keeps_every_file_the_collection_did_not_write(fleet, tmp_path):
    """A sandbox root that holds the user's files where the collection writes: the config and
    EAL directory is a user directory (/etc/netvsc-custom), the monitor goes into an existing
    one (/usr/local/lib/tools). /etc and /usr/local/lib themselves are refused. Teardown
    removes every file and directory the collection made, and nothing else."""
    sysfs, root = _sandbox(tmp_path, USER_FILES)
    user = fleet.files("custom", root)
    dirs = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())
    inventory = json.loads(fleet.inventory.read_text())
    inventory["all"]["hosts"] = {"custom": {
        "netvsc_sysfs_root": str(sysfs), "netvsc_root_dir": str(root), "ansible_host": "127.0.0.1",
        "netvsc_config_dir": "/etc/netvsc-custom", "netvsc_eal_dir": "/etc/netvsc-custom",
        "netvsc_monitor_lib_dir": "/usr/local/lib/tools", "netvsc_state_dir": "/run/netvsc-custom"}}
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory))
    for extra in ({"netvsc_config_dir": "/etc"}, {"netvsc_monitor_lib_dir": "/usr/local/lib"}):
        proc = fleet.run(inventory=path, extra=extra)
        assert proc.recap["custom"]["failed"] == 1 and "must not be the system directory" in proc.stdout
        assert fleet.files("custom", root) == user
    proc = fleet.run(inventory=path)
    assert proc.returncode == 0, _show(proc)
    written = set(fleet.files("custom", root)) - set(user)
    assert "etc/netvsc-custom/000d3a031eb1.json" in written and "etc/netvsc-custom/eal.env" in written
    assert "usr/local/lib/tools/netvsc-monitor.pyz" in written and (root / "run/netvsc-custom/state.json").is_file()
    proc = fleet.run("teardown.yml", inventory=path)
    assert proc.returncode == 0 and proc.recap["custom"]["changed"] > 0, _show(proc)
    assert fleet.files("custom", root) == user
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()) == dirs
    again = fleet.run("teardown.yml", inventory=path)
    assert again.returncode == 0 and again.recap["custom"]["changed"] == 0, _show(again)


ACCOUNTS = {"etc/passwd": "root:x:0:0:root:/root:/bin/bash\n"
                          "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n",
            "etc/group": "root:x:0:\nwww-data:x:33:\n"}


def test_the_monitor_user_is_created_only_when_missing_and_deleted_only_when_created(fleet, tmp_path):
    """Sandbox roots with their own account files (useradd --prefix): netvsc-mon is created
    and recorded, then deleted at teardown; the existing www-data is used as it is (warned),
    never modified, and survives teardown. No real account is touched."""
    inventory = json.loads(fleet.inventory.read_text())
    inventory["all"]["hosts"] = {}
    for host, user in (("own", "netvsc-mon"), ("theirs", "www-data")):
        sysfs, root = _sandbox(tmp_path / host, ACCOUNTS)
        inventory["all"]["hosts"][host] = {"netvsc_sysfs_root": str(sysfs), "netvsc_root_dir": str(root),
                                           "ansible_host": "127.0.0.1", "netvsc_monitor_user": user}
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory))

    def accounts(host):
        return {rel: (tmp_path / host / "root" / rel).read_text() for rel in ACCOUNTS}

    proc = fleet.run(inventory=path)
    assert proc.returncode == 0, _show(proc)
    assert "\nnetvsc-mon:" in accounts("own")["etc/passwd"] and "\nnetvsc-mon:" in accounts("own")["etc/group"]
    assert accounts("theirs") == ACCOUNTS
    # ansible-core 2.17 wraps warnings at 80 columns
    assert "the user www-data exists already and the collection did not create it" in " ".join(proc.stdout.split())
    recorded = json.loads((tmp_path / "own/root/var/lib/hyperv-netvsc/manifest.json").read_text())
    assert recorded["users"] == ["netvsc-mon"] and recorded["groups"] == ["netvsc-mon"]
    with pytest.raises(KeyError):
        pwd.getpwnam("netvsc-mon")  # the real system is untouched
    again = fleet.run(inventory=path)
    assert again.returncode == 0 and again.recap["own"]["changed"] == 0, _show(again)
    proc = fleet.run("teardown.yml", inventory=path)
    assert proc.returncode == 0, _show(proc)
    assert accounts("own") == ACCOUNTS and accounts("theirs") == ACCOUNTS
