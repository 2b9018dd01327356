# hyperv.netvsc developer entry points. Run from the repository root.
#
#   make test                 set up .venv/ and run every stage in tests/run/ (see tests/run/all.sh)
#   make test STAGES="20 30"  run only some stages
#   make venv                 only create/refresh .venv/ (pinned tests/requirements.txt)
#   make demo                 PLACEHOLDER: prints "demo: not yet available" and fails until
#                             the demo is implemented
#   make clean                remove .venv/ and build/

SHELL := /bin/bash
STAGES ?=

.PHONY: test venv demo clean help

test:
	@bash tests/run/all.sh $(STAGES)

venv:
	@bash tests/run/all.sh --setup-only

# Placeholder until the demo lands; it must keep failing so nobody mistakes it for a demo.
demo:
	@echo "demo: not yet available"; exit 1

clean:
	rm -rf .venv build

help:
	@sed -n '3,9p' Makefile
