#!/usr/bin/env bash
# Stage 10: static checks of the collection, run in $COLLECTION_ROOT (see all.sh).
#
#   * ansible-test sanity: every sanity test that applies (--list-tests shows them;
#     pslint has no PowerShell to check), with an EMPTY tests/sanity/ignore-2.19.txt.
#     Target-side tests (compile, import) run on every Python 3.8..3.13 found on PATH or
#     in pyenv (tests/config.yml: modules.python_requires >=3.8); a fresh Debian 12 has
#     only 3.11, which is then the only one. Controller-side tests run on the venv's 3.11.
#     ansible-test builds one venv per test with its own pinned requirements (ansible-test
#     2.19.x's _data/requirements/sanity.*.txt) under .venv/ansible-test-home (lib.sh:
#     ansible_test_env explains the offline pip bootstrap). shellcheck comes from Debian.
#   * antsibull-changelog lint (changelogs/config.yaml and fragments).
#   * antsibull-docs lint-collection-docs --plugin-docs: plugin, module and role docs
#     schemas and markup, M()/O()/RV() references (stricter than validate-modules).
#
# SANITY_ARGS adds arguments to ansible-test sanity (e.g. SANITY_ARGS="--test pylint").
set -uo pipefail
: "${REPO:?run this through tests/run/all.sh}" "${VENV:?}" "${COLLECTION_ROOT:?}"
# shellcheck source=tests/run/lib.sh
. "$REPO/tests/run/lib.sh"

ensure_commands shellcheck
ansible_test_env
link_target_pythons "$VENV/target-pythons"
export PATH="$VENV/bin:$VENV/target-pythons:$PATH"
log "target Pythons: $(find_target_pythons | cut -d' ' -f1 | tr '\n' ' ')"

cd "$COLLECTION_ROOT" || exit 1

# shellcheck disable=SC2086  # SANITY_ARGS is a list of words on purpose
run_check "ansible-test sanity" ansible-test sanity --color no ${SANITY_ARGS:-}
run_check "antsibull-changelog lint" antsibull-changelog lint
run_check "antsibull-docs lint-collection-docs" \
    antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck \
    --validate-collection-refs=all --disallow-unknown-collection-refs .

reference_is_current() {
    local fresh="$TEST_WORKDIR/reference"
    ANSIBLE_COLLECTIONS_PATH="$TEST_WORKDIR" bash docs/reference.sh "$fresh" &&
        diff -r docs/reference "$fresh" && return 0
    log "docs/reference/ is stale: run make docs"
    return 1
}
run_check "docs/reference up to date" reference_is_current

checks_summary
