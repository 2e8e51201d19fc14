# Two commands on a fresh machine with Python 3.11+:
#   make serve   install into .venv, migrate the SQLite database, serve on :6543
#   make test    install into .venv and run the whole test suite
# PostgreSQL tests run when MYAPP_TEST_DATABASE_URL is set (see README).
# Also:
#   make demo         migrate, then load the demo data set (skipped when it is there)
#   make conformance  the RealWorld suite (../shared/realworld) against pserve on a
#                     fresh SQLite database, and on a fresh PostgreSQL one on the
#                     server of MYAPP_TEST_DATABASE_URL when it is set
#   make bench        the benchmark (bench/): this tree against main's 6b7e654 and bare
#                     WSGI baselines, on a private PostgreSQL cluster, with wrk

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
INI    ?= development.ini

.PHONY: install db demo serve test conformance fuzz live-checks bench clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[testing]"
	touch $@

db: install
	$(BIN)/initialize_myapp_db $(INI)

demo: install
	$(BIN)/initialize_myapp_db $(INI) --demo

serve: db
	$(BIN)/pserve $(INI)

test: install
	$(BIN)/pytest

# Against pserve on fresh SQLite and PostgreSQL (MYAPP_TEST_DATABASE_URL) databases.
conformance: install
	$(BIN)/python scripts/live_checks.py conformance

fuzz: install
	$(BIN)/python scripts/live_checks.py fuzz

live-checks: install
	$(BIN)/python scripts/live_checks.py conformance fuzz

# BENCH_ARGS, e.g. BENCH_ARGS="--rounds 5 --duration 10" (see `python -m bench --help`).
bench: install
	bash scripts/install-wrk.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info myapp.sqlite myapp.sqlite-wal myapp.sqlite-shm
