"""One engine factory (myapp.db.engines): every engine gets every policy, whatever the include order."""

import pytest
import sqlalchemy as sa


def test_behind_pgbouncer_every_engine_prepares_nothing_readiness_included(make_app, backend):
    """PgBouncer in transaction mode loses prepared statements between transactions:
    no engine of the app may prepare any, readiness' own included."""
    if backend != "postgresql":
        pytest.skip("PgBouncer is in front of PostgreSQL")
    app = make_app(**{"myapp.db_behind_pgbouncer": "true"})
    engines = list(app.registry["engines"])
    assert len(engines) == 2, "the primary and readiness' own (no replicas here)"
    for engine in engines:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            assert connection.connection.dbapi_connection.prepare_threshold is None, engine


def test_the_engines_are_kept_in_one_place(app):
    engines = app.registry["engines"]
    assert app.registry["dbsession_factory"].kw["bind"] is engines.primary
    assert list(engines) == [engines.primary, *engines.replicas.values(), engines.health]
