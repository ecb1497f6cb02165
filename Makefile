# Two entry points for a fresh machine (see README.md):
#   make example   install into .venv and run the workflow on the bundled example (stand-in models)
#   make test      install into .venv and run the test suite (what CI runs)
#
# TORCH is the torch requirement installed first. The default pins the release this project is
# tested with; on a GPU machine with a CUDA build of torch already in the interpreter, run with
# TORCH= (empty) to keep it, or give your own spec, e.g. TORCH="torch==2.13.0 --index-url ...".
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: install example test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ -n "$(TORCH)" ]; then $(BIN)/python -m pip install --quiet $(TORCH); fi
	$(BIN)/python -m pip install --quiet -e ".[test]"

example: install
	$(BIN)/snakemake predict --cores $(CORES) --resources gpu=1 --configfile config/standin.yaml

test: install
	$(BIN)/python -m pytest tests

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/snakemake --lint

clean:
	rm -rf results .snakemake
