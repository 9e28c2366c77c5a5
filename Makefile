# Two commands: `make run` (local runtime with a demo tenant) and `make test` (every test and check).
# Both create .venv from python3.13 with the pinned requirements on first use.

SHELL := /bin/bash
export SAM_CLI_TELEMETRY := 0
# python3.13 is on PATH on most machines; on ours it is a pyenv version the default shims do not select.
PY313 := $(shell if python3.13 -c 'import sys' >/dev/null 2>&1; then command -v python3.13; \
	else PYENV_VERSION=3.13.0 pyenv which python3.13 2>/dev/null; fi)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint cfn checkov unit run openapi bench tenant redrive-robot-runs build clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -n "$(PY313)" || { echo "python3.13 not found (install it, or a pyenv 3.13 version)"; exit 1; }
	test -x $(BIN)/python || $(PY313) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

# checkov's dependencies conflict with the runtime's boto3 pin: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): tools/requirements-checkov.txt tools/constraints-checkov.txt
	@test -n "$(PY313)" || { echo "python3.13 not found (install it, or a pyenv 3.13 version)"; exit 1; }
	test -x $(CHECKOV_VENV)/bin/python || $(PY313) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-checkov.txt \
		-c tools/constraints-checkov.txt
	touch $(CHECKOV_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

cfn: $(STAMP)
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template template.yaml --region eu-west-1

unit: $(STAMP)
	$(BIN)/pytest

# Offline, quiet; fails on any check not skipped (with its reason) in .checkov.yaml.
checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

test: lint cfn checkov build unit

openapi: $(STAMP)
	$(BIN)/python scripts/export_openapi.py

# Not echoed: the operator command's standard output is its JSON alone.
tenant: $(STAMP)
	@$(BIN)/python scripts/create_tenant.py $(ARGS)

# Operator command: the runs' dead-letter queue re-driven (README, "Operations"); JSON on stdout.
redrive-robot-runs: $(STAMP)
	@$(BIN)/python scripts/redrive_robot_runs.py $(ARGS)

build: $(STAMP)
	PATH="$(dir $(PY313)):$(CURDIR)/$(BIN):$$PATH" PYENV_VERSION=3.13.0 $(BIN)/sam build --template template.yaml

run: $(STAMP)
	$(BIN)/python -m infra.runtime $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .ruff_cache
