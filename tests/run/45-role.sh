#!/usr/bin/env bash
# Stage 45: roles/failsafe and the playbooks.
#   * ansible-lint --profile production on roles/ and playbooks/ (config: .ansible-lint).
#   * tests/integration/role/ (pytest): ansible-playbook with the local connection against
#     simulated hosts (sysfs fixture trees, sandbox roots, netvsc_manage_services: false),
#     ANSIBLE_INJECT_FACT_VARS=false. Prints the first/second-run wall time per host.
# The argument_specs/defaults unit test runs in stage 20 (tests/unit/roles/).
set -uo pipefail
: "${REPO:?run this through tests/run/all.sh}" "${VENV:?}" "${COLLECTION_ROOT:?}" "${TEST_WORKDIR:?}"
# shellcheck source=tests/run/lib.sh
. "$REPO/tests/run/lib.sh"
export PATH="$VENV/bin:$PATH"
export ROLE_TIMINGS="$TEST_WORKDIR/role-timings.json"

cd "$COLLECTION_ROOT" || exit 1
run_check "ansible-lint --profile production roles/ playbooks/" \
    ansible-lint --profile production --nocolor roles/ playbooks/
run_check "role integration tests" \
    python -m pytest -p no:cacheprovider -q -rfE --basetemp "$TEST_WORKDIR/role-pytest" \
    tests/integration/role
if [ -f "$ROLE_TIMINGS" ]; then
    log "role wall time per host (seconds): $(tr -d '\n' < "$ROLE_TIMINGS")"
fi
checks_summary
