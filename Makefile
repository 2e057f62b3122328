# deskconsole: three commands to know.
#   make demo   open the console on a demo desk (SQLite, kept apart from your own database)
#   make test   run the whole test suite in parallel (pytest-xdist; TEST_WORKERS=0 for one process)
#   make check  the guards: lint-imports (layer contracts), ruff check, mypy (all set in pyproject.toml)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB ?= .demo/desk.db
DEMO_USER ?= alice

.PHONY: demo demo-fresh test check bench bench-pg wheel clean bytecode

# An editable install compiles nothing, and with PYTHONDONTWRITEBYTECODE set Python never
# writes what it compiles: every start would compile the sources again (a tenth of a second).
# pip compiles a wheel's files when it installs them; this does the same for the source tree
# (only files changed since the last run).
bytecode:
	@$(BIN)/python -m compileall -q src/deskconsole

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@$(MAKE) --no-print-directory bytecode
	@touch $(STAMP)

$(DEMO_DB): | $(STAMP)
	@mkdir -p $(dir $(DEMO_DB))
	$(BIN)/deskconsole --db sqlite:///$(DEMO_DB) demo

demo: $(STAMP) $(DEMO_DB) bytecode
	$(BIN)/deskconsole --db sqlite:///$(DEMO_DB) --as $(DEMO_USER)

demo-fresh: $(STAMP)
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	$(MAKE) demo

# Workers: one more than the cores (many tests wait on a server, a subprocess or a pty: on 2 cores
# 3 workers took the suite from 6 m 42 s to 5 m 30 s, 4 no further); each worker migrates its own template databases once
# (tests/conftest.py). Tests are handed out a module at a time (loadscope), so a module's
# (and a session's) expensive fixtures are built by one worker, not by each; in the order
# tests/conftest.py collects them (the slowest modules first: HEAVY_FIRST), not xdist's own
# (`--no-loadscope-reorder`), so that no long module is the last one running alone.
# TEST_WORKERS=0 runs in this process (no xdist), e.g. to debug, or to update snapshots
# (syrupy's summary and its unused-snapshot check see one worker's tests only).
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

# The layers of STYLE.md as import-linter contracts, ruff's rules and mypy on the core.
# All three run (and report) even when one fails; `make check` fails if any did.
check: $(STAMP)
	@status=0; \
	echo "== lint-imports"; $(BIN)/lint-imports || status=1; \
	echo "== ruff check src tests benchmarks"; $(BIN)/ruff check src tests benchmarks || status=1; \
	echo "== mypy"; $(BIN)/mypy || status=1; \
	exit $$status

# make bench                       every row on SQLite (1,000,000 cases; BENCH_ARGS="--cases 100000" for less)
# make bench DB=postgresql+psycopg://USER@HOST:PORT/DB   the same rows on that PostgreSQL server
# make bench DB=both                SQLite and $$DESKCONSOLE_BENCH_PG_URL side by side
# make bench-pg                     SQLite and the project's own PostgreSQL side by side: a throwaway
#                                   cluster kept (halted) in benchmarks/.cache/pg-cluster, so its desks are cached
DB ?= sqlite
PG_CLUSTER := benchmarks/.cache/pg-cluster

# (the modules compiled first, as an installed tool has them: a process start measured is not one
# spent compiling deskconsole, even where the environment says not to write bytecode)
bench: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/python benchmarks/run.py --db '$(DB)' $(BENCH_ARGS)

bench-pg: $(STAMP)
	$(BIN)/python -m compileall -q src
	@mkdir -p benchmarks/.cache
	@set -e; \
	if [ -f $(PG_CLUSTER)/.pg-throwaway ]; then env=$$(scripts/pg-throwaway.sh resume $(PG_CLUSTER)); \
	else env=$$(scripts/pg-throwaway.sh start $(PG_CLUSTER)); fi; \
	eval "$$env"; trap 'scripts/pg-throwaway.sh halt $(PG_CLUSTER)' EXIT; \
	$(BIN)/python benchmarks/run.py --db "sqlite,$$DESKCONSOLE_TEST_PG_URL" $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .demo dist build .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache
