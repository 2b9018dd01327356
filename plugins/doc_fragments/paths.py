# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):

    # Options shared by the modules that read pairing declarations and sysfs.
    DOCUMENTATION = r"""
options:
  config_dir:
    description:
      - Directory holding the pairing declarations, one C(<id>.json) file per pairing,
        written by M(hyperv.netvsc.netvsc_pair) and read by M(hyperv.netvsc.netvsc_failsafe)
        and the hot-plug monitor.
    type: path
    default: /etc/netvsc/pairs.d
  sysfs_root:
    description:
      - Where sysfs is mounted. Change it for containers that see the host's sysfs elsewhere,
        and for simulated trees.
    type: path
    default: /sys
"""
