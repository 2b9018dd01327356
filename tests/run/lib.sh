# shellcheck shell=bash
# Shared helpers for tests/run/all.sh and the stages tests/run/NN-*.sh.
#
# Source it from a stage:   . "$REPO/tests/run/lib.sh"
#
# Stages get these from all.sh (see the header of all.sh):
#   REPO, VENV, COLLECTION_ROOT, TEST_WORKDIR, PATH (venv first).
#
# Helpers:
#   log MSG...                  timestamped line on stderr
#   die MSG...                  log and exit 1
#   ensure_debs PKG...          apt-get install the Debian packages not installed yet
#   ensure_commands CMD[:PKG]...  install PKG (default: CMD) for each CMD missing from PATH
#   find_target_pythons         print "X.Y PATH" for each usable python3.8..3.13 (pyenv too)
#   ansible_test_env            isolate ansible-test's caches under $VENV and make its
#                               pip bootstrap work without ci-files.testing.ansible.com
#   run_check NAME CMD...       run one check inside a stage, remember pass/fail
#   checks_summary              print the stage's checks and return 1 if any failed

# ---------------------------------------------------------------- logging
log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
    log "ERROR: $*"
    exit 1
}

# ---------------------------------------------------------------- Debian packages
# apt-get update runs at most once per test run: the marker lives in TEST_WORKDIR
# (one per all.sh run) or, outside all.sh, in a per-shell temp file.
_apt() {
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
    else
        die "need root (or passwordless sudo) to run: $*"
    fi
}

_apt_update_once() {
    local marker="${TEST_WORKDIR:-${TMPDIR:-/tmp}}/.apt-updated.${TEST_RUN_ID:-$$}"
    [ -e "$marker" ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install the packages by hand: $*"
    log "apt-get update"
    _apt apt-get -o DPkg::Lock::Timeout=300 update -qq || die "apt-get update failed"
    : >"$marker"
}

# deb_installed PKG: true when dpkg says PKG is installed.
deb_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

# ensure_debs PKG...: install the given Debian packages that are not installed yet.
# Installs without recommends; idempotent and quiet when everything is there.
ensure_debs() {
    local missing=() pkg
    for pkg in "$@"; do
        deb_installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    _apt_update_once "${missing[@]}"
    log "apt-get install ${missing[*]}"
    _apt apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed"
}

# ensure_commands CMD[:PKG]...: for each CMD not on PATH, install PKG (default CMD).
# Use this when a tool may come from elsewhere than Debian (pyenv, pip, /usr/local).
ensure_commands() {
    local spec cmd pkg pkgs=()
    for spec in "$@"; do
        cmd="${spec%%:*}"
        pkg="${spec#*:}"
        command -v "$cmd" >/dev/null 2>&1 || pkgs+=("$pkg")
    done
    [ "${#pkgs[@]}" -eq 0 ] && return 0
    ensure_debs "${pkgs[@]}"
}

# ---------------------------------------------------------------- Pythons
# find_target_pythons: one line "X.Y /path/to/pythonX.Y" per Python in 3.8..3.13 that
# actually runs (a pyenv shim for an inactive version exists but fails, so each
# candidate is executed). Prefers pyenv's real binaries (no shim), then PATH.
find_target_pythons() {
    local v p cand pyenv_root="${PYENV_ROOT:-${REAL_HOME:-$HOME}/.pyenv}"
    for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
        p=""
        for cand in $(printf '%s\n' "$pyenv_root"/versions/"$v".*/bin/"python$v" | sort -V -r) \
            $(command -v "python$v" 2>/dev/null); do
            if "$cand" -c 'import sys, venv' >/dev/null 2>&1; then
                p="$cand"
                break
            fi
        done
        [ -n "$p" ] && printf '%s %s\n' "$v" "$p"
    done
}

# link_target_pythons DIR: symlink every found pythonX.Y into DIR (for PATH).
link_target_pythons() {
    local dir="$1" v p
    rm -rf "$dir"
    mkdir -p "$dir"
    while read -r v p; do
        ln -s "$p" "$dir/python$v"
    done < <(find_target_pythons)
}

# ---------------------------------------------------------------- ansible-test
# ansible-test keeps per-test virtualenvs in ~/.ansible/test/venv and bootstraps pip into
# them with a script downloaded from ci-files.testing.ansible.com, which is not reachable
# here. So: point HOME at $VENV/ansible-test-home (everything stays inside the repo's
# gitignored .venv; `rm -rf .venv` resets it), keep pip's download cache where it was, and
# pre-seed the bootstrap cache with a small stand-in that installs the same pinned pip
# wheel from PyPI.
ansible_test_env() {
    export REAL_HOME="${REAL_HOME:-$HOME}"
    export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$REAL_HOME/.cache/pip}"
    export HOME="$VENV/ansible-test-home"
    local cache="$HOME/.ansible/test/cache" pipv
    mkdir -p "$cache"
    pipv="$("$VENV/bin/python" - <<'EOF'
from ansible_test._internal.python_requirements import get_venv_packages
class P:  # stands in for ansible-test's PythonConfig; only .version is read
    version = "3.11"
print(get_venv_packages(P())["pip"])
EOF
)" || die "cannot read ansible-test's pip version"
    local script="$cache/get_pip_${pipv//./_}.py" wheel="$cache/pip-$pipv-py3-none-any.whl"
    if [ ! -s "$wheel" ]; then
        log "downloading pip $pipv wheel for ansible-test's venv bootstrap"
        "$VENV/bin/python" -m pip download -q --no-deps --only-binary=:all: -d "$cache" "pip==$pipv" \
            || die "pip download pip==$pipv failed"
    fi
    cat >"$script" <<EOF
"""Offline stand-in for ansible-test's get-pip bootstrap (written by tests/run/lib.sh).

ansible-test runs it as: python get_pip.py [pip options] pip==$pipv --no-setuptools --no-wheel
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pip-$pipv-py3-none-any.whl"))
from pip._internal.cli.main import main  # noqa: E402

ARGS = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel", "--no-pip")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--no-index", "--find-links", HERE] + ARGS))
EOF
}

# ---------------------------------------------------------------- checks within a stage
_CHECKS=()

# run_check NAME CMD...: run CMD, record NAME as passed/failed, never abort the stage.
run_check() {
    local name="$1" rc start
    shift
    start=$SECONDS
    log "check $name: $*"
    if "$@"; then rc=0; else rc=$?; fi
    if [ "$rc" -eq 0 ]; then
        _CHECKS+=("$(printf '%-40s %-6s %4ss' "$name" ok $((SECONDS - start)))")
    else
        _CHECKS+=("$(printf '%-40s %-6s %4ss (exit %s)' "$name" FAILED $((SECONDS - start)) "$rc")")
    fi
    return 0
}

# checks_summary: print recorded checks; return 1 if any failed.
checks_summary() {
    local line failed=0
    printf '\n%s checks:\n' "${STAGE_NAME:-stage}"
    for line in "${_CHECKS[@]}"; do
        printf '  %s\n' "$line"
        case "$line" in *" FAILED "*) failed=1 ;; esac
    done
    return "$failed"
}
