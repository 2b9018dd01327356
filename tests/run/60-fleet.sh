#!/usr/bin/env bash
# Stage 60: fleet-level tests (tests/integration/fleet): `make demo`'s script on a fresh
# simulated fleet, the report in real headless Chromium, constructed groups from the fact
# cache (ansible-inventory --graph), ansible-runner, ansible-builder create. ~2-5 minutes.
#
#   tests/run/60-fleet.sh [pytest args...]
#
# Installs chromium (Debian) with ensure_debs. ansible-runner and ansible-builder come with
# $VENV (tests/requirements.txt).
# Writes nothing into $REPO: tests run from $COLLECTION_ROOT into pytest tmp dirs. The report
# screenshot is kept in $TEST_WORKDIR/fleet-artifacts (KEEP_WORKDIR=1 keeps it).
set -uo pipefail
: "${REPO:?run this through tests/run/all.sh}" "${VENV:?}" "${COLLECTION_ROOT:?}"
# shellcheck source=tests/run/lib.sh
. "$REPO/tests/run/lib.sh"

ensure_debs chromium

export FLEET_ARTIFACTS="${TEST_WORKDIR:-/tmp}/fleet-artifacts"
cd "$COLLECTION_ROOT" || exit 1
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider -rA --durations=10 \
    --basetemp="${TEST_WORKDIR:-/tmp}/fleet-pytest" tests/integration/fleet "$@"
