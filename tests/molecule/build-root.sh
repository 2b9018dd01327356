#!/usr/bin/env bash
# Build (or reuse) the cached Debian 12 root that the Molecule scenarios boot with
# systemd-nspawn --volatile=overlay.
#
#   tests/molecule/build-root.sh            -> prints the root's path on stdout
#
# Environment:
#   NETVSC_NSPAWN_CACHE   cache dir (default /var/cache/hyperv-netvsc/nspawn-bookworm)
#   NETVSC_DEBIAN_MIRROR  Debian archive URL (default: the one apt on this machine uses)
#
# The root is keyed by a hash of everything that shapes it (suite, variant, package list,
# RECIPE below). It is rebuilt only when that key changes, into a temp dir that is renamed
# into place atomically, under a lock so that parallel runs do not build twice.
# Everything the role needs at run time must be in here: the containers have no network.
set -euo pipefail

SUITE=bookworm
VARIANT=minbase
# systemd-analyze ships in "systemd"; /etc/udev/rules.d comes with "udev".
PACKAGES=systemd,systemd-sysv,python3,dbus,iproute2,udev,kmod
# Bump when the preparation steps below change, so that cached roots are rebuilt.
RECIPE=2

CACHE=${NETVSC_NSPAWN_CACHE:-/var/cache/hyperv-netvsc/nspawn-bookworm}
log() { printf '[build-root] %s\n' "$*" >&2; }

need_pkgs=()
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v systemd-nspawn >/dev/null 2>&1 || need_pkgs+=(systemd-container)
if ((${#need_pkgs[@]})); then
    log "installing ${need_pkgs[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

# The Debian archive apt is configured with (deb822 *.sources or one-line *.list).
debian_mirror() {
    python3 - "$SUITE" <<'PY'
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
sys.exit("no apt source for Debian suite %r main found in /etc/apt" % suite)
PY
}

KEY=$(printf '%s\n' "$SUITE" "$VARIANT" "$PACKAGES" "$RECIPE" | sha256sum | cut -c1-16)
ROOT=$CACHE/root-$KEY

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [[ -f $ROOT/.netvsc-root-ready ]]; then
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
# Mount point of the per-instance fixture dir (bind mount from the host); the simulated
# Hyper-V sysfs tree is its "sys" subdir, so the builder may recreate that freely.
mkdir -p "$TMP/srv/netvsc-fixture"
for bin in python3 systemctl systemd-analyze systemd-detect-virt ip udevadm; do
    chroot "$TMP" sh -c "command -v $bin" >/dev/null || { log "missing $bin in root"; exit 1; }
done
[[ -d $TMP/etc/udev/rules.d ]] || { log "missing /etc/udev/rules.d in root"; exit 1; }
printf 'suite=%s\nvariant=%s\npackages=%s\nrecipe=%s\nmirror=%s\n' \
    "$SUITE" "$VARIANT" "$PACKAGES" "$RECIPE" "$MIRROR" >"$TMP/.netvsc-root-ready"

mv -T "$TMP" "$ROOT"
TMP=
# Older roots (other keys) are no longer referenced by anything.
for old in "$CACHE"/root-*; do
    [[ $old == "$ROOT" ]] || rm -rf --one-file-system "$old"
done
rm -f "$CACHE"/.debootstrap-*.log
log "built $ROOT in $((SECONDS - start)) s"
echo "$ROOT"
