# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print the management guard's verdicts for a sysfs tree as JSON, with this process's
environment and network namespace: ``run_guard.py TREE``. Stdlib only, like the modules."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
from plugins.module_utils import _guard, _scan  # noqa: E402  (the collection's checkout)


def main(root):
    verdicts = _guard.assess(_scan.scan(root), root, dict(os.environ))
    print(json.dumps(dict((key, verdict._asdict()) for key, verdict in verdicts.items()),
                     sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])
