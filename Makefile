# account_dunning: build, demo, test, lint, bench.
# The work is done by scripts/*.sh; every target sets up what it needs (virtualenv
# with Odoo 18.0, PostgreSQL, .build/odoo.conf) and skips what is already done.

PYTHON ?= python3.11
ODOO_SRC ?=
VENV ?= .venv
HTTP_PORT ?= 8069
DEMO_DB ?= dunning_demo
TEST_DB ?= dunning_test
PYTEST_ARGS ?=
BENCH_SIZES ?= 10000 100000
BENCH_ARGS ?=

export PYTHON ODOO_SRC VENV HTTP_PORT DEMO_DB TEST_DB PYTEST_ARGS BENCH_SIZES BENCH_ARGS

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-again lint format bench i18n wheel clean distclean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: ## virtualenv with Odoo and the tools, PostgreSQL, .build/odoo.conf
	@bash -c 'source scripts/lib.sh && bootstrap'

demo: ## demo database dunning_demo served on http://localhost:8069 (admin/admin)
	@bash scripts/demo.sh

test: ## fresh database dunning_test, then every test (pytest)
	@bash scripts/test.sh

test-again: ## like test, but updates the add-on in the existing dunning_test
	@TEST_REUSE_DB=1 bash scripts/test.sh

lint: ## ruff, ruff format --check, pylint-odoo, OCA module checks
	@bash scripts/lint.sh

format: ## ruff format + ruff check --fix
	@bash -c 'source scripts/lib.sh && ensure_python_deps && cd "$$REPO" && \
		"$$VENV/bin/ruff" format . && "$$VENV/bin/ruff" check --fix .'

bench: ## benchmarks: bench/run.py --sizes $(BENCH_SIZES)
	@bash scripts/bench.sh

i18n: ## export i18n/account_dunning.pot, merge it into i18n/es.po, list untranslated
	@bash scripts/i18n.sh

wheel: ## build the odoo-addon-account_dunning wheel of HEAD into dist/
	@bash scripts/wheel.sh

clean: ## remove .build (config, downloads, stamps); keeps .venv and the databases
	rm -rf .build dist build .pytest_cache .ruff_cache

distclean: clean ## also remove .venv
	rm -rf $(VENV)
