#!/usr/bin/env python
"""A stand-in for a DPDK application, run by the units of the Molecule scenario `units`.

Writes /run/dpdk-probe/<unit>.json with the argv it got (the EAL arguments systemd split from
$NETVSC_EAL_ARGS), $NETVSC_DPDK_PORTS and systemd's INVOCATION_ID (new at every start), then
waits to be stopped. The unit name is its first argument.
"""
import json
import os
import sys
import time

os.makedirs("/run/dpdk-probe", exist_ok=True)
with open("/run/dpdk-probe/%s.json" % sys.argv[1], "w") as handle:
    json.dump({"argv": sys.argv[2:], "ports": os.environ.get("NETVSC_DPDK_PORTS"),
               "invocation": os.environ.get("INVOCATION_ID")}, handle)
while True:
    time.sleep(3600)
