# wealthdesk: the two commands that matter are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-package bench package openapi schema migrate lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Start the API on http://127.0.0.1:$${PORT:-8000} over the embedded PostgreSQL (or DATABASE_URL).
run: $(STAMP)
	$(BIN)/wealthdesk serve

## The whole suite against a real PostgreSQL (embedded unless DATABASE_URL is set).
test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not package" -n 2

## ruff with the committed config (pyproject.toml [tool.ruff]); CI runs it besides the suite.
lint: $(STAMP)
	$(BIN)/ruff check .

## Builds the Lambda package and checks it (slow, needs PyPI).
test-package: $(STAMP)
	$(BIN)/python -m pytest -q -m package

## Benchmarks: writes BENCHMARKS.md (not part of `make test`).
bench: $(STAMP)
	$(BIN)/python -m tests.bench.run

## SAM template + deployment zip for stage dev in build/package/.
package: $(STAMP)
	scripts/package.sh

openapi: $(STAMP)
	$(BIN)/wealthdesk openapi

## Rewrites schema.sql from a freshly migrated scratch database.
schema: $(STAMP)
	$(BIN)/wealthdesk schema

migrate: $(STAMP)
	$(BIN)/wealthdesk migrate

clean:
	rm -rf build .venv-package chalicelib/_migrations
