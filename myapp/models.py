"""The declarative base and its metadata; every table of the application hangs off it.

The naming convention gives constraints stable names, so that Alembic
migrations can refer to them on SQLite and PostgreSQL alike.
"""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def import_all_models():
    """Import every module that defines tables, so ``Base.metadata`` is complete."""
    return Base.metadata
