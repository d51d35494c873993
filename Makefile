# Countersign tasks. `make run` opens the product on embedded defaults; `make test` runs every check.
# uv is installed on first use if the machine lacks it.
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
export COUNTERSIGN_DATA_DIR ?= var

.PHONY: run test lint format typecheck contracts unit bootstrap clean

bootstrap:
	@command -v uv >/dev/null 2>&1 || test -x "$(UV)" || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

run: bootstrap  ## seed the bundled ERP (first time only) and open the chat as alice
	@$(UV) run --frozen countersign seed --if-empty
	@$(UV) run --frozen countersign chat --user alice

lint: bootstrap  ## ruff (lint + format check), mypy, import-linter
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports

test: lint  ## every check and every test
	$(UV) run --frozen pytest -q -p no:cacheprovider

format: bootstrap
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

clean:
	rm -rf var reports .pytest_cache .mypy_cache .ruff_cache
