# Every target creates or reuses the project virtualenv itself, so a fresh clone needs one command.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .tools

REPO ?= .
BASE ?= HEAD~1
HEAD ?= HEAD
FORMAT ?= md
POST ?=
ARGS ?=

.PHONY: help venv review test pytest lint helm-check sandbox images kind-up kind-load deploy e2e kind-down bench clean

help:
	@echo "make review REPO=<path or URL> BASE=<ref> HEAD=<ref> [FORMAT=md|json] [POST=dry-run|github] [ARGS=...]"
	@echo "make test       lint, unit and integration tests, chart checks"
	@echo "make lint       ruff, mypy, import-linter and hadolint (Dockerfiles)"
	@echo "make sandbox    emulated API server, operator, receiver and job runner in the foreground"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The recipe is not echoed, so FORMAT=json prints exactly one JSON document on standard output.
review: $(STAMP)
	@$(BIN)/pr-review --repo '$(REPO)' --base '$(BASE)' --head '$(HEAD)' --format '$(FORMAT)' \
		$(if $(POST),--post '$(POST)') $(ARGS)

test: $(STAMP) lint helm-check pytest

pytest: $(STAMP)
	$(BIN)/python -m pytest tests

lint: $(STAMP)
	$(BIN)/ruff check reviewer-image receiver operator crds sandbox tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint reviewer-image/Dockerfile receiver/Dockerfile operator/Dockerfile

helm-check: $(STAMP)
	PATH="$(CURDIR)/$(TOOLS)/bin:$(CURDIR)/$(BIN):$$PATH" bash scripts/helm-check.sh

sandbox: $(STAMP)
	$(BIN)/pr-sandbox

images:
	bash scripts/images.sh

kind-up kind-load deploy kind-down:
	bash scripts/kind.sh $@

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e -v

bench: $(STAMP)
	$(BIN)/python benchmarks/review_large_change.py

clean:
	rm -rf $(VENV) $(TOOLS) .sandbox .pytest_cache .mypy_cache .ruff_cache
