# hyperv.netvsc developer entry points. Run from the repository root.
#
#   make test                  install what the tests need (apt packages, .nox/), run every nox
#                              session (noxfile.py), end with "summary: N passed, N failed"
#   make test STAGES="units role-2.21"   only some sessions: stage tags or session names
#   make list                  the sessions and their tags
#   make venv                  only install: the nox runner and every session's venv
#   make demo                  simulated 18-host fleet, no root (demo/run.sh, docs/fleet.md)
#   make docs                  regenerate docs/reference/ from the plugins' documentation
#   make clean                 remove .nox/ and build/

SHELL := /bin/bash
PYTHON ?= python3
STAGES ?=
NOX_VENV := .nox/nox
NOX := $(NOX_VENV)/bin/nox

.PHONY: test list venv demo docs clean help

# The runner itself: nox from tests/requirements/nox.txt, made with python3 alone (Debian
# keeps ensurepip in python3-venv).
$(NOX_VENV)/.stamp: tests/requirements/nox.txt
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv; }
	@rm -rf $(NOX_VENV) && $(PYTHON) -m venv $(NOX_VENV)
	@$(NOX_VENV)/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements/nox.txt
	@touch $@

test: $(NOX_VENV)/.stamp
	@mkdir -p build && report=build/nox-report.$$$$.json && rc=0; \
	$(NOX) --report $$report $(if $(strip $(STAGES)),--tags $(STAGES)) </dev/null || rc=$$?; \
	$(NOX_VENV)/bin/python noxfile.py $$report; summary=$$?; rm -f $$report; exit $$((rc | summary))

list: $(NOX_VENV)/.stamp
	@$(NOX) --list

venv: $(NOX_VENV)/.stamp
	@$(NOX) --session venvs

demo:
	@bash demo/run.sh

docs: venv
	@mkdir -p build/collections/ansible_collections/hyperv
	@ln -sfn "$(CURDIR)" build/collections/ansible_collections/hyperv/netvsc
	@PATH="$(CURDIR)/.nox/venvs/tools/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/build/collections" bash docs/reference.sh

clean:
	rm -rf .nox build

help:
	@sed -n '3,10p' Makefile
