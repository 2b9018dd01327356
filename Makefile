# hyperv.netvsc developer entry points. Run from the repository root.
#
#   make test                 set up .venv/ and run every stage in tests/run/ (see tests/run/all.sh)
#   make test STAGES="20 30"  run only some stages
#   make venv                 only create/refresh .venv/ (pinned tests/requirements.txt)
#   make demo                 simulated 18-host fleet: site.yml, facts.yml, report.yml in
#                             build/demo/, no root (demo/run.sh, docs/fleet.md)
#   make docs                 regenerate docs/reference/ from the plugins' documentation
#   make clean                remove .venv/ and build/

SHELL := /bin/bash
STAGES ?=

.PHONY: test venv demo docs clean help

test:
	@bash tests/run/all.sh $(STAGES)

venv:
	@bash tests/run/all.sh --setup-only

# The collection on a simulated 18-host fleet, no root needed (demo/run.sh, docs/fleet.md).
demo:
	@bash demo/run.sh

docs: venv
	@mkdir -p build/collections/ansible_collections/hyperv
	@ln -sfn "$(CURDIR)" build/collections/ansible_collections/hyperv/netvsc
	@PATH="$(CURDIR)/.venv/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH="$(CURDIR)/build/collections" bash docs/reference.sh

clean:
	rm -rf .venv build

help:
	@sed -n '3,9p' Makefile
