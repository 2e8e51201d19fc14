"""One engine factory (myapp.db.engines): every engine gets every policy, whatever the include order."""

import pytest
import sqlalchemy as sa


def test_behind_pgbouncer_every_engine_prepares_nothing(make_app, backend, database_url):
    """PgBouncer in transaction mode loses prepared statements between transactions:
    no engine of the app may prepare any, replicas' included (before the one
    factory, readiness' own engine did)."""
    if backend != "postgresql":
        pytest.skip("PgBouncer is in front of PostgreSQL")
    # The database itself as a "replica": enough to open its engine's connections.
    app = make_app(**{"myapp.db_behind_pgbouncer": "true", "myapp.replica_urls": database_url})
    engines = list(app.registry["engines"])
    assert len(engines) == 2, "the primary and the replica"
    for engine in engines:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            assert connection.connection.dbapi_connection.prepare_threshold is None, engine


def test_the_engines_are_kept_in_one_place(app):
    engines = app.registry["engines"]
    assert app.registry["dbsession_factory"].kw["bind"] is engines.primary
    assert list(engines) == [engines.primary, *engines.replicas.values()]
