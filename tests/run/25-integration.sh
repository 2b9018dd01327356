#!/usr/bin/env bash
# Stage 25: ansible-test integration targets (tests/integration/targets/*), run locally.
#
# Targets only touch temp dirs and fixture sysfs trees; the real /sys is only read
# (netvsc_facts on this machine must say hyperv: false without failing).
set -uo pipefail
: "${REPO:?run this through tests/run/all.sh}" "${VENV:?}" "${COLLECTION_ROOT:?}"
# shellcheck source=tests/run/lib.sh
. "$REPO/tests/run/lib.sh"

ansible_test_env
export ANSIBLE_INJECT_FACT_VARS=false
cd "$COLLECTION_ROOT" || exit 1
# ansible-test copies only the targets into its temp dir; integration_config.yml vars reach
# every target, so they find the fixture builder through it.
printf 'netvsc_fixtures: %s/tests/fixtures\n' "$COLLECTION_ROOT" >tests/integration/integration_config.yml
ansible-test integration --local --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no -v
