"""The bare baselines: framework-free WSGI, psycopg 3, orjson, one SQL statement.

What a hand-written server costs for the anonymous reads a (a page of
articles), d (one article), e (an article's comments) and f (tags): no
framework, no ORM, no transaction (autocommit), one statement whose result is
already shaped (timestamps formatted, tags aggregated, the total counted by a
window function), then orjson. The bench checks that each answer is byte for
byte what myapp answers before it measures anything.

Served as ``gunicorn bench.bare:app`` with ``BENCH_DSN`` naming the database
(a libpq URL). One connection per worker thread. The answers are shaped by
functions of an ``execute(sql, params) -> rows`` callable, which the design
floor (``bench.floor``) calls with its own Session's connection.
"""

import os
import threading
import urllib.parse

import orjson
import psycopg

ISO = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""

ARTICLE_COLUMNS = f"""
    a.slug, a.title, a.description,
    coalesce((SELECT array_agg(t.name ORDER BY t.name) FROM article_tags t
              WHERE t.article_id = a.id), '{{}}'),
    {ISO.format('a.created_at')}, {ISO.format('a.updated_at')},
    (SELECT count(*) FROM favorites f WHERE f.article_id = a.id),
    u.username, u.bio, u.image"""

# The page first, then its columns: the correlated subqueries (tags, favorites)
# run for the page's rows only, and the total is counted apart (a window
# count over the join would compute every article's columns). An empty page
# is one row of NULLs carrying the total.
PAGE = f"""SELECT {ARTICLE_COLUMNS}, t.total
    FROM (SELECT count(*) AS total FROM articles) t
    LEFT JOIN LATERAL (SELECT * FROM articles ORDER BY created_at DESC, id DESC
                       LIMIT %s OFFSET %s) a ON true
    LEFT JOIN users u ON u.id = a.author_id
    ORDER BY a.created_at DESC, a.id DESC"""

ONE = f"""SELECT {ARTICLE_COLUMNS}, a.body
    FROM articles a JOIN users u ON u.id = a.author_id WHERE a.slug = %s"""

COMMENTS = f"""SELECT c.id, {ISO.format('c.created_at')}, {ISO.format('c.updated_at')}, c.body,
    u.username, u.bio, u.image
    FROM articles a LEFT JOIN comments c ON c.article_id = a.id
    LEFT JOIN users u ON u.id = c.author_id
    WHERE a.slug = %s ORDER BY c.created_at, c.id"""

TAGS = "SELECT name FROM article_tags GROUP BY name ORDER BY count(*) DESC, name"

_local = threading.local()


def _execute(sql, params=None):
    connection = getattr(_local, "connection", None)
    if connection is None or connection.closed:
        connection = _local.connection = psycopg.connect(os.environ["BENCH_DSN"], autocommit=True)
    return connection.execute(sql, params).fetchall()


def _article(row):
    return {
        "slug": row[0],
        "title": row[1],
        "description": row[2],
        "tagList": row[3],
        "createdAt": row[4],
        "updatedAt": row[5],
        "favorited": False,
        "favoritesCount": row[6],
        "author": {"username": row[7], "bio": row[8], "image": row[9], "following": False},
    }


def page(execute, query):
    params = urllib.parse.parse_qs(query)
    limit = int(params.get("limit", ["20"])[-1])
    offset = int(params.get("offset", ["0"])[-1])
    rows = execute(PAGE, (limit, offset))
    return 200, {"articles": [_article(row) for row in rows if row[0] is not None], "articlesCount": rows[0][10]}


def one_article(execute, slug):
    rows = execute(ONE, (slug,))
    if not rows:
        return 404, {"errors": {"article": ["not found"]}}
    article = _article(rows[0])
    article["body"] = rows[0][10]
    return 200, {"article": article}


def comments(execute, slug):
    rows = execute(COMMENTS, (slug,))
    if not rows:
        return 404, {"errors": {"article": ["not found"]}}
    return 200, {
        "comments": [
            {
                "id": row[0],
                "createdAt": row[1],
                "updatedAt": row[2],
                "body": row[3],
                "author": {"username": row[4], "bio": row[5], "image": row[6], "following": False},
            }
            for row in rows
            if row[0] is not None
        ]
    }


def tags(execute):
    return 200, {"tags": [row[0] for row in execute(TAGS)]}


def route(execute, method, path, query):
    if method != "GET":
        return 405, {"errors": {"method": ["not allowed"]}}
    if path == "/api/articles":
        return page(execute, query)
    if path == "/api/tags":
        return tags(execute)
    parts = path.split("/")  # "", "api", "articles", slug[, "comments"]
    if len(parts) in (4, 5) and parts[:3] == ["", "api", "articles"]:
        slug = urllib.parse.unquote(parts[3])
        if len(parts) == 4:
            return one_article(execute, slug)
        if parts[4] == "comments":
            return comments(execute, slug)
    return 404, {"errors": {"path": ["not found"]}}


STATUS = {200: "200 OK", 404: "404 Not Found", 405: "405 Method Not Allowed"}


def app(environ, start_response):
    status, answer = route(
        _execute, environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", "")
    )
    body = orjson.dumps(answer)
    start_response(
        STATUS[status],
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
