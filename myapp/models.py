"""The declarative base, shared column types, and the list of model modules.

The naming convention gives constraints stable names, so that Alembic
migrations can refer to them on SQLite and PostgreSQL alike.
"""

import datetime
import importlib

from sqlalchemy import DateTime, MetaData, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Integer primary keys are 32-bit; no row has a larger id, and a larger
#: number sent to the database makes it raise instead of finding nothing.
MAX_ID = 2**31 - 1

#: Every module that defines tables, for Alembic and the tests.
MODEL_MODULES = (
    "myapp.auth.models", "myapp.users.models", "myapp.articles.models", "myapp.comments.models",
    "myapp.edge.idempotency.models",
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso_utc(moment):
    """ISO 8601 in UTC with milliseconds and ``Z``: ``2024-05-01T12:00:00.123Z``.

    SQLite hands back naive datetimes; they were stored in UTC. PostgreSQL's
    are aware, in the connection's time zone, UTC unless a role or server
    says otherwise: then they are converted (a list formats 40 of them per
    page, so the usual case skips the conversion). The milliseconds are
    truncated, not rounded (``isoformat``'s rule).
    """
    if moment.tzinfo is None:
        return moment.isoformat(timespec="milliseconds") + "Z"
    if moment.utcoffset():
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"  # without "+00:00"


class iso_utc_text(FunctionElement):  # noqa: N801 (an SQL function, named as one)
    """``iso_utc`` of a timestamp column, in the statement: the database answers the text.

    The hot reads format their timestamps this way: PostgreSQL's ``to_char``
    costs a fraction of a microsecond a value, ``iso_utc`` in Python a
    microsecond or more, and a page of articles has 40 of them. The same
    text, milliseconds truncated: PostgreSQL's ``MS`` truncates; SQLite's
    stored text (SQLAlchemy's ``YYYY-MM-DD HH:MM:SS.ffffff``, in UTC) is
    cut, because its ``strftime('%f')`` would round.
    """

    type = String()
    name = "iso_utc_text"
    inherit_cache = True


@compiles(iso_utc_text, "postgresql")
def _iso_utc_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


@compiles(iso_utc_text, "sqlite")
def _iso_utc_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    # A value stored without a fraction would still read .000.
    return f"substr({column}, 1, 10) || 'T' || substr({column} || '.000', 12, 12) || 'Z'"


class Timestamped:
    """``created_at`` and ``updated_at``, set by the application in UTC."""

    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def import_all_models():
    """Import every model module, so ``Base.metadata`` is complete; return it."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
