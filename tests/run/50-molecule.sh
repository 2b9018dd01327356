#!/usr/bin/env bash
# Stage 50: Molecule scenarios (extensions/molecule/) on real systemd, in systemd-nspawn
# containers booted from a cached Debian 12 root.
#
#   tests/run/50-molecule.sh                 # molecule test --all (scenarios check, default;
#                                            # extensions/molecule/README.md)
#   tests/run/50-molecule.sh -s default      # other molecule test arguments instead of --all
#   NETVSC_MOLECULE_CMD=converge tests/run/50-molecule.sh -s default   # another subcommand
#
# Needs root (nspawn, cgroups, nsenter). Python env: $VENV (made by tests/run/all.sh), else
# the repo's .venv, created here when missing; tests/requirements-molecule.txt is installed
# into it. Collections: community.docker (nsenter connection) and its dependency are taken
# from the PyPI "ansible" wheel (Galaxy is unreachable) into
# $NETVSC_TEST_COLLECTIONS (default /var/cache/hyperv-netvsc/collections/ansible-<version>).
# The root: tests/molecule/build-root.sh ($NETVSC_NSPAWN_CACHE).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
log() { printf '[50-molecule] %s\n' "$*" >&2; }
start=$(date +%s.%N)
elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(date +%s.%N)"; }

if [ "$(id -u)" != 0 ]; then
    log "needs root (systemd-nspawn, cgroups, nsenter)"; exit 1
fi

REQ=$REPO/tests/requirements-molecule.txt
VENV=${VENV:-$REPO/.venv}
if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
fi
stamp=$VENV/.netvsc-requirements-molecule.sha256
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! "$VENV/bin/python" -c 'import molecule' 2>/dev/null; then
    log "installing $(grep -E '^[a-z]' "$REQ" | tr '\n' ' ')into $VENV"
    constraints=()
    [ -f "$REPO/tests/requirements-constraints.txt" ] && constraints=(-c "$REPO/tests/requirements-constraints.txt")
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" "${constraints[@]}"
    echo "$want" >"$stamp"
fi
export PATH=$VENV/bin:$PATH

# community.docker + community.library_inventory_filtering_v1 out of the ansible wheel.
ANSIBLE_PKG=$(sed -n 's/^# netvsc-collections-from: *//p' "$REQ")
[ -n "$ANSIBLE_PKG" ] || { log "no '# netvsc-collections-from:' line in $REQ"; exit 1; }
COLL=${NETVSC_TEST_COLLECTIONS:-/var/cache/hyperv-netvsc/collections/${ANSIBLE_PKG/==/-}}
if [ ! -f "$COLL/ansible_collections/community/docker/MANIFEST.json" ]; then
    log "extracting community.docker from the $ANSIBLE_PKG wheel into $COLL"
    dl=$(mktemp -d /tmp/netvsc-ansible-wheel.XXXXXX)
    trap 'rm -rf "$dl"' EXIT
    "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps -d "$dl" "$ANSIBLE_PKG"
    mkdir -p "$(dirname "$COLL")"
    rm -rf "$COLL.tmp"
    "$VENV/bin/python" - "$dl" "$COLL.tmp" <<'PY'
import glob, sys, zipfile
wheel, = glob.glob(sys.argv[1] + "/ansible-*.whl")
keep = ("ansible_collections/community/docker/",
        "ansible_collections/community/library_inventory_filtering_v1/")
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.startswith(keep)]
    if not any(m.endswith("docker/plugins/connection/nsenter.py") for m in members):
        sys.exit("no community.docker nsenter connection in " + wheel)
    z.extractall(sys.argv[2], members)
PY
    rm -rf "$COLL"
    mv -T "$COLL.tmp" "$COLL"
    rm -rf "$dl"
    trap - EXIT
fi

# The collection under test as ansible_collections/hyperv/netvsc, so converge can use
# hyperv.netvsc.*: under tests/run/all.sh the synced copy $COLLECTION_ROOT (Molecule then runs
# from there and writes nothing into $REPO), standalone a symlink to this checkout.
if [ -n "${COLLECTION_ROOT:-}" ] && [ -f "$COLLECTION_ROOT/galaxy.yml" ]; then
    PROJECT=$COLLECTION_ROOT
    coll_parent=$(cd "$COLLECTION_ROOT/../../.." && pwd)
else
    PROJECT=$REPO
    coll_parent=$(mktemp -d /tmp/netvsc-molecule-tree.XXXXXX)
    trap 'rm -rf "$coll_parent"' EXIT
    mkdir -p "$coll_parent/ansible_collections/hyperv"
    ln -s "$REPO" "$coll_parent/ansible_collections/hyperv/netvsc"
fi
export ANSIBLE_COLLECTIONS_PATH=$coll_parent:$COLL
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1} PY_COLORS=${PY_COLORS:-0}

t=$(date +%s.%N)
root=$("$PROJECT/tests/molecule/build-root.sh")
log "nspawn root $root ready in $(elapsed "$t") s"

cmd=${NETVSC_MOLECULE_CMD:-test}
if [ $# -eq 0 ]; then
    set -- --all
fi
versions=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(", ".join(p + " " + m.version(p) for p in ("molecule", "ansible-core")))')
log "molecule $cmd $* in $PROJECT ($versions; collections from $ANSIBLE_PKG)"
cd "$PROJECT"
unset MOLECULE_PROJECT_DIRECTORY MOLECULE_EPHEMERAL_DIRECTORY
t=$(date +%s.%N)
rc=0
molecule "$cmd" "$@" || rc=$?
log "molecule $cmd took $(elapsed "$t") s; stage took $(elapsed "$start") s; rc=$rc"
exit $rc
