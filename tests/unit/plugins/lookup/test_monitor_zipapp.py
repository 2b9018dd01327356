# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitor archive: reproducible, exactly the module_utils, and it runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from ansible.errors import AnsibleLookupError

from ansible_collections.hyperv.netvsc.plugins.lookup import monitor_zipapp
from ansible.plugins.loader import lookup_loader


def test_members_are_the_module_utils_byte_for_byte():
    with zipfile.ZipFile(monitor_zipapp.write_to_memory()) as archive:
        names = archive.namelist()
        packed = dict((name, archive.read(name)) for name in names)
    assert names == sorted(names)
    assert packed.pop("__main__.py") == monitor_zipapp.MAIN.encode()
    assert packed.pop("hyperv_netvsc/__init__.py") == b""
    sources = sorted(n for n in os.listdir(monitor_zipapp.MODULE_UTILS) if n.endswith(".py"))
    assert sorted(packed) == ["hyperv_netvsc/" + n for n in sources]
    for name in sources:
        with open(os.path.join(monitor_zipapp.MODULE_UTILS, name), "rb") as handle:
            assert packed["hyperv_netvsc/" + name] == handle.read()


def test_build_ignores_mtimes_and_file_modes(tmp_path):
    copy = tmp_path / "module_utils"
    shutil.copytree(monitor_zipapp.MODULE_UTILS, str(copy))
    for path in copy.glob("*.py"):
        os.utime(str(path), (1e9, 1e9))
        path.chmod(0o600)
    assert monitor_zipapp.build(str(copy)) == monitor_zipapp.build()


def test_write_is_content_addressed_and_reused(tmp_path):
    first = monitor_zipapp.write(str(tmp_path))
    assert os.path.basename(first) == "netvsc-monitor.pyz"
    assert oct(os.stat(first).st_mode & 0o777) == "0o644"
    mtime = os.stat(first).st_mtime_ns
    assert monitor_zipapp.write(str(tmp_path)) == first
    assert os.stat(first).st_mtime_ns == mtime
    changed = tmp_path / "changed"
    shutil.copytree(monitor_zipapp.MODULE_UTILS, str(changed))
    (changed / "_atomic.py").write_text("# edited\n")
    other = monitor_zipapp.write(str(tmp_path), str(changed))
    assert other != first and os.path.basename(other) == "netvsc-monitor.pyz"


def test_the_archive_runs_the_monitor(tmp_path):
    archive = monitor_zipapp.write(str(tmp_path / "build"))
    (tmp_path / "pairs.d").mkdir()
    proc = subprocess.run([sys.executable, archive, "--once", "--sysfs-root", str(tmp_path / "nosys"),
                           "--config-dir", str(tmp_path / "pairs.d"), "--state-dir",
                           str(tmp_path / "state")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"published": [], "removed": [], "status": "0 pairs, 0 with VF"}


def test_lookup_returns_the_path_below_dir(tmp_path):
    lookup = lookup_loader.get("hyperv.netvsc.monitor_zipapp")
    (path,) = lookup.run([], variables={}, dir=str(tmp_path))
    assert path.startswith(str(tmp_path) + os.sep) and path.endswith("/netvsc-monitor.pyz")
    with open(path, "rb") as handle:
        assert handle.read() == monitor_zipapp.build()


def test_a_tampered_archive_is_replaced_not_reused(tmp_path):
    path = monitor_zipapp.write(str(tmp_path))
    with open(path, "r+b") as handle:  # same size, one byte changed
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert monitor_zipapp.write(str(tmp_path)) == path
    with open(path, "rb") as handle:
        assert handle.read() == monitor_zipapp.build()


def test_a_symlinked_or_truncated_archive_is_replaced(tmp_path):
    path = monitor_zipapp.write(str(tmp_path))
    os.unlink(path)
    os.symlink("/etc/hostname", path)
    assert monitor_zipapp.write(str(tmp_path)) == path
    assert not os.path.islink(path)
    with open(path, "r+b") as handle:
        handle.truncate(10)
    monitor_zipapp.write(str(tmp_path))
    with open(path, "rb") as handle:
        assert handle.read() == monitor_zipapp.build()


def test_a_folder_others_may_write_is_refused(tmp_path):
    path = monitor_zipapp.write(str(tmp_path))
    os.chmod(os.path.dirname(path), 0o777)
    lookup = lookup_loader.get("hyperv.netvsc.monitor_zipapp")
    with pytest.raises(AnsibleLookupError, match="refusing to build the monitor archive: .* writable by its group or by others"):
        lookup.run([], variables={}, dir=str(tmp_path))
