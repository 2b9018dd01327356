# -*- coding: utf-8 -*-
# Copyright: hyperv.netvsc contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""format_env() round trip through a real systemd: 247, 252 and 257 (Debian 11, 12 and 13
roots booted with systemd-nspawn, tests/fixtures/nspawn.py).

The EnvironmentFile written by format_env() is read by a unit whose command line uses
`$NETVSC_EAL_ARGS` as a word of its own; the process must receive exactly render()'s argv
(each `--vdev` value with its space and parentheses as ONE argument). `${NETVSC_EAL_ARGS}`
is shown to give one single argument (so units must not use the braced form).

The nspawn test session runs it (marker nspawn).
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.hyperv.netvsc.plugins.module_utils import _devargs
from ansible_collections.hyperv.netvsc.tests.fixtures import nspawn

PAIRS = [{"id": "eth1", "mac": "00:0d:3a:03:1e:b1", "netvsc_name": "eth1", "driver": "hv_netvsc",
          "vf": None},
         {"id": "eth2", "mac": "00:0d:3a:03:1e:b2", "netvsc_name": "eth2", "driver": "hv_netvsc",
          "vf": None}]
TRICKY = ["--vdev", "x,exec(cat /run/a$b`c`),dev(y)", "a  b", "50%"]
DUMP = ("#!/usr/bin/python3\nimport json, os, sys\n"
        "json.dump(sys.argv[1:], open('/rt/out-' + os.environ['WHICH'], 'w'))\n")
UNIT = ("[Service]\nType=oneshot\nEnvironmentFile=/rt/eal.env\nEnvironment=WHICH={which}\n"
        "ExecStart=/usr/bin/python3 /rt/dump.py {expr}\n")

pytestmark = pytest.mark.nspawn


@pytest.fixture(params=sorted(nspawn.SUITES))
def container(request, tmp_path):
    reason = nspawn.unavailable_reason()
    if reason:
        pytest.skip(reason)
    box = nspawn.Container("devargs-env", nspawn.debian_root(request.param),
                           binds=["%s:/rt" % tmp_path]).start()
    try:
        yield box
    finally:
        box.stop()


def test_env_file_round_trip_real_systemd(container, tmp_path):
    rendered = _devargs.render(PAIRS, mode="failsafe")
    env = _devargs.format_env(rendered) + _devargs.format_env(TRICKY, var="TRICKY")
    (tmp_path / "eal.env").write_text(env)
    (tmp_path / "dump.py").write_text(DUMP)
    units = {"split": "$NETVSC_EAL_ARGS", "braced": "${NETVSC_EAL_ARGS}", "tricky": "$TRICKY"}
    for which, expr in units.items():
        (tmp_path / ("rt-%s.service" % which)).write_text(UNIT.format(which=which, expr=expr))
    script = ("cp /rt/rt-*.service /etc/systemd/system/ && systemctl daemon-reload && "
              "systemctl start rt-split.service rt-braced.service rt-tricky.service")
    container.sh(script)
    print(env, end="")

    def got(which):
        return json.loads((tmp_path / ("out-" + which)).read_text())

    assert got("split") == rendered.eal_args
    # braced: the whole value (quotes included) as ONE argument
    assert got("braced") == [" ".join(_devargs.quote_word(w) for w in rendered.eal_args)]
    assert got("tricky") == TRICKY
