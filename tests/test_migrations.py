"""The Alembic migrations and the models describe the same schema."""

import datetime

import alembic.command
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from myapp.models import import_all_models

from .conftest import alembic_config



def test_autogenerate_finds_no_difference(db_engine):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, import_all_models())
    assert diff == []


def test_the_database_is_at_the_single_head(db_engine):
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) <= 1
    with db_engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    assert tuple(current) == tuple(heads)


def test_downgrade_to_base_and_upgrade_again(db_engine):
    config = alembic_config()
    with db_engine.begin() as connection:
        config.attributes["connection"] = connection
        alembic.command.downgrade(config, "base")
        remaining = set(sa.inspect(connection).get_table_names())
        assert not remaining & set(import_all_models().tables)
        alembic.command.upgrade(config, "head")


BEFORE_LOOKUP_KEYS = "982b3f7b1d1b"


def test_the_case_folding_upgrade_stops_and_names_users_that_would_collide(db_engine):
    """Existing users whose names differ only in case: the upgrade changes nothing and
    names them; once a person has resolved them, it goes through."""
    config = alembic_config()
    users = sa.table("users", sa.column("id"), sa.column("username"), sa.column("email"),
                     sa.column("password_hash"), sa.column("created_at"), sa.column("updated_at"))
    now = datetime.datetime.now(datetime.timezone.utc)
    rows = [(1, "Alice", "alice@x.io"), (2, "alice", "other@x.io"), (3, "carol", "C@x.io"),
            (4, "dave", "c@X.IO"), (5, "erin", "erin@x.io")]
    with db_engine.begin() as connection:
        config.attributes["connection"] = connection
        alembic.command.downgrade(config, BEFORE_LOOKUP_KEYS)
        connection.execute(users.insert(), [
            {"id": i, "username": u, "email": e, "password_hash": "x", "created_at": now,
             "updated_at": now} for i, u, e in rows])

        with pytest.raises(RuntimeError, match="differ only in case") as raised:
            alembic.command.upgrade(config, "head")

        message = str(raised.value)
        print(message)
        assert "username 'alice': user 1 'Alice', user 2 'alice'" in message
        assert "email 'c@x.io': user 3 'C@x.io', user 4 'c@X.IO'" in message
        assert "erin" not in message
        context = MigrationContext.configure(connection)
        assert context.get_current_heads() == (BEFORE_LOOKUP_KEYS,)
        assert "username_key" not in {c["name"] for c in sa.inspect(connection).get_columns("users")}

        connection.execute(users.delete().where(users.c.id.in_([2, 4])))
        alembic.command.upgrade(config, "head")
        keys = connection.execute(sa.text("SELECT username_key, email_key FROM users ORDER BY id"))
        assert keys.all() == [("alice", "alice@x.io"), ("carol", "c@x.io"), ("erin", "erin@x.io")]
        connection.execute(users.delete())



YEAR_2040 = 2_208_988_800  # past 2**31 - 1 seconds: January 2038
ROWS_PAST_2038 = {
    "idempotency_keys": {"scope": "user:1", "key": "k", "fingerprint": "f", "expires_at": YEAR_2040},
    "login_attempts": {"key": "address:192.0.2.1", "attempts": 1, "window_start": YEAR_2040},
}


@pytest.mark.parametrize("table", sorted(ROWS_PAST_2038))
def test_unix_times_past_january_2038_round_trip(db_engine, table):
    """The migrated schema holds them: 32-bit columns refuse 2040 on PostgreSQL."""
    row = ROWS_PAST_2038[table]
    columns = import_all_models().tables[table].c
    with db_engine.begin() as connection:
        connection.execute(sa.insert(columns[0].table).values(row))
    try:
        with db_engine.connect() as connection:
            stored = connection.execute(sa.select(*(columns[name] for name in row))).one()
        assert tuple(stored) == tuple(row.values())
    finally:
        with db_engine.begin() as connection:
            connection.execute(sa.delete(columns[0].table))


FORGET_OLD_ANONYMOUS_KEYS = "d74f1af18129"


def test_keys_of_the_old_shared_anonymous_scope_are_deleted_and_no_other(db_engine):
    """Registration keys stored under the bare ``anonymous`` scope (their answers
    held live tokens) go; the scopes the code writes today stay."""
    config = alembic_config()
    before = ScriptDirectory.from_config(config).get_revision(FORGET_OLD_ANONYMOUS_KEYS).down_revision
    keys = import_all_models().tables["idempotency_keys"]
    rows = [
        {"scope": "anonymous", "key": "old", "body": b'{"user": {"token": "live"}}'},
        {"scope": "anonymous:" + "f" * 48, "key": "old", "body": b'{"user": {}}'},
        {"scope": "user:1", "key": "old", "body": b'{"article": {}}'},
    ]
    with db_engine.begin() as connection:
        config.attributes["connection"] = connection
        alembic.command.downgrade(config, before)
        connection.execute(keys.insert(), [
            {**row, "fingerprint": "f", "status": 201, "expires_at": YEAR_2040} for row in rows])
        alembic.command.upgrade(config, "head")
        left = connection.execute(sa.select(keys.c.scope).order_by(keys.c.scope)).scalars().all()
        connection.execute(keys.delete())
    assert left == ["anonymous:" + "f" * 48, "user:1"]


def test_initialize_myapp_db_migrates_in_steps_with_to(tmp_path):
    """``--to REVISION`` stops there (the counters' tables before the code that keeps
    them, docs/operations.md); a later run goes on to head. A revision behind the
    database changes nothing (never down); an unknown one is one sentence and exit
    status 1."""
    import subprocess
    import sys

    from .conftest import ROOT

    url = f"sqlite:///{tmp_path / 'steps.sqlite'}"

    def run(*extra):
        return subprocess.run(
            [sys.executable, "-m", "myapp.scripts.initialize_db", "development.ini",
             f"database_url={url}", *extra],
            cwd=ROOT, capture_output=True, text=True,
        )

    def current():
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_heads()
        finally:
            engine.dispose()

    assert run("--to", "3b9d0c6e1f42").returncode == 0
    assert current() == ("3b9d0c6e1f42",)
    assert run("--to", "c41e7f2a9b58").returncode == 0  # the revision before: nothing to do
    assert current() == ("3b9d0c6e1f42",)
    result = run("--to", "nosuchrevision")
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]  # after alembic's own INFO lines
    assert last_line.startswith("initialize_myapp_db: cannot migrate to 'nosuchrevision': ")
    assert "Traceback" not in result.stderr
    assert current() == ("3b9d0c6e1f42",)
    assert run().returncode == 0
    assert current() == tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
