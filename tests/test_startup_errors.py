"""An operator's mistake at start-up ends in one sentence and exit status 1.

An unset environment variable of production.ini, or a database that was
never created, must not end in a traceback: the commands are run as an
operator runs them, in processes of their own.
"""

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy.engine import make_url

from .conftest import ROOT
from .test_settings import REQUIRED

BIN = os.path.dirname(sys.executable)


def run(command, *args, **environ):
    """(exit status, the non-empty lines of stdout and stderr) of one command."""
    env = {name: value for name, value in os.environ.items() if name not in REQUIRED}
    done = subprocess.run(
        [os.path.join(BIN, command), *args], cwd=ROOT, env={**env, **environ},
        capture_output=True, text=True, timeout=60,
    )
    return done.returncode, [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


@pytest.mark.parametrize("command", ["pserve", "initialize_myapp_db"])
def test_production_without_its_environment_says_which_variables_in_one_line(command):
    status, lines = run(command, "production.ini", "http_listen=127.0.0.1:0")
    assert status == 1
    assert len(lines) == 1, lines
    assert "refusing to start" in lines[0]
    for name in REQUIRED:
        assert f"${name}" in lines[0]


def test_a_database_that_does_not_exist_is_one_line_saying_to_create_it(database_url, tmp_path):
    if make_url(database_url).get_backend_name() == "sqlite":
        missing = f"sqlite:///{tmp_path}/no-such-folder/conduit.sqlite"
    else:
        missing = make_url(database_url).set(database=f"myapp_missing_{uuid.uuid4().hex[:8]}")
        missing = missing.render_as_string(hide_password=False)
    status, lines = run(
        "initialize_myapp_db", "production.ini", MYAPP_DATABASE_URL=missing,
        MYAPP_JWT_SECRET="a-production-secret-of-at-least-32-bytes!",
        MYAPP_CORS_ALLOWED_ORIGINS="https://conduit.example",
    )
    assert status == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith("initialize_myapp_db: cannot open the database (")
    assert lines[0].endswith("create it first")
