"""Production's HTTP server: gunicorn, two processes per core, threads in each.

``production.ini`` runs it through gunicorn's paste runner
(``[server:main] use = egg:gunicorn#main``, ``config = python:myapp.server``),
so ``pserve production.ini`` stays the command. This module is that config:
gunicorn reads the module-level names below that are gunicorn settings, and
any line of ``[server:main]`` overrides them.

Why gthread workers: the application waits on the database most of the
time. A sync worker serves one request per process, so one slow database
wait would block its process and liveness with it; gthread serves
``threads`` requests per process, and keeping more threads than database
connections leaves threads that are never stuck on the database
(myapp.edge.admission).

The worker class adds what gunicorn has no setting for (checked
against gunicorn 27):
- no ``Server: gunicorn`` header (the product is nobody's business);
- the errors gunicorn answers itself before the application sees a request
  (a request line over ``limit_request_line``: 414; too many or too large
  header fields: 431; a malformed request: 400) are JSON in the API's shape,
  not HTML;
- after the fork, each worker forgets any pool connection inherited from the
  process that loaded the app (pserve loads it before gunicorn forks), so no
  connection is ever shared by two processes, and starts its own replica
  checks (myapp.db.process_started), then opens one connection of its own
  before it accepts requests (warm-up, myapp.health);
- a worker told to stop (TERM: a reload or a shutdown) answers readiness with
  503 draining while it finishes its requests;
- each worker sets the GIL's switch interval (``myapp.switch_interval``);
- the ``Date`` header is formatted once a second, not for every response;
- gunicorn writes an access log only when ``accesslog`` asks for one
  (``Logger``): the access log is myapp's (myapp.observability.access);
- each worker, once loaded and warmed up, collects start-up's garbage and
  freezes the rest (``gc.freeze``, ``myapp.gc_freeze``) and sets the
  collector's thresholds (``myapp.gc_threshold``), then logs both. Measured
  under ``wrk -c16`` (bench/README.md, "Tail latency"): a full collection
  scanned about 120,000 objects from start-up, 65 ms of CPU with the GIL
  held, every thread of the worker stopped; frozen, it scans what requests
  left (about 11 ms).

Also measured and not kept: spreading kept-alive connections evenly over the
workers (a worker holding more connections than another leaving a new one
to it): without it wrk's 16 connections landed 8/8/0/0 or 11/4/1/0 on the
four workers, but evening them out gave no better p99 at -c16 on 2 cores
(bench/README.md).
"""

import email.utils
import gc
import logging
import os
import sys
import time

import orjson
from gunicorn import glogging as gunicorn_logging
from gunicorn import util as gunicorn_util
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

from .db import process_started
from .edge.errors import error_body
from .health import DRAINING, warm_up
from .settings import get_app_settings

LOG = logging.getLogger(__name__)

#: Worker processes per core. Two, measured (bench/README.md, "Workers and requests
#: in flight"): with the same number of requests inside the application per host, two
#: processes per core each running half as many threads at once fight less for their
#: GIL, which showed as a shorter p99 and more throughput than one process per core.
WORKERS_PER_CORE = 2


def default_workers():
    """WEB_CONCURRENCY (gunicorn's own variable) when set, else WORKERS_PER_CORE per core."""
    return int(os.environ.get("WEB_CONCURRENCY") or WORKERS_PER_CORE * len(os.sched_getaffinity(0)))


#: A ``workers =`` line in [server:main] overrides it.
workers = default_workers()
worker_class = "myapp.server.ThreadWorker"
logger_class = "myapp.server.Logger"
#: gunicorn 25.1+ opens a control socket at one fixed path per user
#: (~/.gunicorn/gunicorn.ctl): two servers on one host would fight over it.
control_socket_disable = True


def child_exit(server, worker):
    """gunicorn hook: an exited worker's live gauges leave /metrics (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


class Logger(gunicorn_logging.Logger):
    """gunicorn's logger, whose access log is on only when ``accesslog`` names one.

    gunicorn also turns it on whenever a logging configuration is given, and
    pserve gives it the ini's. Then every response built a Common Log Format
    line for the ``gunicorn.access`` logger, which has no handler there: about
    6 % of a worker's time under ``wrk -c16`` (bench/README.md), for nothing.
    The access log is myapp's JSON line (myapp.observability.access).
    """

    @property
    def access_log_enabled(self):
        return bool(self.cfg.accesslog)

    def access(self, resp, req, environ, request_time):
        if self.access_log_enabled:
            super().access(resp, req, environ, request_time)


class HttpDate:
    """gunicorn's ``util.http_date``, formatted once a second (it is on every response)."""

    def __init__(self):
        self._cached = (None, "")  # (whole second, its HTTP-date); replaced whole, never mutated

    def __call__(self, timestamp=None):
        if timestamp is not None:
            return email.utils.formatdate(timestamp, usegmt=True)
        second = int(time.time())
        cached = self._cached
        if cached[0] != second:
            cached = self._cached = (second, email.utils.formatdate(second, usegmt=True))
        return cached[1]


class AnonymousResponse(gunicorn_wsgi.Response):
    """gunicorn's response without its ``Server`` header."""

    def default_headers(self):
        return [line for line in super().default_headers() if not line.startswith("Server:")]


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn's ``util.write_error`` (same arguments), answering JSON."""
    body = orjson.dumps(error_body({"request": [reason.lower()]}))
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


class ThreadWorker(GunicornThreadWorker):
    def init_process(self):
        # In the worker process only. gunicorn looks these names up at call time.
        gunicorn_wsgi.Response = AnonymousResponse
        gunicorn_util.write_error = write_json_error
        gunicorn_util.http_date = HttpDate()
        super().init_process()

    def load_wsgi(self):
        super().load_wsgi()
        # Process-wide, so here rather than in the application: how long a busy
        # thread keeps the GIL from a thread whose database answer has come
        # (myapp.switch_interval; production.ini says what was measured).
        settings = get_app_settings(self.wsgi.registry)
        sys.setswitchinterval(settings.switch_interval)
        process_started(self.wsgi.registry)
        warm_up(self.wsgi.registry)  # before the worker accepts its first connection
        gc.set_threshold(*settings.gc_threshold)
        if settings.gc_freeze:
            # Start-up's objects (the app, its modules, SQLAlchemy's and Pyramid's
            # tables: about 130,000) never become garbage; a full collection would
            # scan them all with the GIL held, 65 ms of CPU and more of wall time
            # on a busy host, stopping every thread of the worker. Frozen, they are
            # never scanned again (nor written to: their pages stay shared with the
            # arbiter). What start-up left as garbage is collected first.
            gc.collect()
            gc.freeze()
        LOG.info(
            "worker %s: %d objects frozen (gc.freeze), gc thresholds %s",
            os.getpid(), gc.get_freeze_count(), " ".join(map(str, gc.get_threshold())),
        )

    def handle_exit(self, sig, frame):
        # TERM: gunicorn's graceful stop (a reload or a shutdown); readiness says so.
        DRAINING.set()
        super().handle_exit(sig, frame)
