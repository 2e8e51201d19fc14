"""Statements written the same way wherever the app needs them.

- ``purge_expired``: delete a bounded batch of expired rows (idempotency keys,
  login attempts), inside the caller's transaction, never waiting for rows
  another transaction holds.
- ``per_dialect``: a statement whose SQL differs by dialect (``INSERT ... ON
  CONFLICT``, which is not standard SQL: SQLAlchemy has it in each dialect's
  ``insert``), built once per process for PostgreSQL and SQLite, picked per
  session with ``for_session``; ``insert_for`` when the statement is built
  per call.
"""

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from .sessions import TM_INFO_KEY, mark_session_changed

#: Rows deleted per purge, at most: a purge runs on a request's path.
PURGE_BATCH = 100

#: Each dialect's ``insert``, with ``on_conflict_do_nothing``/``on_conflict_do_update``.
INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def purge_expired(dbsession, table, key, expiry, cutoff, batch=PURGE_BATCH):
    """Delete up to ``batch`` rows of ``table`` whose ``expiry`` is at or before ``cutoff``.

    ``key`` identifies a row. Rows another transaction holds are left for a
    later purge (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: never wait for, or
    deadlock with, another request's purge or write; SQLite runs one writer at
    a time anyway). A session of a transaction manager is marked changed when
    rows went (a bulk delete is no unit-of-work flush); any other session
    commits itself. The number of rows deleted.
    """
    expired = (
        select(key)
        .where(expiry <= cutoff)
        .order_by(key)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    result = dbsession.execute(
        delete(table).where(key.in_(expired.scalar_subquery())),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount and TM_INFO_KEY in dbsession.info:
        mark_session_changed(dbsession)
    return result.rowcount


def per_dialect(build):
    """``{dialect name: build(that dialect's insert)}``, built now (once per process)."""
    return {name: build(insert) for name, insert in INSERTS.items()}


def insert_for(dbsession, table):
    """``table``'s INSERT in the dialect of ``dbsession``'s database (for ``on_conflict_*``)."""
    return INSERTS[dbsession.get_bind().dialect.name](table)


def for_session(statements, dbsession):
    """The entry of ``statements`` (from ``per_dialect``, or any dict keyed by dialect name)
    for ``dbsession``'s database."""
    return statements[dbsession.get_bind().dialect.name]
