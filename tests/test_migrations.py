"""The Alembic migrations and the models describe the same schema."""

import alembic.command
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
