# deskconsole: two commands to know.
#   make demo   open the console on a demo desk (SQLite, kept apart from your own database)
#   make test   run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB ?= .demo/desk.db
DEMO_USER ?= alice

.PHONY: demo demo-fresh test bench wheel clean bytecode

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

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .demo dist build .pytest_cache
