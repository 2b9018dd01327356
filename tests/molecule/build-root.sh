#!/usr/bin/env bash
# Build (or reuse) the cached Debian root that the Molecule scenarios, the consumer tests
# and the DPDK 24.11 checks boot with systemd-nspawn --volatile=overlay (or chroot into).
#
#   tests/molecule/build-root.sh [SUITE]    -> prints the root's path on stdout
#
# SUITE: bullseye (11), bookworm (12, the default) or trixie (13).
# Each root has what the role needs at run time plus the consumers of what it writes
# (systemd-networkd, NetworkManager, prometheus-node-exporter; installed but not enabled,
# tests start them), and trixie's also has DPDK 24.11 (testpmd and the PMDs we render for).
#
# Environment:
#   NETVSC_NSPAWN_CACHE   cache base (default /var/cache/hyperv-netvsc); the root lives in
#                         its nspawn-SUITE/ directory
#   NETVSC_DEBIAN_MIRROR  Debian archive URL (default: the one apt on this machine uses for
#                         its own release, which serves the other suites too)
#
# The root is keyed by a hash of everything that shapes it (suite, variant, package list,
# RECIPE below). It is rebuilt only when that key changes, into a temp dir that is renamed
# into place atomically, under a lock so that parallel runs do not build twice.
# Everything the role needs at run time must be in here: the containers have no network.
set -euo pipefail

SUITE=${1:-bookworm}
VARIANT=minbase
# debootstrap --include: systemd-analyze ships in "systemd"; /etc/udev/rules.d comes with "udev".
PACKAGES=systemd,systemd-sysv,python3,dbus,iproute2,udev,kmod
# Then apt-get install (--no-install-recommends) in the new root, which resolves
# dependencies properly and has /proc for maintainer scripts (debootstrap's --include does
# neither well: bullseye's policykit-1 fails to configure there). First the consumers of the
# files netvsc_pair and the monitor write, and Prometheus' own parser for what node_exporter
# serves.
EXTRA=(network-manager prometheus-node-exporter python3-prometheus-client)
case $SUITE in
    bullseye | bookworm) ;;
    # DPDK 24.11 (the host has Debian 12's 22.11): testpmd, the fail-safe, vdev_netvsc,
    # netvsc, MANA, TAP and af_packet PMDs (as the host gets them from dpdk-dev).
    trixie) EXTRA+=(dpdk-dev librte-net-failsafe25 librte-net-mana25) ;;
    *) echo "build-root.sh: unknown suite '$SUITE' (bullseye, bookworm, trixie)" >&2; exit 2 ;;
esac
# Bump when the preparation steps below change, so that cached roots are rebuilt.
RECIPE=3

CACHE=${NETVSC_NSPAWN_CACHE:-/var/cache/hyperv-netvsc}/nspawn-$SUITE
log() { printf '[build-root] %s\n' "$*" >&2; }

need_pkgs=()
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v systemd-nspawn >/dev/null 2>&1 || need_pkgs+=(systemd-container)
if ((${#need_pkgs[@]})); then
    log "installing ${need_pkgs[*]}"
    apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
        --no-install-recommends "${need_pkgs[@]}" >&2
fi

# The Debian archive apt is configured with (deb822 *.sources or one-line *.list).
debian_mirror() {
    python3 - "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" <<'PY'
import glob, re, sys
suite = sys.argv[1]
files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) \
    + sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
for path in files:
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        continue
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.split()
            if fields.get("enabled", ["yes"])[0].lower() == "no":
                continue
            if "deb" in fields.get("types", []) and suite in fields.get("suites", []) \
                    and "main" in fields.get("components", []):
                print(fields["uris"][0]); sys.exit(0)
    else:
        for line in text.splitlines():
            line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(line) >= 4 and line[0] == "deb" and line[2] == suite and "main" in line[3:]:
                print(line[1]); sys.exit(0)
sys.exit("no apt source for this machine's Debian suite %r (main) in /etc/apt:"
         " set NETVSC_DEBIAN_MIRROR" % suite)
PY
}

KEY=$(printf '%s\n' "$SUITE" "$VARIANT" "$PACKAGES" "${EXTRA[*]}" "$RECIPE" | sha256sum | cut -c1-16)
ROOT=$CACHE/root-$KEY

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [[ -f $ROOT/.netvsc-root-ready ]]; then
    touch "$ROOT/.netvsc-root-ready"   # in use: see the clean-up at the end
    log "cached root $ROOT"
    echo "$ROOT"
    exit 0
fi

MIRROR=${NETVSC_DEBIAN_MIRROR:-$(debian_mirror)}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
keyring_arg=()
[[ -f $KEYRING ]] && keyring_arg=(--keyring="$KEYRING")

TMP=$(mktemp -d "$CACHE/.build-$KEY.XXXXXX")
chmod 0755 "$TMP"   # mktemp makes it 0700; this becomes the container's /
cleanup() { [[ -n ${TMP:-} && -d $TMP ]] && rm -rf --one-file-system "$TMP"; }
trap cleanup EXIT

log "debootstrap $SUITE ($VARIANT, $PACKAGES) from $MIRROR"
start=$SECONDS
debootstrap --variant="$VARIANT" --include="$PACKAGES" "${keyring_arg[@]}" \
    "$SUITE" "$TMP" "$MIRROR" >"$CACHE/.debootstrap-$KEY.log" 2>&1 || {
    tail -n 30 "$CACHE/.debootstrap-$KEY.log" >&2
    exit 1
}
log "debootstrap took $((SECONDS - start)) s"

# apt-get in the root, in a private mount namespace (the mounts vanish with it) with the
# host's DNS; no service is started (policy-rc.d), nothing of the host's apt is used.
log "apt-get install ${EXTRA[*]}"
printf '#!/bin/sh\nexit 101\n' >"$TMP/usr/sbin/policy-rc.d"
chmod 0755 "$TMP/usr/sbin/policy-rc.d"
touch "$TMP/etc/resolv.conf"
# shellcheck disable=SC2016  # $1 and $@ expand in the inner sh, not here
unshare --mount --propagation private -- sh -euc '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" apt-get -q update
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
' sh "$TMP" "${EXTRA[@]}" >>"$CACHE/.debootstrap-$KEY.log" 2>&1 || {
    tail -n 30 "$CACHE/.debootstrap-$KEY.log" >&2
    exit 1
}
rm -f "$TMP/usr/sbin/policy-rc.d"
: >"$TMP/etc/resolv.conf"
log "root built in $((SECONDS - start)) s"

# Shared read-only base for --volatile=overlay: each container gets its hostname from
# --machine and a fresh machine-id at boot.
rm -f "$TMP/etc/hostname"
: >"$TMP/etc/machine-id"
rm -f "$TMP/var/lib/dbus/machine-id"
# Nothing in an offline container needs the package lists; keep the root small.
rm -rf "$TMP"/var/lib/apt/lists/* "$TMP"/var/cache/apt/*.bin "$TMP"/var/cache/apt/archives/*.deb
# Units that only slow the boot down or fail without hardware/network in a container.
for unit in systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
            e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
    ln -sfn /dev/null "$TMP/etc/systemd/system/$unit"
done
# The consumers start only when a test starts them (and not in the role's containers).
for unit in NetworkManager.service NetworkManager-wait-online.service \
            NetworkManager-dispatcher.service prometheus-node-exporter.service; do
    if [[ -e $TMP/lib/systemd/system/$unit || -e $TMP/usr/lib/systemd/system/$unit ]]; then
        chroot "$TMP" systemctl disable -q "$unit"
    fi
done
# Mount point of the per-instance fixture dir (bind mount from the host); the simulated
# Hyper-V sysfs tree is its "sys" subdir, so the builder may recreate that freely.
mkdir -p "$TMP/srv/netvsc-fixture"
bins="python3 systemctl systemd-analyze systemd-detect-virt ip udevadm networkctl nmcli"
bins+=" prometheus-node-exporter"
[[ $SUITE != trixie ]] || bins+=" dpdk-testpmd"
for bin in $bins; do
    chroot "$TMP" sh -c "command -v $bin" >/dev/null || { log "missing $bin in root"; exit 1; }
done
[[ -d $TMP/etc/udev/rules.d ]] || { log "missing /etc/udev/rules.d in root"; exit 1; }
printf 'suite=%s\nvariant=%s\npackages=%s\nextra=%s\nrecipe=%s\nmirror=%s\n' \
    "$SUITE" "$VARIANT" "$PACKAGES" "${EXTRA[*]}" "$RECIPE" "$MIRROR" >"$TMP/.netvsc-root-ready"

mv -T "$TMP" "$ROOT"
TMP=
# Roots of other keys: another checkout (an older branch) may still boot them, so only those
# nobody asked for in a week go.
for old in "$CACHE"/root-*; do
    if [[ $old != "$ROOT" && -z $(find "$old/.netvsc-root-ready" -mtime -7 2>/dev/null) ]]; then
        rm -rf --one-file-system "$old"
    fi
done
rm -f "$CACHE"/.debootstrap-*.log
log "built $ROOT in $((SECONDS - start)) s"
echo "$ROOT"
