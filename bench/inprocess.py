"""This tree's application loaded in-process as ``pserve production.ini`` loads it.

``make profile`` and ``make cpu`` share it: a private PostgreSQL cluster, a
fresh database migrated and seeded through a real ``pserve production.ini``
(the bench's own data set), then the application built in this process from
production.ini with its settings and logging (the access log formatted and
written to /dev/null: paid as in production, not printed) and metrics in
multiprocess mode, as gunicorn's workers keep them.

The requests are WebOb environs called on the WSGI callable one after
another, as one gunicorn thread calls it.
"""

import contextlib
import os
import sys
import tempfile
import uuid

from tests.live.cluster import PostgresCluster

from .scenarios import COMMENT
from .seed import seed
from .targets import ROOT, AppTarget


@contextlib.contextmanager
def production_app(size, name):
    """``(app, seeded, database_url)``: this tree's app on a seeded private database."""
    settings = {"max_connections": "100"}
    metrics = tempfile.TemporaryDirectory(prefix=f"bench-{name}-metrics-")
    with PostgresCluster(name=name, settings=settings) as cluster:
        url = cluster.create_database(f"{name}_{uuid.uuid4().hex[:8]}")
        server = AppTarget("this tree", ROOT, "pserve")
        try:
            server.start(url, workers=1)
            print(f"[{name}] seed ({size}) through pserve production.ini", file=sys.stderr)
            seeded = seed(server.server.base, size)
        finally:
            server.stop()
        os.environ.update(server.environ(url, None))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics.name
        from pyramid.paster import get_app, setup_logging

        ini = str(ROOT / "production.ini")
        devnull = open(os.devnull, "w")
        saved_stderr, sys.stderr = sys.stderr, devnull
        try:
            setup_logging(ini)  # its StreamHandlers bind the stderr of this moment: /dev/null
        finally:
            sys.stderr = saved_stderr
        try:
            yield get_app(ini), seeded, url
        finally:
            devnull.close()
    metrics.cleanup()


def environs(scenario, seeded, count):
    """``count`` WSGI environs of ``scenario``, as its wrk script sends them."""
    from webob import Request

    paths = scenario.paths(seeded)
    headers = {"Host": "127.0.0.1:6543"}
    if scenario.signed_in:
        headers["Authorization"] = f"Token {seeded.tokens[0]}"
    made = []
    for n in range(count):
        if scenario.method == "TOGGLE":
            method = ("POST", "DELETE")[n % 2]
            request = Request.blank(paths[(n // 2) % len(paths)], method=method, headers=headers)
            if method == "POST":
                request.content_type = "application/json"
        elif scenario.method == "POST":
            request = Request.blank(paths[n % len(paths)], method="POST", headers=headers,
                                    body=COMMENT.encode())
            request.content_type = "application/json"
        else:
            request = Request.blank(paths[n % len(paths)], headers=headers)
        request.environ["REMOTE_ADDR"] = "127.0.0.1"
        made.append(request.environ)
    return made


def call_all(app, batch):
    """Call ``app`` on every environ of ``batch``, reading each body; ``{status: count}``."""
    statuses = {}

    def start_response(status, headers, exc_info=None):
        statuses[status] = statuses.get(status, 0) + 1

    for environ in batch:
        body = app(environ, start_response)
        for _ in body:
            pass
        if hasattr(body, "close"):
            body.close()
    return statuses
