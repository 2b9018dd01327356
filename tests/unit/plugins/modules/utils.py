# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() through the real AnsibleModule entry point and return its result."""

from __future__ import annotations

import contextlib
import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings

try:
    from ansible.module_utils.testing import patch_module_args  # ansible-core >= 2.19
except ImportError:  # ansible-core 2.17 and 2.18: AnsibleModule reads basic._ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


def run_module(module, capsys, args, check_mode=False, diff=False):
    """Call module.main() with args; return the JSON result plus "rc" (the exit code).

    warnings are plain strings. Every run starts without the warnings and deprecations of
    earlier runs (ansible-core keeps them in process-wide lists, where identical messages
    are merged), and a run that reports a deprecation fails the test.
    """
    module_warnings._global_warnings.clear()
    module_warnings._global_deprecations.clear()
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            module.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exc.value.code
    assert not result.get("deprecations"), result["deprecations"]
    result["warnings"] = [_message(w) for w in result.get("warnings", [])]
    return result


def _message(warning):
    """ansible-core >= 2.19 returns warnings as structured events; keep just the text."""
    return warning["event"]["msg"] if isinstance(warning, dict) else warning
