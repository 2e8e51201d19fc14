"""Fixtures: every test runs once on SQLite and once on PostgreSQL.

SQLite is a file in a temporary folder (``:memory:`` would give each thread
its own database). PostgreSQL: a database of its own is created for the run,
and dropped afterwards, on

- the server of ``MYAPP_TEST_DATABASE_URL`` when it is set (e.g.
  ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``; CI sets it); an
  unreachable server is then an error, never a skip;
- otherwise a private cluster started for the run wherever PostgreSQL's
  server programs (``initdb``) are installed (tests/live/cluster.py), started
  the first time a PostgreSQL test needs it and torn down at the end. A few
  seconds: initdb and a start, with fsync off.

With neither, the PostgreSQL half is left out entirely (deselected, so
pytest's own count says how many) and the run says so in one line at the end,
instead of a screen of skips. With ``MYAPP_REQUIRE_LIVE=1`` (CI) that fails
every PostgreSQL test instead.

Requests commit for real: each test gets a new app (a new engine and pool) and
afterwards every table is emptied through a separate connection.
"""

import os
import uuid

import alembic.config
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from myapp import make_config
from myapp.db import get_engine
from myapp.models import import_all_models
from myapp.scripts.initialize_db import upgrade_to_head

from .contract import ContractTestApp
from .live.cluster import PostgresCluster, require, server_bindir

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BACKENDS = ["sqlite", "postgresql"]

BASE_SETTINGS = {
    "retry.attempts": "3",
    "sqlalchemy.pool_size": "4",
    "sqlalchemy.max_overflow": "0",
    "sqlalchemy.pool_timeout": "5",
    "myapp.jwt_secret": "test-secret-test-secret-test-secret-0123",
    # The cheapest Argon2id cost: the tests hash many passwords.
    "myapp.argon2_time_cost": "1",
    "myapp.argon2_memory_kib": "1024",
    "myapp.argon2_parallelism": "1",
    "myapp.cors_allowed_origins": "https://frontend.example",
    # Generous database budgets: the shared test server can be slow when the
    # machine is busy. Tests of the budgets set short ones (tests/db/test_budgets.py).
    "myapp.db.connect_timeout": "10",
    "myapp.db.statement_timeout": "30",
    "myapp.db.lock_timeout": "30",
    "myapp.db.request_timeout": "60",
}


DEVELOPMENT_INI = os.path.join(ROOT, "development.ini")


def alembic_config():
    """The project's Alembic configuration (``[alembic]`` of development.ini)."""
    return alembic.config.Config(DEVELOPMENT_INI)


def migrate(url):
    """Run the real migrations to head on ``url``, as initialize_myapp_db does."""
    upgrade_to_head({"sqlalchemy.url": url}, DEVELOPMENT_INI)


#: How many PostgreSQL tests a run with no server to use left out.
POSTGRESQL_LEFT_OUT = pytest.StashKey[int]()
#: The private cluster's URL, when the run started one.
PRIVATE_CLUSTER = pytest.StashKey[str]()
POSTGRESQL_EXAMPLE = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pytest_collection_modifyitems(config, items):
    """With no PostgreSQL server to use or start, deselect the tests that need one."""
    if (
        os.environ.get("MYAPP_TEST_DATABASE_URL")
        or server_bindir() is not None
        or os.environ.get("MYAPP_REQUIRE_LIVE") == "1"
    ):
        return
    kept, left_out = [], []
    for item in items:
        params = getattr(item, "callspec", None) and item.callspec.params
        (left_out if params and params.get("database_url") == "postgresql" else kept).append(item)
    if left_out:
        items[:] = kept
        config.hook.pytest_deselected(items=left_out)
        config.stash[POSTGRESQL_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(terminalreporter, config):
    left_out = config.stash.get(POSTGRESQL_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(
            f"PostgreSQL half not run ({left_out} tests deselected): install PostgreSQL's "
            f"server programs (initdb) or set MYAPP_TEST_DATABASE_URL={POSTGRESQL_EXAMPLE} "
            "(a server where the tests may create databases) to run it."
        )
    private = config.stash.get(PRIVATE_CLUSTER, None)
    if private:
        terminalreporter.write_line(
            f"PostgreSQL half ran on a private cluster started for this run ({private}); "
            "set MYAPP_TEST_DATABASE_URL to use an existing server instead."
        )


@pytest.fixture(scope="session")
def postgresql_server(request):
    """The URL of the server where the PostgreSQL half creates its database."""
    url = os.environ.get("MYAPP_TEST_DATABASE_URL")
    if url:
        yield url
        return
    require(server_bindir(), "PostgreSQL tests need MYAPP_TEST_DATABASE_URL or PostgreSQL's "
            "server programs (initdb)")
    with PostgresCluster("tests") as cluster:
        request.config.stash[PRIVATE_CLUSTER] = cluster.url()
        yield cluster.url()


def _postgres_database(base):
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"myapp_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL at {make_url(base)!r} is not reachable: {exc}")
    url = make_url(base).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated database for the whole run, one per backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite"
        url, drop = f"sqlite:///{path}", lambda: None
    else:
        # Looked up here, not as an argument: a SQLite-only run starts no cluster.
        url, drop = _postgres_database(request.getfixturevalue("postgresql_server"))
    migrate(url)
    yield url
    drop()


@pytest.fixture(scope="session")
def backend(database_url):
    return make_url(database_url).get_backend_name()


@pytest.fixture(scope="session")
def db_engine(database_url):
    """An engine of the tests' own, to look at the database from outside the app."""
    engine = get_engine({"sqlalchemy.url": database_url})
    yield engine
    engine.dispose()


@pytest.fixture
def app_settings(database_url):
    return {**BASE_SETTINGS, "sqlalchemy.url": database_url}


@pytest.fixture
def make_app(app_settings, db_engine):
    """Build a WSGI app from ``make_config``; ``includes`` adds test-only views."""
    apps = []

    def factory(includes=(), **overrides):
        config = make_config({**app_settings, **overrides})
        for include in includes:
            config.include(include)
        wsgi_app = config.make_wsgi_app()
        apps.append(wsgi_app)
        return wsgi_app

    yield factory
    for wsgi_app in apps:
        for engine in wsgi_app.registry["engines"]:  # the request pool, readiness' own
            engine.dispose()
    empty_tables(db_engine)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def testapp(app):
    """A WebTest client that checks every response against the OpenAPI document."""
    return ContractTestApp(app)


def empty_tables(engine):
    """Delete every row of the application's tables (the schema stays)."""
    metadata = import_all_models()
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


def app_engine(wsgi_app):
    """The engine (and pool) the app's sessions use."""
    return wsgi_app.registry["dbsession_factory"].kw["bind"]
