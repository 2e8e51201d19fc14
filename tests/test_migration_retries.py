"""The online backfills survive a transient failure of one batch.

A batch that deadlocks with a writer (40P01: a writer retagging an article
whose tag rows the batch updates, in another order) or fails to serialize
(40001) was rolled back whole; the backfill runs the same batch again instead
of failing the migration half way. Seen once in the live migration test under
load (tests/live/test_counter_migration.py); here the failure is injected.
"""

import contextlib
import importlib.util
import pathlib

import pytest
from sqlalchemy.exc import OperationalError

VERSIONS = pathlib.Path(__file__).resolve().parents[1] / "alembic" / "versions"


def load(revision):
    (path,) = VERSIONS.glob(f"*_{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Failure(Exception):
    def __init__(self, sqlstate):
        self.sqlstate = sqlstate


def failed(sqlstate):
    return OperationalError("batch", {}, Failure(sqlstate))


class Connection:
    """Enough of a SQLAlchemy connection for the backfills' loops."""

    def __init__(self, engine):
        self.engine = engine

    def execute(self, statement, params=None):
        return self.engine.on_execute(str(statement), params)

    @contextlib.contextmanager
    def begin(self):
        yield self

    def commit(self):
        pass


class Engine:
    def __init__(self, on_execute):
        self.on_execute = on_execute

    @contextlib.contextmanager
    def connect(self):
        yield Connection(self)

    begin = connect


class Scalar:
    def __init__(self, value):
        self.value = value

    def scalar(self):
        return self.value


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_the_tag_dates_backfill_runs_a_batch_again_after_a_deadlock(monkeypatch, sqlstate):
    migration = load("5d3a9e7c1b20")
    monkeypatch.setattr(migration.time, "sleep", lambda seconds: None)
    copied, failures = [], [failed(sqlstate)]

    def on_execute(sql, params):
        if sql.startswith("SELECT max(article_id)"):
            return Scalar(10)
        if sql.startswith("UPDATE article_tags"):
            if failures:
                raise failures.pop()
            copied.append((params["lo"], params["hi"]))
        return Scalar(None)

    migration._backfill(Engine(on_execute))
    assert copied and copied[0][0] == 0  # the failed batch ran again from its start
    assert copied[-1][1] > 10  # and the backfill went on to the end


def test_the_tag_dates_backfill_still_fails_on_a_real_error(monkeypatch):
    migration = load("5d3a9e7c1b20")

    def on_execute(sql, params):
        if sql.startswith("SELECT max(article_id)"):
            return Scalar(10)
        if sql.startswith("UPDATE article_tags"):
            raise failed("42P01")  # undefined_table
        return Scalar(None)

    with pytest.raises(OperationalError):
        migration._backfill(Engine(on_execute))


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_the_counters_backfill_runs_a_batch_again_after_a_deadlock(monkeypatch, sqlstate):
    migration = load("8e2f5a7c9d13")
    monkeypatch.setattr(migration.time, "sleep", lambda seconds: None)
    batches, failures = [], [failed(sqlstate)]

    def batch(connection, size, limit):
        if failures:
            raise failures.pop()
        batches.append(size)
        return None  # every article counted

    monkeypatch.setattr(migration, "_batch", batch)
    migration._online(Engine(lambda sql, params: Scalar(None)))
    assert batches == [migration.FIRST_BATCH]  # the same batch again, then done


def test_the_counters_backfill_still_fails_on_a_real_error(monkeypatch):
    migration = load("8e2f5a7c9d13")

    def batch(connection, size, limit):
        raise failed("42P01")

    monkeypatch.setattr(migration, "_batch", batch)
    with pytest.raises(OperationalError):
        migration._online(Engine(lambda sql, params: Scalar(None)))
