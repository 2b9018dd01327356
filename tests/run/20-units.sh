#!/usr/bin/env bash
# Stage 20: unit tests (tests/unit/**/test_*.py) with ansible-test units, in $COLLECTION_ROOT.
#
#   * The venv's Python (3.11): `ansible-test units --local`, i.e. pytest, pytest-xdist,
#     pytest-mock and mock pinned in tests/requirements.txt.
#   * The oldest target Python found (3.8 through pyenv on the dev/CI machines; none on a
#     fresh Debian 12): `ansible-test units --venv`, in a venv ansible-test builds with its
#     own (unpinned) units requirements. plugins/module_utils must work on Python >= 3.8.
#   UNITS_PYTHONS overrides the list, e.g. UNITS_PYTHONS="3.11" or "3.8 3.11 3.13".
#
# Tests import the collection as ansible_collections.hyperv.netvsc.* (e.g.
# ...plugins.module_utils._scan, ...tests.fixtures.sysfs_tree); ansible-test puts the
# ansible_collections tree on sys.path and installs the collection loader.
#
# "No test ran" is a failure: ansible-test treats pytest's exit 5 (nothing collected) as
# success and exits 0 ("All targets skipped") when there are no test files, so each
# Python's junit XML is read and the run fails unless at least one test passed.
set -uo pipefail
: "${REPO:?run this through tests/run/all.sh}" "${VENV:?}" "${COLLECTION_ROOT:?}"
# shellcheck source=tests/run/lib.sh
. "$REPO/tests/run/lib.sh"

ansible_test_env
link_target_pythons "$VENV/target-pythons"
export PATH="$VENV/bin:$VENV/target-pythons:$PATH"

venv_py="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ -z "${UNITS_PYTHONS:-}" ]; then
    UNITS_PYTHONS="$venv_py"
    oldest="$(find_target_pythons | head -n1 | cut -d' ' -f1)"
    if [ -n "$oldest" ] && [ "$oldest" != "$venv_py" ]; then
        UNITS_PYTHONS="$oldest $venv_py"
    fi
fi

cd "$COLLECTION_ROOT" || exit 1
JUNIT_DIR="tests/output/junit"

# count_junit X.Y: print the totals of python X.Y's junit files; fail if none passed.
count_junit() {
    python - "$JUNIT_DIR" "$1" <<'EOF'
import glob
import sys
import xml.etree.ElementTree as ET

junit_dir, version = sys.argv[1:3]
totals = dict(tests=0, failures=0, errors=0, skipped=0)
files = sorted(glob.glob("%s/python%s-*-units.xml" % (junit_dir, version)))
for path in files:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, 0) or 0)
passed = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
print("units on Python %s: %d passed, %d failed, %d errors, %d skipped (%d junit files)"
      % (version, passed, totals["failures"], totals["errors"], totals["skipped"], len(files)))
if passed <= 0:
    print("ERROR: no unit test passed on Python %s (none collected?)" % version)
    sys.exit(1)
EOF
}

# units_on X.Y: run ansible-test units on Python X.Y and check that tests ran.
units_on() {
    local v="$1" mode rc
    if [ "$v" = "$venv_py" ]; then mode=--local; else mode=--venv; fi
    rm -f "$JUNIT_DIR"/python"$v"-*-units.xml
    ansible-test units --color no "$mode" --python "$v"
    rc=$?
    count_junit "$v" || rc=1
    return "$rc"
}

if ! find tests/unit -name 'test_*.py' -print -quit 2>/dev/null | grep -q .; then
    log "ERROR: no tests/unit/**/test_*.py files"
    exit 1
fi

for v in $UNITS_PYTHONS; do
    run_check "ansible-test units (Python $v)" units_on "$v"
done

checks_summary
