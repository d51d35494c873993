# Countersign tasks. `make run` opens the product on embedded defaults; `make test` runs every check.
# uv is installed for this user on first use if the machine lacks it (scripts/ensure-uv says how,
# also on Debian's and Ubuntu's own Python); it is looked up once per make run, when first needed.
UV = $(eval UV := $$(shell sh scripts/ensure-uv))$(UV)
export COUNTERSIGN_DATA_DIR ?= var

.PHONY: run test lint format bootstrap clean evals bench

bootstrap:
	@test -n "$(UV)" || exit 1
	@$(UV) sync --frozen --quiet

PORT ?= 8501
run: bootstrap  ## open the web app on http://127.0.0.1:$(PORT) (seeds the bundled ERP the first time)
	@$(UV) run --frozen countersign ui --port $(PORT)

lint: bootstrap  ## ruff (lint + format check), mypy, import-linter contracts
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy
	$(UV) run --frozen lint-imports

# pytest exits 5 when it collects no test: that is a failure here (a suite that runs nothing
# guards nothing), reported in words rather than hidden.
test: lint  ## every check, every test, and the offline eval suite
	@$(UV) run --frozen pytest -q -p no:cacheprovider; code=$$?; \
	  if [ $$code -eq 5 ]; then echo "pytest collected no test: failing on purpose" >&2; fi; exit $$code
	$(UV) run --frozen python -m evals --report reports/evals

evals: bootstrap  ## the offline eval suite: scores, safety invariants, reports in reports/evals
	$(UV) run --frozen python -m evals --report reports/evals

bench: bootstrap  ## every benchmark, full sizes: a table on screen, bench/results/bench.json (BENCH_ARGS=--quick)
	$(UV) run --frozen python -m bench $(BENCH_ARGS)

format: bootstrap
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

clean:
	rm -rf var reports .pytest_cache .mypy_cache .ruff_cache
