#!/usr/bin/env bash
# `make demo`: the collection on a simulated fleet, no root, no VMs, under a minute.
#
#   demo/run.sh            venv, collection link, fleet, site.yml, facts.yml, report.yml, table
#   DEMO_DIR=/tmp/d demo/run.sh    build somewhere else (default: build/demo)
#   DEMO_COLLECTIONS=DIR           use this collections path (it must already hold
#                                  ansible_collections/hyperv/netvsc) instead of the build/ link
#   DEMO_SETUP=0                   skip step 1 and use the ansible-* already on PATH (tests)
#
# 1. The venv: only ansible-core (tests/requirements/demo.txt), made with python3 (>= 3.11,
#    what ansible-core 2.19 needs) in .nox/venvs/demo ($NETVSC_VENV_DIR/demo); rebuilt only
#    when that file or the Python changes. Not the test toolchain.
# 2. The collection: build/collections/ansible_collections/hyperv/netvsc is a symlink to this
#    checkout (no build/install step, edits show at once; packaging is checked elsewhere).
# 3. The fleet: demo/fleet.py builds 18 hosts (sysfs trees from tests/fixtures, a sandbox
#    root each) and the inventory; demo/ansible.cfg points at them.
# 4. hyperv.netvsc.site (the failsafe role; the monitor runs once per host), hyperv.netvsc.facts,
#    hyperv.netvsc.report; then the constructed groups and the fleet table.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DEMO_DIR="${DEMO_DIR:-$REPO/build/demo}"
COLLECTIONS="${DEMO_COLLECTIONS:-$REPO/build/collections}"
start=$SECONDS

step() { printf '\n=== %s (%ss)\n' "$*" "$((SECONDS - start))"; }

if [ "${DEMO_SETUP:-1}" != 0 ]; then
    venv="${NETVSC_VENV_DIR:-$REPO/.nox/venvs}/demo"
    lock="$REPO/tests/requirements/demo.txt"
    step "venv ($venv: ansible-core only)"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { echo "demo: python3 is $(python3 -V 2>&1); ansible-core 2.19 needs >= 3.11" >&2; exit 1; }
    stamp="$({ cat "$lock"; command -v python3; python3 -V; } | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$venv/.netvsc-stamp" 2>/dev/null)" != "$stamp" ]; then
        if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then  # Debian: python3-venv
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
        fi
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$lock"
        printf '%s\n' "$stamp" >"$venv/.netvsc-stamp"
    fi
    export PATH="$venv/bin:$PATH"
fi
command -v ansible-playbook >/dev/null || { echo "demo: ansible-playbook not on PATH" >&2; exit 1; }

if [ -z "${DEMO_COLLECTIONS:-}" ]; then
    step "collection: $COLLECTIONS/ansible_collections/hyperv/netvsc -> $REPO"
    mkdir -p "$COLLECTIONS/ansible_collections/hyperv"
    ln -sfn "$REPO" "$COLLECTIONS/ansible_collections/hyperv/netvsc"
fi

step "fleet"
python "$REPO/demo/fleet.py" build --dest "$DEMO_DIR"

export ANSIBLE_CONFIG="$REPO/demo/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"
export ANSIBLE_INVENTORY="$DEMO_DIR/inventory"
export ANSIBLE_CACHE_PLUGIN_CONNECTION="$DEMO_DIR/facts"
export ANSIBLE_NOCOLOR="${ANSIBLE_NOCOLOR:-1}"
LOGS="$DEMO_DIR/logs"
mkdir -p "$LOGS"

play() {
    local name="$1" log="$LOGS/${1##*.}.log"
    shift
    step "ansible-playbook $name $*"
    if ! ansible-playbook "$name" "$@" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "demo: $name failed; full output: $log" >&2
        exit 1
    fi
    sed -n '/^PLAY RECAP/,$p' "$log" | sed -e '/^$/d' -e 's/^/  /'
}

play hyperv.netvsc.site
play hyperv.netvsc.facts
play hyperv.netvsc.report -e "netvsc_report_dir=$DEMO_DIR/report"

step "groups built by the constructed inventory from the fact cache"
ansible-inventory --list --export | python -c '
import json, sys
inv = json.load(sys.stdin)
for group in sorted(g for g in inv if g.startswith("netvsc_") and g not in ("netvsc_hosts", "netvsc_observed")):
    print("  %-20s %s" % (group, ",".join(inv[group].get("hosts", [])) or "-"))
'

step "fleet table"
python "$REPO/demo/fleet.py" table --dest "$DEMO_DIR"

printf '\nReport: %s/report/report.html (and report.json, report.csv)\n' "$DEMO_DIR"
printf 'Ansible output: %s/*.log\n' "$LOGS"
printf 'demo finished in %ss\n' "$((SECONDS - start))"
