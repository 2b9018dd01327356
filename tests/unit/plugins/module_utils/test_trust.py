# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""StrictModes-like trust: hostile directories and files are refused, never followed or hung on."""

from __future__ import annotations

import os
import threading

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _trust

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")


def test_reads_a_trusted_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    assert _trust.read(str(path), 5) == b"12345"
    with pytest.raises(_trust.UntrustedError, match="is 5 bytes, more than the 4 it may have"):
        _trust.read(str(path), 4)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        _trust.read(str(tmp_path / "none"), 10)


def test_a_fifo_never_blocks(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(str(path))
    result = []
    reader = threading.Thread(target=lambda: result.append(pytest.raises(
        _trust.UntrustedError, _trust.read, str(path), 10)))
    reader.daemon = True
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert "is a FIFO, not a regular file" in str(result[0].value)


@pytest.mark.parametrize("target", ["/dev/zero", "/etc/hostname"])
def test_a_symlink_is_never_followed(tmp_path, target):
    os.symlink(target, str(tmp_path / "link"))
    with pytest.raises(_trust.UntrustedError, match="link is a symbolic link"):
        _trust.read(str(tmp_path / "link"), 10)


def test_a_device_is_refused():
    with pytest.raises(_trust.UntrustedError, match="/dev/zero is a character device"):
        _trust.read("/dev/zero", 10)


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666])
def test_a_file_others_may_write_is_refused(tmp_path, mode):
    path = tmp_path / "f"
    path.write_text("x")
    os.chmod(str(path), mode)
    with pytest.raises(_trust.UntrustedError, match="writable by its group or by others"):
        _trust.read(str(path), 10)


@ROOT_ONLY
def test_owner_must_be_root_or_the_reader(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    os.chown(str(path), 4242, 4242)
    with pytest.raises(_trust.UntrustedError, match="owned by uid 4242, not by root or uid 0"):
        _trust.read(str(path), 10)
    assert _trust.read(str(path), 10, uid=4242) == b"x"
    os.chown(str(tmp_path), 4242, 4242)
    with pytest.raises(_trust.UntrustedError, match="owned by uid 4242"):
        _trust.check_dir(str(tmp_path))
    _trust.check_dir(str(tmp_path), uid=4242)


def test_directory_checks(tmp_path):
    _trust.check_dir(str(tmp_path))
    os.chmod(str(tmp_path), 0o1777)
    with pytest.raises(_trust.UntrustedError, match="writable by its group or by others .mode 1777."):
        _trust.check_dir(str(tmp_path))
    os.chmod(str(tmp_path), 0o755)
    (tmp_path / "f").write_text("")
    with pytest.raises(_trust.UntrustedError, match="is not a directory"):
        _trust.check_dir(str(tmp_path / "f"))
    with pytest.raises(FileNotFoundError):
        _trust.check_dir(str(tmp_path / "none"))
