"""Alembic environment: the application's own engine and metadata.

The database URL comes from the ``[app:main]`` section of the ini file given
with ``-c`` (``env:NAME`` values resolved as the application does). Tests pass
an open connection in ``config.attributes["connection"]`` instead.
"""

from alembic import context
from pyramid.paster import get_appsettings, setup_logging

from myapp.db import get_engine
from myapp.models import import_all_models
from myapp.settings import resolve_settings

config = context.config
target_metadata = import_all_models()


def run_migrations(connection):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # A connection handed over inside a transaction (the tests) keeps it; otherwise
        # each revision commits on its own, so that a revision may run long online
        # work in batches of its own transactions (the counters' backfill).
        transaction_per_migration=not connection.in_transaction(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    if config.attributes.get("configure_logger", True):
        setup_logging(config.config_file_name)
    settings = resolve_settings(get_appsettings(config.config_file_name))
    engine = get_engine(settings)
    try:
        with engine.connect() as connection:
            run_migrations(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
