#!/usr/bin/env bash
# Test runner for hyperv.netvsc: `make test` runs this.
#
#   tests/run/all.sh                 set up, then run every executable tests/run/NN-*.sh in order
#   tests/run/all.sh 20 30           run only stages 20-*.sh and 30-*.sh (also: STAGES="20 30")
#   tests/run/all.sh --setup-only    only create/refresh .venv and the Debian packages it needs
#   tests/run/all.sh --list          list the stages
#
# Setup (idempotent, fast when nothing changed):
#   * Debian packages the runner needs (rsync, python3-venv) via ensure_debs (lib.sh).
#   * $VENV (default <repo>/.venv) from $PYTHON (default python3, must be >= 3.11 because
#     ansible-core 2.19 needs it on the controller), with tests/requirements.txt installed
#     under tests/requirements-constraints.txt. Reinstalled only when those files or the
#     Python version change (stamp file $VENV/.requirements.stamp).
#   * A per-run temp dir TEST_WORKDIR holding COLLECTION_ROOT =
#     $TEST_WORKDIR/ansible_collections/hyperv/netvsc, an rsync copy of the work tree
#     (without .git, .venv, build/, tests/output/ and anything .gitignore'd), refreshed
#     before each stage. It is a copy, not a symlink: ansible-test finds the collection
#     from os.getcwd(), which resolves symlinks, so a symlinked checkout is seen at its
#     real path and rejected ("No ansible_collections parent directory was found").
#     Stages must not write into $REPO; write to COLLECTION_ROOT or TEST_WORKDIR.
#
# Each stage runs from $REPO with stdin from /dev/null, under `timeout $STAGE_TIMEOUT`
# (default 1800 s), with this environment:
#   REPO             checkout root
#   VENV             the test virtualenv (its bin/ is first on PATH)
#   COLLECTION_ROOT  the ansible_collections/hyperv/netvsc copy described above
#   TEST_WORKDIR     per-run scratch dir (removed at the end unless KEEP_WORKDIR=1)
#   STAGE_NAME       e.g. 20-units
#   CI               passed through (CI=true in CI)
# A stage passes when it exits 0. Its output is shown and kept in build/test-logs/NAME.log.
# Every selected stage runs even if an earlier one failed. The run ends with a timing table
# and the line "summary: N passed, N failed" (N counts stages), and exits 1 if any failed.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
export REPO
# shellcheck source=tests/run/lib.sh
. "$REPO/tests/run/lib.sh"

export VENV="${VENV:-$REPO/.venv}"
PYTHON="${PYTHON:-python3}"
STAGE_TIMEOUT="${STAGE_TIMEOUT:-1800}"
LOG_DIR="${TEST_LOG_DIR:-$REPO/build/test-logs}"
REQS="$REPO/tests/requirements.txt"
CONSTRAINTS="$REPO/tests/requirements-constraints.txt"

usage() {
    sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------- arguments
setup_only=0
list_only=0
selectors=()
for arg in "$@"; do
    case "$arg" in
        -h | --help) usage; exit 0 ;;
        --setup-only) setup_only=1 ;;
        --list) list_only=1 ;;
        -*) usage >&2; exit 2 ;;
        *) selectors+=("$arg") ;;
    esac
done
if [ "${#selectors[@]}" -eq 0 ] && [ -n "${STAGES:-}" ]; then
    read -r -a selectors <<<"$STAGES"
fi

all_stages=()
for f in "$REPO"/tests/run/[0-9][0-9]-*.sh; do
    [ -e "$f" ] || continue
    if [ -x "$f" ]; then
        all_stages+=("$f")
    else
        log "note: $(basename "$f") is not executable, not a stage"
    fi
done

stages=()
if [ "${#selectors[@]}" -eq 0 ]; then
    stages=("${all_stages[@]}")
else
    for sel in "${selectors[@]}"; do
        matched=0
        for f in "${all_stages[@]}"; do
            name="$(basename "$f" .sh)"
            if [ "$sel" = "${name%%-*}" ] || [ "$sel" = "$name" ] || [ "$sel" = "$name.sh" ]; then
                stages+=("$f")
                matched=1
            fi
        done
        if [ "$matched" -eq 0 ]; then
            log "ERROR: no executable stage tests/run/$sel-*.sh"
            echo "summary: 0 passed, 1 failed"
            exit 2
        fi
    done
fi

if [ "${#stages[@]}" -eq 0 ]; then
    log "ERROR: no executable stages tests/run/NN-*.sh"
    echo "summary: 0 passed, 1 failed"
    exit 2
fi

if [ "$list_only" -eq 1 ]; then
    for f in "${stages[@]}"; do basename "$f" .sh; done
    exit 0
fi

# ---------------------------------------------------------------- setup
setup_python_and_venv() {
    ensure_commands rsync timeout:coreutils

    command -v "$PYTHON" >/dev/null 2>&1 || ensure_debs python3
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$PYTHON is $("$PYTHON" -V 2>&1); ansible-core 2.19 needs Python >= 3.11 (set PYTHON=...)"
    # Debian splits ensurepip out of python3 into python3-venv (python3.11-venv).
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        ensure_debs python3-venv
    fi

    local pyver stamp
    pyver="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
    if [ -x "$VENV/bin/python" ] \
        && [ "$("$VENV/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" != "$pyver" ]; then
        log "$VENV was made with another Python; recreating it"
        rm -rf "$VENV"
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV with $PYTHON ($pyver)"
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV" || die "python -m venv failed"
    fi

    stamp="$(cat "$REQS" "$CONSTRAINTS" | sha256sum | cut -d' ' -f1) $pyver"
    if [ "$(cat "$VENV/.requirements.stamp" 2>/dev/null)" != "$stamp" ]; then
        log "installing tests/requirements.txt into $VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
            -r "$REQS" -c "$CONSTRAINTS" || die "pip install failed"
        printf '%s\n' "$stamp" >"$VENV/.requirements.stamp"
    fi
}

sync_collection() {
    mkdir -p "$COLLECTION_ROOT"
    rsync -a --delete \
        --exclude=/.git --exclude=/.venv --exclude=/build --exclude=/tests/output \
        --filter=':- .gitignore' \
        "$REPO/" "$COLLECTION_ROOT/"
}

TEST_WORKDIR=""
cleanup() {
    if [ -n "$TEST_WORKDIR" ] && [ -d "$TEST_WORKDIR" ]; then
        if [ "${KEEP_WORKDIR:-0}" = 1 ]; then
            log "kept $TEST_WORKDIR"
        else
            rm -rf "$TEST_WORKDIR"
        fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_start=$SECONDS
setup_start=$SECONDS
TEST_WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/hyperv-netvsc-test.XXXXXX")"
export TEST_WORKDIR TEST_RUN_ID="$$"
export COLLECTION_ROOT="$TEST_WORKDIR/ansible_collections/hyperv/netvsc"

setup_rc=0
(setup_python_and_venv) </dev/null || setup_rc=$?
setup_time=$((SECONDS - setup_start))

if [ "$setup_only" -eq 1 ]; then
    [ "$setup_rc" -eq 0 ] && log "setup done in ${setup_time}s: $VENV"
    exit "$setup_rc"
fi

export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
unset PYTHONHOME
mkdir -p "$LOG_DIR"

# ---------------------------------------------------------------- stages
rows=()
passed=0
failed=0
for f in "${stages[@]}"; do
    name="$(basename "$f" .sh)"
    if [ "$setup_rc" -ne 0 ]; then
        rows+=("$(printf '%-24s %-8s %6s' "$name" "NOT RUN" "-")")
        failed=$((failed + 1))
        continue
    fi
    printf '\n==================== %s ====================\n' "$name"
    start=$SECONDS
    if sync_collection; then
        (cd "$REPO" && STAGE_NAME="$name" timeout -k 30 "$STAGE_TIMEOUT" "$f") </dev/null 2>&1 \
            | tee "$LOG_DIR/$name.log"
        rc=${PIPESTATUS[0]}
    else
        log "ERROR: could not copy the work tree to $COLLECTION_ROOT"
        rc=1
    fi
    secs=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        rows+=("$(printf '%-24s %-8s %5ss' "$name" PASS "$secs")")
    else
        failed=$((failed + 1))
        note="exit $rc"
        [ "$rc" -eq 124 ] && note="timed out after ${STAGE_TIMEOUT}s"
        rows+=("$(printf '%-24s %-8s %5ss  (%s, log: %s)' "$name" FAIL "$secs" "$note" "${LOG_DIR#"$REPO"/}/$name.log")")
    fi
done

printf '\n%-24s %-8s %6s\n' "stage" "result" "time"
printf '%-24s %-8s %5ss%s\n' "setup" "$([ "$setup_rc" -eq 0 ] && echo ok || echo FAILED)" "$setup_time" \
    "$([ "$setup_rc" -ne 0 ] && echo "  (stages not run)")"
for row in "${rows[@]}"; do
    printf '%s\n' "$row"
done
printf '%-24s %-8s %5ss\n' "total" "" "$((SECONDS - run_start))"
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$setup_rc" -eq 0 ]
