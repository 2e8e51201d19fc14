"""The design floor: the price of this project's design and nothing else.

A minimal Pyramid app with what the design keeps: pyramid_tm around every
request (commit, or abort on an error), zope.sqlalchemy joining the request's
brand-new SQLAlchemy Session to that transaction, and the Session's pooled
connection (the pool sized as production.ini sizes it). Nothing else: no
tweens of its own, no renderer, no settings, no logging, no metrics.

Each view runs the bare baseline's statement (``bench.bare``: one statement
per request, as this tree sends) on the Session's connection and shapes the
rows with the bare baseline's own functions, so the answers are byte for
byte the bare baseline's and this tree's (the bench checks it before it
measures). So bare -> floor is the design's price (a framework, a Session,
a transaction: BEGIN and its end on a pooled connection), and floor -> this
tree is everything this tree adds on top.

A transaction that wrote nothing ends with COMMIT (the issue's "BEGIN/COMMIT"),
as this tree's reads do (myapp.db.replication): zope.sqlalchemy would close the
unchanged Session with a ROLLBACK, on which psycopg drops the connection's
prepared statements, and PostgreSQL would plan the statement on every request.

zope.sqlalchemy's listeners are attached once to the session factory, with
pyramid_tm's default (thread-local) transaction manager: the cheap way to
give each request a Session of its own, as this tree does too
(myapp/db/sessions.py).

Served as ``gunicorn bench.floor:app`` with ``BENCH_DSN`` naming the database.
"""

import os

import orjson
import psycopg
import zope.sqlalchemy
from pyramid.config import Configurator
from pyramid.response import Response
from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker

from . import bare

#: production.ini's pool, per worker process.
POOL_SIZE = 6
MAX_OVERFLOW = 2


def _dbsession(request):
    # A new Session; zope.sqlalchemy closes it when the transaction ends.
    return request.registry["session_factory"]()


def _answer(request, status, answer):
    return Response(body=orjson.dumps(answer), status=bare.STATUS[status], content_type="application/json")


def _execute(request):
    connection = request.dbsession.connection()
    return lambda sql, params=None: connection.exec_driver_sql(sql, params).all()


def page(request):
    return _answer(request, *bare.page(_execute(request), request.query_string))


def one_article(request):
    return _answer(request, *bare.one_article(_execute(request), request.matchdict["slug"]))


def comments(request):
    return _answer(request, *bare.comments(_execute(request), request.matchdict["slug"]))


def tags(request):
    return _answer(request, *bare.tags(_execute(request)))


def _commit_instead(connection):
    # The ROLLBACK that follows finds no transaction and sends nothing.
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
        dbapi_connection.commit()


def make_app(dsn):
    engine = create_engine(
        dsn.replace("postgresql://", "postgresql+psycopg://", 1),
        pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_pre_ping=False,
    )
    event.listen(engine, "rollback", _commit_instead)
    session_factory = sessionmaker(bind=engine)
    zope.sqlalchemy.register(session_factory)
    with Configurator() as config:
        config.include("pyramid_tm")
        config.registry["session_factory"] = session_factory
        config.add_request_method(_dbsession, "dbsession", reify=True)
        for name, pattern, view in (
            ("tags", "/api/tags", tags),
            ("articles", "/api/articles", page),
            ("article", "/api/articles/{slug}", one_article),
            ("comments", "/api/articles/{slug}/comments", comments),
        ):
            config.add_route(name, pattern, request_method="GET")
            config.add_view(view, route_name=name)
        return config.make_wsgi_app()


app = make_app(os.environ["BENCH_DSN"]) if "BENCH_DSN" in os.environ else None
