# Two commands on a fresh machine with Python 3.11+:
#   make serve   install into .venv, migrate the SQLite database, serve on :6543
#   make test    install into .venv and run the whole test suite
# PostgreSQL tests run when MYAPP_TEST_DATABASE_URL is set (see README).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
INI    ?= development.ini

.PHONY: install db serve test clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[testing]"
	touch $@

db: install
	$(BIN)/initialize_myapp_db $(INI)

serve: db
	$(BIN)/pserve $(INI)

test: install
	$(BIN)/pytest

clean:
	rm -rf $(VENV) *.egg-info myapp.sqlite myapp.sqlite-wal myapp.sqlite-shm
