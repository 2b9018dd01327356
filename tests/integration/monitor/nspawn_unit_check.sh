#!/usr/bin/env bash
# The rendered unit under a real systemd (Debian 12 nspawn container, --private-network):
# all hardening directives active, the monitor must still get uevents and read /sys.
#
#   nspawn_unit_check.sh SRC ROOT PYTHON
#     SRC     collection checkout; ROOT the prepared root (tests/molecule/build-root.sh)
#
# Steps: start the unit (Type=notify: active only after READY=1), check the published files
# and STATUS=, add a VF to the fixture tree and a veth inside the container (a uevent seen only
# by the container's listeners) -> the VF is published, reload (SIGHUP) after removing a
# declaration -> its .vf is gone, SIGKILL -> Restart=on-failure republishes, stop -> exit 0.
set -euo pipefail
SRC=$1 ROOT=$2 PY=$3
log() { printf '[nspawn-unit] %s\n' "$*" >&2; }
W=$(mktemp -d /tmp/netvsc-nspawn-unit.XXXXXX)
NAME=nvmon$$
started=
cleanup() {
    if [ -n "$started" ]; then
        bash "$SRC/tests/molecule/nspawn.sh" stop "$NAME" "$NSPAWN_PID" "$CGROUP" >/dev/null 2>&1 || true
    fi
    rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/lib" "$W/units" "$W/pairs"
archive=$("$PY" "$SRC/tests/fixtures/monitor_archive.py" "$W/build")
cp "$archive" "$W/lib/"
"$PY" "$SRC/tests/integration/monitor/render.py" "$SRC/roles/failsafe/templates/netvsc-monitor.service.j2" \
    "$W/units/netvsc-monitor.service" 'netvsc_sysfs_root="/srv/netvsc-sysfs"' \
    'netvsc_monitor_archive="/opt/nvlib/netvsc-monitor.pyz"' 'netvsc_config_dir="/opt/pairs"'
"$PY" - "$SRC" "$W" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/tests/integration/monitor")
import conftest
conftest.sysfs_tree.build(conftest.SPEC, sys.argv[2] + "/sys")
conftest.declare(sys.argv[2] + "/pairs", "eth1", conftest.MAC1, "eth1")
conftest.declare(sys.argv[2] + "/pairs", "eth2", conftest.MAC2, "eth2")
PY

J=$(bash "$SRC/tests/molecule/nspawn.sh" start "$NAME" "$ROOT" --bind "$W/lib:/opt/nvlib" \
    --bind "$W/pairs:/opt/pairs" --bind "$W/sys:/srv/netvsc-sysfs" --bind "$W/units:/opt/units" | tail -1)
read -r PID NSPAWN_PID CGROUP < <("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["pid"], d["nspawn_pid"], d["cgroup"])' "$J")
started=1
in_ct() { nsenter -t "$PID" -a "$@"; }
[ "$(in_ct systemd-detect-virt --container)" = systemd-nspawn ] || { log "not in the container"; exit 1; }
wait_file() {  # wait_file PATH EXPECTED
    local _attempt
    for _attempt in $(seq 200); do
        [ "$(in_ct cat "$1" 2>/dev/null || echo MISSING)" = "$2" ] && return 0
        sleep 0.05
    done
    log "FAIL: $1 is '$(in_ct cat "$1" 2>/dev/null)', expected '$2'"
    in_ct journalctl -u netvsc-monitor --no-pager | tail -20 >&2
    return 1
}

in_ct cp /opt/units/netvsc-monitor.service /etc/systemd/system/
in_ct systemctl daemon-reload
in_ct systemctl start netvsc-monitor.service     # returns after READY=1
in_ct systemctl show -p ActiveState,StatusText netvsc-monitor.service
wait_file /run/netvsc/eth1.vf ""
wait_file /run/netvsc/eth2.vf "0b99:00:02.0"
"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1] + "/tests/fixtures"); import sysfs_tree
sysfs_tree.add_vf(sys.argv[2], "eth1", {"kind": "mlx5", "domain": 0x2a2a})' "$SRC" "$W/sys"
in_ct ip link add nvk0 type veth peer name nvk1
wait_file /run/netvsc/eth1.vf "2a2a:00:02.0"
log "uevent received and VF published under the hardened unit"
rm "$W/pairs/eth2.json"
in_ct systemctl reload netvsc-monitor.service
wait_file /run/netvsc/eth2.vf MISSING
log "reload (SIGHUP) removed the undeclared pairing"
before=$(in_ct systemctl show -p MainPID --value netvsc-monitor.service)
in_ct systemctl kill -s KILL netvsc-monitor.service
for _attempt in $(seq 100); do
    now=$(in_ct systemctl show -p MainPID --value netvsc-monitor.service)
    state=$(in_ct systemctl show -p ActiveState --value netvsc-monitor.service)
    [ "$now" != 0 ] && [ "$now" != "$before" ] && [ "$state" = active ] && break
    sleep 0.1
done
if [ "$state" != active ] || [ "$now" = "$before" ]; then log "FAIL: no restart after SIGKILL"; exit 1; fi
wait_file /run/netvsc/eth1.vf "2a2a:00:02.0"
log "restarted after SIGKILL (pid $before -> $now) and republished"
in_ct systemctl stop netvsc-monitor.service
result=$(in_ct systemctl show -p Result --value netvsc-monitor.service)
[ "$result" = success ] || { log "FAIL: stop result $result"; exit 1; }
in_ct ls -l /run/netvsc/ >&2
log "passed"
