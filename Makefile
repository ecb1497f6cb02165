# Two entry points for a fresh machine (see README.md):
#   make example   install into .venv and run the workflow on the bundled example (stand-in models)
#   make test      install into .venv and run the test suite
# CI (.ci/run) runs `make lint` first, then `make test`:
#   make lint      install into .venv, then ruff (Python), snakefmt (Snakefile, *.smk),
#                  snakemake --lint, a check that config/README.md matches the schema, and
#                  the dead-code (vulture) and import-order scans
#
# TORCH is the torch requirement installed first. The default pins the release this project is
# tested with; on a GPU machine with a CUDA build of torch already in the interpreter, run with
# TORCH= (empty) to keep it, or give your own spec, e.g. TORCH="torch==2.13.0 --index-url ...".
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
CORES ?= 2
BIN := $(VENV)/bin

# Debian packages some tests use: Chromium (renders the HTML report) and a localhost SLURM
# (slurm-wlm + munge). Installed when running as root with apt-get, without recommended
# packages (those pulled in avahi-daemon, cups-pk-helper, a MySQL plugin: 157 packages);
# otherwise those tests skip.
# No daemon starts on install: where the machine has no /usr/sbin/policy-rc.d, one that
# refuses service starts (exit 101) is in place during apt-get and removed after. The SLURM
# test runs its own private daemons (tests/slurm/start_slurm.sh) and stops them.
SYSTEM_PACKAGES := chromium slurm-wlm munge

.PHONY: install system-deps example test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ -n "$(TORCH)" ]; then $(BIN)/python -m pip install --quiet $(TORCH); fi
	$(BIN)/python -m pip install --quiet -e ".[test]"

example: install
	$(BIN)/snakemake predict --cores $(CORES) --resources gpu=1 --configfile config/standin.yaml

system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then \
			held=""; \
			if [ ! -e /usr/sbin/policy-rc.d ]; then \
				printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && held=1; \
			fi; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
			status=$$?; [ -z "$$held" ] || rm -f /usr/sbin/policy-rc.d; [ $$status = 0 ] || exit $$status; \
		fi; \
	else echo "not root or no apt-get: skipping $(SYSTEM_PACKAGES) (their tests will be skipped)"; fi

test: install system-deps
	$(BIN)/python -m pytest tests

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint
	$(BIN)/python -m virnucpro_smk.runtime.config_docs --check
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_no_dead_code.py tests/test_import_order.py

clean:
	rm -rf results .snakemake
