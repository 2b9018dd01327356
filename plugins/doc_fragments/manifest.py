# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # The teardown manifest option of the modules that write files.
    DOCUMENTATION = r"""
options:
  manifest:
    description:
      - Teardown manifest (a JSON file, mode C(0600)) in which every file this task writes and
        every directory it makes is recorded, before it is written or made, so that
        M(hyperv.netvsc.netvsc_files) with O(hyperv.netvsc.netvsc_files#module:state=absent)
        removes exactly those later. Missing directories of the manifest are made and
        recorded too.
      - A manifest that is not a regular file owned by the user running the task and writable
        by it only, or that is not a manifest of this collection, fails the task before any
        change.
      - The C(hyperv.netvsc.failsafe) role passes C(<netvsc_root_dir>/var/lib/hyperv-netvsc/manifest.json).
        Omitted, nothing is recorded.
    type: path
"""
