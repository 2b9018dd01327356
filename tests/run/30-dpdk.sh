#!/usr/bin/env bash
# Stage 30: real DPDK. Feeds the devargs rendered by plugins/module_utils/_devargs.py to
# dpdk-testpmd (Debian 12: DPDK 22.11) in throw-away network namespaces.
#
#   tests/run/30-dpdk.sh [pytest args...]
#
# Needs root (netns, AF_PACKET, TAP). Installs dpdk-dev and librte-net-failsafe23 with apt
# when dpdk-testpmd is missing. Python: the repo's .venv if present, else python3 (pytest is
# installed into a scratch venv under /tmp when python3 has none).
# Logs: $NETVSC_DPDK_LOG_DIR (default build/dpdk-logs/).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
log() { printf '[30-dpdk] %s\n' "$*" >&2; }
start=$(date +%s)

if [ "$(id -u)" != 0 ]; then
    log "needs root (network namespaces, AF_PACKET and TAP devices)"; exit 1
fi

if ! command -v dpdk-testpmd >/dev/null 2>&1 || ! dpkg-query -W librte-net-failsafe23 >/dev/null 2>&1; then
    log "installing dpdk-dev librte-net-failsafe23"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        dpdk-dev librte-net-failsafe23 >/dev/null
fi
log "DPDK: $(dpkg-query -W -f '${Package} ${Version}\n' dpdk-dev librte-net-failsafe23 | tr '\n' ' ')"

if [ -x "$REPO/.venv/bin/python" ]; then
    PY=$REPO/.venv/bin/python
elif python3 -c 'import pytest' 2>/dev/null; then
    PY=python3
else
    PY=/tmp/netvsc-dpdk-venv/bin/python
    if ! "$PY" -c 'import pytest' 2>/dev/null; then
        log "creating scratch venv /tmp/netvsc-dpdk-venv with pytest"
        python3 -m venv /tmp/netvsc-dpdk-venv
        "$PY" -m pip install -q pytest
    fi
fi

# Import path ansible_collections.hyperv.netvsc -> this checkout.
tree=$(mktemp -d /tmp/netvsc-dpdk-tree.XXXXXX)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/ansible_collections/hyperv"
ln -s "$REPO" "$tree/ansible_collections/hyperv/netvsc"

export NETVSC_DPDK_LOG_DIR=${NETVSC_DPDK_LOG_DIR:-$REPO/build/dpdk-logs}
cd "$tree/ansible_collections/hyperv/netvsc"
rc=0
PYTHONPATH="$tree${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 \
    timeout 300 "$PY" -m pytest -p no:cacheprovider -ra -s tests/integration/dpdk "$@" || rc=$?
log "logs in $NETVSC_DPDK_LOG_DIR; took $(( $(date +%s) - start ))s; rc=$rc"
exit $rc
