#!/usr/bin/env bash
# Stage 60: fleet-level tests (tests/integration/fleet): `make demo`'s script on a fresh
# simulated fleet, the report in real headless Chromium, constructed groups from the fact
# cache (ansible-inventory --graph), ansible-runner, ansible-builder create, and the built
# artifact (ansible-galaxy collection build) through galaxy-importer. ~2-5 minutes.
#
#   tests/run/60-fleet.sh [pytest args...]      e.g. -k galaxy_importer for that test alone
#
# Installs chromium (Debian) with ensure_debs. ansible-runner and ansible-builder come with
# $VENV (tests/requirements.txt). galaxy-importer pins its own ansible-core/ansible-lint, so
# it gets a venv of its own, $VENV/galaxy-importer (tests/requirements-galaxy-importer.txt,
# reinstalled when that file or the Python changes); the test finds it through
# $GALAXY_IMPORTER_VENV.
# Writes nothing into $REPO: tests run from $COLLECTION_ROOT into pytest tmp dirs. The report
# screenshot is kept in $TEST_WORKDIR/fleet-artifacts (KEEP_WORKDIR=1 keeps it).
set -uo pipefail
: "${REPO:?run this through tests/run/all.sh}" "${VENV:?}" "${COLLECTION_ROOT:?}"
# shellcheck source=tests/run/lib.sh
. "$REPO/tests/run/lib.sh"

ensure_debs chromium

# galaxy-importer's venv, cached like $VENV: recreated for another Python, reinstalled when
# the requirements change (stamp file).
GI_VENV="$VENV/galaxy-importer"
GI_REQS="$REPO/tests/requirements-galaxy-importer.txt"
gi_python="$VENV/bin/python"  # a venv of the same (base) Python as $VENV
gi_pyver="$("$gi_python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
gi_stamp="$(sha256sum "$GI_REQS" | cut -d' ' -f1) $gi_pyver"
if [ -x "$GI_VENV/bin/python" ] \
    && [ "$("$GI_VENV/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" != "$gi_pyver" ]; then
    rm -rf "$GI_VENV"
fi
if [ "$(cat "$GI_VENV/.requirements.stamp" 2>/dev/null)" != "$gi_stamp" ]; then
    log "installing tests/requirements-galaxy-importer.txt into $GI_VENV"
    [ -x "$GI_VENV/bin/python" ] || "$gi_python" -m venv "$GI_VENV" || die "python -m venv $GI_VENV failed"
    "$GI_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$GI_REQS" \
        || die "pip install galaxy-importer failed"
    printf '%s\n' "$gi_stamp" >"$GI_VENV/.requirements.stamp"
fi
export GALAXY_IMPORTER_VENV="$GI_VENV"

export FLEET_ARTIFACTS="${TEST_WORKDIR:-/tmp}/fleet-artifacts"
cd "$COLLECTION_ROOT" || exit 1
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider -rA --durations=10 \
    --basetemp="${TEST_WORKDIR:-/tmp}/fleet-pytest" tests/integration/fleet "$@"
