# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render a roles/failsafe template the way Ansible's template module does (trim_blocks), to
check the unit without running a playbook."""

from __future__ import annotations

import jinja2


def render(template_path, variables):
    with open(template_path) as handle:
        source = handle.read()
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    return env.from_string(source).render(**variables)
