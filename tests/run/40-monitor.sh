#!/usr/bin/env bash
# Stage 40: the hot-plug monitor for real (its unit tests run in stage 20).
#
#   tests/run/40-monitor.sh [pytest args...]
#
#  1. renders roles/failsafe/templates/netvsc-monitor.service.j2 and checks it with
#     `systemd-analyze verify` and `systemd-analyze security --offline=yes` (exposure <= 1.5);
#  2. renders a pairing's udev rule as netvsc_pair writes it (plugins/module_utils/_vfpolicy.py,
#     imported from the monitor archive the role installs) and runs it with `udevadm test` on
#     this host's PCI network device in a private mount namespace where it is the only rule
#     (and /run is a scratch tmpfs): the declared MAC gets the three properties, another MAC
#     gets none, and the RDMA kmod line runs for the VF's PCI driver only;
#  3. runs the rendered unit under a real systemd in an nspawn container
#     (tests/integration/monitor/nspawn_unit_check.sh): uevents still arrive under the
#     hardening, reload, restart after SIGKILL, clean stop; NETVSC_MONITOR_NSPAWN=0 skips it;
#  4. runs tests/integration/monitor (real uevents in network namespaces, faults, DPDK
#     fail-safe) with pytest and prints the measured figures.
#
# Needs root. Works from all.sh (REPO, VENV, COLLECTION_ROOT) or standalone.
# MONITOR_FLAPS (default 2000) sets the size of the flap test.
set -euo pipefail

REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
SRC=${COLLECTION_ROOT:-$REPO}
log() { printf '[40-monitor] %s\n' "$*" >&2; }
start=$(date +%s)
[ "$(id -u)" = 0 ] || { log "needs root (network namespaces, mounts)"; exit 1; }

if [ -f "$REPO/tests/run/lib.sh" ]; then
    # shellcheck source=tests/run/lib.sh
    . "$REPO/tests/run/lib.sh"
    ensure_commands ip:iproute2 systemd-analyze:systemd udevadm:udev unshare:util-linux
    command -v dpdk-testpmd >/dev/null 2>&1 || ensure_debs dpdk-dev librte-net-failsafe23
fi

# Python with pytest, jinja2 and ansible (the monitor archive is built by the collection's
# lookup plugin): the test venv, else python3, else a scratch venv.
PY=
for candidate in "${VENV:+$VENV/bin/python}" "$REPO/.venv/bin/python" python3; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c 'import pytest, jinja2, ansible' 2>/dev/null; then PY=$candidate; break; fi
done
if [ -z "$PY" ]; then
    PY=/tmp/netvsc-monitor-venv/bin/python
    if ! "$PY" -c 'import pytest, jinja2, ansible' 2>/dev/null; then
        log "creating scratch venv /tmp/netvsc-monitor-venv (pytest, jinja2, ansible-core)"
        python3 -m venv /tmp/netvsc-monitor-venv
        "$PY" -m pip install -q pytest jinja2 ansible-core
    fi
fi

WORK=$(mktemp -d /tmp/netvsc-monitor-stage.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
RENDER="$PY $SRC/tests/integration/monitor/render.py"
TEMPLATES=$SRC/roles/failsafe/templates
ARCHIVE=$("$PY" "$SRC/tests/fixtures/monitor_archive.py" "$WORK/build")
failed=0

# vf_policy KIND MAC OUT: netvsc_pair's file for one pairing (KIND udev_rule or network).
vf_policy() {
    "$PY" - "$ARCHIVE" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from hyperv_netvsc import _vfpolicy
kind, mac, out = sys.argv[2:5]
_path, text = _vfpolicy.files("stage40", mac, "/udev", "/network")[kind]
with open(out, "w") as handle:
    handle.write(text)
PY
}

# ---------------------------------------------------------------- 1. the unit
check_unit() {  # check_unit LABEL [var=json ...]
    local label=$1; shift
    local unit=$WORK/netvsc-monitor.service
    $RENDER "$TEMPLATES/netvsc-monitor.service.j2" "$unit" "$@"
    log "unit ($label): systemd-analyze verify"
    local out
    out=$(systemd-analyze verify "$unit" 2>&1) || { echo "$out"; log "FAIL: verify exited non-zero"; failed=1; }
    if [ -n "$out" ]; then echo "$out"; log "FAIL: verify printed warnings"; failed=1; fi
    log "unit ($label): systemd-analyze security --offline=yes"
    systemd-analyze security --offline=yes "$unit" | tee "$WORK/security.txt" | grep -v '^✓' || true
    local score
    score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$WORK/security.txt")
    if [ -z "$score" ] || ! awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }'; then
        log "FAIL: exposure ${score:-unknown} > 1.5"; failed=1
    else
        log "exposure $score (goal <= 1.5)"
    fi
}
check_unit defaults
check_unit "textfile, watchdog" 'netvsc_monitor_textfile="/var/lib/node_exporter/textfile/netvsc.prom"' \
    'netvsc_monitor_watchdog_sec=120' 'netvsc_monitor_resync_interval=0'

# ---------------------------------------------------------------- 2. the udev rule
udev_props() {  # udev_props RULES DEVICE -> the properties udevadm test prints; problems: $WORK/udev.bad
    mkdir -p "$WORK/empty" "$WORK/rules"
    rm -f "$WORK/rules/"*; cp "$1" "$WORK/rules/90-hyperv-netvsc-vf-stage40.rules"
    # shellcheck disable=SC2016  # $1... expand in the inner sh -c, not here
    unshare -m --propagation private sh -c '
        mount -t tmpfs tmpfs /run &&
        mount --bind "$1/empty" /usr/lib/udev/rules.d &&
        { [ ! -d /lib/udev/rules.d ] || [ /lib -ef /usr/lib ] || mount --bind "$1/empty" /lib/udev/rules.d; } &&
        mount --bind "$1/rules" /etc/udev/rules.d &&
        exec udevadm test --action=add "$2"' sh "$WORK" "$2" >"$WORK/udev.out" 2>&1 || true
    if grep -iE 'invalid|unknown key|failed to parse|ignoring line' "$WORK/udev.out" >&2; then
        log "udevadm reported a rule problem"; : >"$WORK/udev.bad"  # (runs in $(...) too)
    fi
    grep -E '^(NETVSC_VF_UNMANAGED|ID_NET_MANAGED_BY|NM_UNMANAGED)=' "$WORK/udev.out" || true
}
pci_dev=
for dev in /sys/class/net/*; do
    if [ -e "$dev/device" ] && readlink -f "$dev/device" | grep -q '/pci[0-9a-f]'; then pci_dev=$dev; break; fi
done
log "udevadm: $(udevadm --version); 'udevadm verify' needs systemd >= 254, so rules are checked with 'udevadm test'"
if [ -z "$pci_dev" ]; then
    log "SKIP udev rule test: no PCI network device on this host"
else
    mac=$(cat "$pci_dev/address")
    vf_policy udev_rule "$mac" "$WORK/match.rules"
    vf_policy udev_rule 00:0d:3a:00:00:99 "$WORK/other.rules"
    log "udev rule, declared MAC $mac on $(basename "$pci_dev") (PCI parent):"
    props=$(udev_props "$WORK/match.rules" "$pci_dev")
    echo "$props"
    [ "$(echo "$props" | grep -c .)" = 3 ] || { log "FAIL: expected the three properties"; failed=1; }
    log "udev check self-test: a broken rule must be reported"
    printf 'SUBSYSTEM=="net", BOGUS{x}="y"\n' >"$WORK/broken.rules"
    udev_props "$WORK/broken.rules" "$pci_dev" >/dev/null 2>&1
    [ -e "$WORK/udev.bad" ] || { log "FAIL: udevadm test did not report an invalid key"; failed=1; }
    rm -f "$WORK/udev.bad"
    # The kmod lines match the VF's PCI device by its driver (mlx4_core, mlx5_core, mana):
    # none matches here; with this host's PCI driver put in for mlx5_core, udev runs it.
    udev_props "$WORK/match.rules" "$pci_dev" >/dev/null
    runs=$(grep -c "^run: 'kmod load" "$WORK/udev.out" || true)
    [ "$runs" = 0 ] || { log "FAIL: a kmod line matched a non-mlx device"; failed=1; }
    pci_parent=$(readlink -f "$pci_dev/device")
    while [ "$(basename "$(readlink -f "$pci_parent/subsystem")")" != pci ]; do pci_parent=$(dirname "$pci_parent"); done
    pci_driver=$(basename "$(readlink -f "$pci_parent/driver")")
    sed "s/DRIVERS==\"mlx5_core\"/DRIVERS==\"$pci_driver\"/" "$WORK/match.rules" >"$WORK/kmod.rules"
    udev_props "$WORK/kmod.rules" "$pci_dev" >/dev/null
    log "udev rule with the PCI driver $pci_driver in place of mlx5_core: $(grep "^run:" "$WORK/udev.out" || echo 'no run')"
    grep -qx "run: 'kmod load mlx5_ib ib_uverbs'" "$WORK/udev.out" || { log "FAIL: the kmod line did not match"; failed=1; }
    log "udev rule, other MAC:"
    props=$(udev_props "$WORK/other.rules" "$pci_dev")
    [ -z "$props" ] || { echo "$props"; log "FAIL: rule matched a MAC it does not declare"; failed=1; }
    log "udev rule, declared MAC on a virtual device (lo, no PCI parent):"
    vf_policy udev_rule 00:00:00:00:00:00 "$WORK/lo.rules"
    props=$(udev_props "$WORK/lo.rules" /sys/class/net/lo)
    [ -z "$props" ] || { echo "$props"; log "FAIL: rule matched a device without PCI parent"; failed=1; }
fi
[ ! -e "$WORK/udev.bad" ] || { log "FAIL: udevadm reported problems in the rendered rule"; failed=1; }
vf_policy network 00:0d:3a:00:00:99 "$WORK/01-hyperv-netvsc-vf-stage40.network"
grep -q '^Property=NETVSC_VF_UNMANAGED=1$' "$WORK/01-hyperv-netvsc-vf-stage40.network" || { log "FAIL: .network"; failed=1; }

# ---------------------------------------------------------------- 3. the unit under real systemd
# Checks that the hardening leaves uevents and /sys reachable (nspawn container, systemd 252).
# The root comes from tests/molecule/build-root.sh (cached; ~80 s to build the first time).
if [ "${NETVSC_MONITOR_NSPAWN:-1}" = 1 ] && [ -f "$SRC/tests/molecule/build-root.sh" ]; then
    if root=$(bash "$SRC/tests/molecule/build-root.sh"); then
        log "unit under systemd-nspawn ($root)"
        timeout 120 bash "$SRC/tests/integration/monitor/nspawn_unit_check.sh" "$SRC" "$root" "$PY" || failed=1
    else
        log "FAIL: could not build the nspawn root"; failed=1
    fi
else
    log "SKIP unit under systemd-nspawn (NETVSC_MONITOR_NSPAWN=0 or no tests/molecule/build-root.sh)"
fi

# ---------------------------------------------------------------- 4. real processes
export MONITOR_REPORT=$WORK/report.jsonl
: >"$MONITOR_REPORT"
log "pytest tests/integration/monitor ($PY)"
(cd "$SRC/tests/integration/monitor" && timeout 300 "$PY" -m pytest -q -p no:cacheprovider \
    -o console_output_style=classic . "$@") || failed=1
log "measured:"
cat "$MONITOR_REPORT" >&2

log "stage time $(( $(date +%s) - start )) s"
if [ "$failed" != 0 ]; then log "FAILED"; exit 1; fi
log "passed"
