#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render a roles/failsafe template the way Ansible's template module does (trim_blocks).

    render.py TEMPLATE OUT [name=json-value ...]

Used by tests/run/40-monitor.sh and the integration tests to check the unit, udev rule and
.network file without running a playbook.
"""

import json
import sys

import jinja2


def render(template_path, variables):
    with open(template_path) as handle:
        source = handle.read()
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    return env.from_string(source).render(**variables)


def main(argv):
    variables = {}
    for item in argv[3:]:
        name, _sep, value = item.partition("=")
        variables[name] = json.loads(value)
    with open(argv[2], "w") as handle:
        handle.write(render(argv[1], variables))


if __name__ == "__main__":
    main(sys.argv)
