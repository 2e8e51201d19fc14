# Two commands on a fresh machine with Python 3.11+ (`make help` lists every target):
#   make serve   install into .venv, migrate the SQLite database, serve on :6543
#   make test    install into .venv and run the whole test suite
# PostgreSQL tests run on a private cluster where initdb is installed, or on the
# server of MYAPP_TEST_DATABASE_URL when it is set (see docs/testing.md).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
INI    ?= development.ini
# The whole dependency tree, runtime and testing extra, pinned (`make lock` writes it).
LOCK   := requirements.lock
UV_VERSION := 0.13.9

.PHONY: help install lock db demo serve production test conformance fuzz live-checks bench bench-scale profile cpu clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 22

install: $(VENV)/.installed ## create .venv with exactly the pinned set (requirements.lock), then myapp

# Again whenever the lock or setup.py changes. myapp itself goes in without
# dependencies: everything it needs is in the lock, at the locked version.
$(VENV)/.installed: $(LOCK) setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Resolved from the package index this machine's pip or uv is configured with
# (pip config, PIP_INDEX_URL, UV_INDEX_URL...: scripts/with_pip_index.py), so it
# works behind any mirror; for the Python running it. Run it after any change
# to setup.py's requirements.
# Pins already in the lock stay while setup.py allows them (LOCK_FLAGS=--upgrade:
# every package at its newest allowed version). myapp's own metadata is always
# rebuilt: uv would otherwise reuse what it read from an earlier setup.py.
LOCK_FLAGS ?=
lock: ## re-resolve setup.py (runtime + testing extra) from the configured index into requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/python scripts/with_pip_index.py $(BIN)/uv pip compile setup.py --extra testing \
		--python $(BIN)/python --refresh-package myapp --custom-compile-command "make lock" \
		--quiet $(LOCK_FLAGS) -o $(LOCK)

db: install ## migrate the database of INI (development.ini) to the latest revision
	$(BIN)/initialize_myapp_db $(INI)

demo: install ## migrate, then load the demo data set (skipped when it is there)
	$(BIN)/initialize_myapp_db $(INI) --demo

serve: db ## serve INI on http://localhost:6543, restarting on code changes
	$(BIN)/pserve --reload $(INI)

# nginx (deploy/nginx.conf) in front of `pserve production.ini` on a unix socket, in the
# foreground; TERM stops both, HUP reloads the workers, USR2 upgrades to the code on disk
# (scripts/production.py, docs/operations.md). Settings come from the environment as for
# pserve (MYAPP_DATABASE_URL, MYAPP_JWT_SECRET, ...); PRODUCTION_ARGS, e.g. "threads=32".
LISTEN ?= 127.0.0.1:8080
PRODUCTION_ARGS ?=
production: install ## production on one host: nginx on LISTEN (127.0.0.1:8080) before gunicorn
	bash scripts/install-nginx.sh >/dev/null
	exec $(BIN)/python scripts/production.py --listen $(LISTEN) $(PRODUCTION_ARGS)

test: install ## the whole pytest suite, SQLite and PostgreSQL (a private cluster, or MYAPP_TEST_DATABASE_URL)
	$(BIN)/pytest

# Against pserve on fresh SQLite and PostgreSQL (MYAPP_TEST_DATABASE_URL) databases.
conformance: install ## the RealWorld suite (../shared/realworld) against a live pserve
	$(BIN)/python scripts/live_checks.py conformance

fuzz: install ## schemathesis against a live pserve (checks in schemathesis.toml)
	$(BIN)/python scripts/live_checks.py fuzz

live-checks: install ## conformance, then fuzz
	$(BIN)/python scripts/live_checks.py conformance fuzz

# BENCH_ARGS, e.g. BENCH_ARGS="--rounds 3 --duration 8" (see `python -m bench --help`).
bench: install ## this tree as production serves it, against main before issue 18, the design floor and bare (bench/README.md)
	bash scripts/install-wrk.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

# PROFILE_ARGS, e.g. PROFILE_ARGS="--scenarios f --requests 3000" (see `python -m bench.profile --help`).
profile: install ## where one request's time goes, layer by layer (cProfile, production.ini, private cluster)
	$(BIN)/python -m bench.profile $(PROFILE_ARGS)

# CPU_ARGS, e.g. CPU_ARGS="--scenarios adf --batches 9" (see `python -m bench.cpu --help`).
cpu: install ## CPU time per request, this tree against the design floor, in-process (private cluster)
	$(BIN)/python -m bench.cpu $(CPU_ARGS)

# SIZE: 10k, 100k, 1M or 10M, or several with commas (growth factor: last / first).
SIZE ?= 10k,100k
bench-scale: install ## seed SIZE articles with SQL on a private cluster, check answers, time every endpoint
	bash scripts/install-wrk.sh
	$(BIN)/python -m bench.scale --sizes $(SIZE) $(BENCH_SCALE_ARGS)

clean: ## remove .venv and the development database
	rm -rf $(VENV) *.egg-info myapp.sqlite myapp.sqlite-wal myapp.sqlite-shm
