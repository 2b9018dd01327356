#!/usr/bin/env bash
# Regenerate docs/reference/ (module and role reference) from the plugins' own documentation
# with antsibull-docs. `make docs` runs it; the lint test session checks that the committed copy is current.
#
#   docs/reference.sh [DEST]   (default docs/reference; ANSIBLE_COLLECTIONS_PATH must resolve
#                               hyperv.netvsc and antsibull-docs must be on PATH)
set -euo pipefail
dest="${1:-$(dirname "${BASH_SOURCE[0]}")/reference}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
antsibull-docs collection --use-current --dest-dir "$tmp" --output-format simplified-rst \
    hyperv.netvsc >/dev/null
rm -rf "$dest"
mkdir -p "$dest"
cp "$tmp"/collections/hyperv/netvsc/*.rst "$dest"/
