# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
name: monitor_zipapp
short_description: Build the hot-plug monitor as one Python zip application
version_added: 0.1.0
description:
  - Packs this collection's C(plugins/module_utils/*.py) as the C(hyperv_netvsc) package,
    with a C(__main__.py) that runs the monitor, into one zip application
    (C(python3 netvsc-monitor.pyz --help)). The monitor runs the same code as the modules.
  - The archive is byte-for-byte reproducible (sorted members, fixed timestamps and
    permissions, no compression), so copying it again changes nothing until the code does.
  - It is written on the controller as C(netvsc-monitor-<digest>/netvsc-monitor.pyz) below
    O(dir) and the lookup returns that path. An existing archive is reused only when its
    SHA-256 digest is that of the archive just built and it is a regular file in a folder
    owned by the controller user (or root) that nobody else may write; a tampered or
    truncated archive is replaced, a folder someone else controls is refused.
    Give the path to M(ansible.builtin.copy) with a C(dest) that ends in C(/) to install it as
    C(netvsc-monitor.pyz) (the directory is created when missing).
author:
  - hyperv.netvsc contributors (@hyperv-netvsc)
options:
  dir:
    description:
      - Controller directory that receives the archive. The default is Ansible's per-run
        local temporary directory (removed when the run ends).
    type: path
notes:
  - The hyperv.netvsc.failsafe role uses this lookup to install the monitor.
"""

EXAMPLES = r"""
- name: Install the hot-plug monitor as /usr/local/lib/hyperv-netvsc/netvsc-monitor.pyz
  ansible.builtin.copy:
    src: "{{ lookup('hyperv.netvsc.monitor_zipapp') }}"
    dest: /usr/local/lib/hyperv-netvsc/
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: Controller path of the archive, a file named C(netvsc-monitor.pyz).
  type: list
  elements: path
"""

import hashlib
import io
import os
import tempfile
import zipfile

from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.hyperv.netvsc.plugins.module_utils import _trust

ARCHIVE_NAME = "netvsc-monitor.pyz"
PACKAGE = "hyperv_netvsc"
MODULE_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "module_utils")
MAIN = ("# Runs the hyperv.netvsc hot-plug monitor (hyperv_netvsc/_monitor.py).\n"
        "from hyperv_netvsc._monitor import main\n"
        "\n"
        "raise SystemExit(main())\n")
# DOS time of 1980-01-01, the earliest a zip can hold: the archive must not depend on mtimes.
EPOCH = (1980, 1, 1, 0, 0, 0)


def members(source_dir=MODULE_UTILS):
    """(archive name, bytes) of every member, sorted by name."""
    files = [("__main__.py", MAIN.encode("utf-8")), (PACKAGE + "/__init__.py", b"")]
    for name in sorted(os.listdir(source_dir)):
        if name.endswith(".py") and name != "__init__.py":
            with open(os.path.join(source_dir, name), "rb") as handle:
                files.append(("%s/%s" % (PACKAGE, name), handle.read()))
    return sorted(files)


def write_to_memory(source_dir=MODULE_UTILS):
    """The archive in a BytesIO: identical bytes for identical sources, on any controller."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members(source_dir):
            info = zipfile.ZipInfo(name, EPOCH)
            info.create_system = 3  # Unix, so external_attr means mode bits everywhere
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)
    buffer.seek(0)
    return buffer


def build(source_dir=MODULE_UTILS):
    """The archive's bytes."""
    return write_to_memory(source_dir).getvalue()


def _verified(path, data):
    """Whether path is a trusted regular file holding exactly data (compared by SHA-256)."""
    try:
        found = _trust.read(path, len(data))
    except (OSError, _trust.UntrustedError):
        return False
    return hashlib.sha256(found).digest() == hashlib.sha256(data).digest()


def write(directory, source_dir=MODULE_UTILS):
    """Write the archive below directory (once per digest); return its path.

    An existing archive is reused only when its digest matches and its folder is trusted
    (ours or root's, writable by nobody else), since directory may be shared; otherwise it is
    rewritten. Raises _trust.UntrustedError for a folder someone else controls.
    """
    data = build(source_dir)
    folder = os.path.join(directory, "netvsc-monitor-" + hashlib.sha256(data).hexdigest()[:16])
    path = os.path.join(folder, ARCHIVE_NAME)
    os.makedirs(folder, 0o755, exist_ok=True)
    _trust.check_dir(folder)
    if not _verified(path, data):
        # Forks evaluate the lookup at the same time: write aside, rename into place.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".pyz.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return path


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        directory = self.get_option("dir") or C.DEFAULT_LOCAL_TMP
        try:
            return [write(directory)]
        except _trust.UntrustedError as exc:
            raise AnsibleLookupError("refusing to build the monitor archive: %s" % exc)
        except OSError as exc:
            raise AnsibleLookupError("cannot write the monitor archive in %s: %s"
                                     % (directory, exc.strerror or exc))
