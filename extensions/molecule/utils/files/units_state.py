#!/usr/bin/env python
"""Print, as one JSON object, what the `units` scenario checks inside its container: per
unit given as an argument, systemd's view (`systemctl show`) and what the stand-in
application recorded (/run/dpdk-probe/<unit>.json, null when it never started); the links
of the netdevs (`ip -j link`); whether the monitor's files are there. Read-only."""
import json
import os
import subprocess
import sys

PROPERTIES = ("ActiveState", "LoadState", "DropInPaths", "EnvironmentFiles", "After", "Wants",
              "ExecStartPre")


def show(unit):
    """systemctl show's properties; one that repeats (an ExecStartPre= per command) is joined
    with newlines."""
    argv = ["systemctl", "show", "--no-pager"] + ["-p" + name for name in PROPERTIES] + [unit]
    out = subprocess.run(argv, stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            found[key] = found[key] + "\n" + value if key in found else value
    return found


def record(unit):
    try:
        with open("/run/dpdk-probe/%s.json" % unit) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


links = json.loads(subprocess.run(["ip", "-j", "link"], stdout=subprocess.PIPE,
                                  universal_newlines=True, check=True).stdout)
print(json.dumps({
    "units": dict((unit, dict(show(unit), record=record(unit))) for unit in sys.argv[1:]),
    "links": dict((link["ifname"], {"mac": link.get("address"), "up": "UP" in link.get("flags", [])})
                  for link in links),
    "monitor": dict((path, os.path.exists(path)) for path in (
        "/etc/systemd/system/netvsc-monitor.service", "/usr/local/lib/hyperv-netvsc", "/run/netvsc")),
    "monitor_unit": show("netvsc-monitor.service"),
}, sort_keys=True))
