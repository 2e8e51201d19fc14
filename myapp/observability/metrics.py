"""Prometheus metrics, correct with several worker processes, and where to read them.

With several processes (gunicorn workers) each keeps its own counters; set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder, the same for every worker
of a host, before they start: prometheus_client then keeps the values in
files there and ``GET /metrics`` adds up every worker's. Without it (one
process, e.g. pserve with waitress) the values live in memory.

Label values come from closed sets only (route names, status classes,
outcomes, configured databases), so the number of series is bounded whatever
the clients send.

``GET /metrics`` answers only clients whose address (``request.client_address``:
behind a trusted proxy, the proxy's client) is in
``myapp.metrics_allowed_networks`` (loopback by default); anyone else gets the
404 of an unknown path.
"""

import functools
import ipaddress
import os
import threading

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from sqlalchemy import event


REQUEST_SECONDS = Histogram(
    "myapp_http_request_duration_seconds",
    "Time from receiving a request to having its response, replays included.",
    ["route", "status_class"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TRANSACTIONS = Counter(
    "myapp_db_transactions_total",
    "Requests by transaction outcome and the database that served them.",
    ["outcome", "database"],
)
RETRIES = Counter("myapp_request_retries_total", "Requests replayed after a transient error.")
POOL_CHECKED_OUT = Gauge(
    "myapp_db_pool_checked_out",
    "Connections checked out of the pool, summed over live workers.",
    ["database"],
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "myapp_db_pool_overflow",
    "Connections open beyond pool_size (max_overflow), summed over live workers.",
    ["database"],
    multiprocess_mode="livesum",
)
REPLICA_LAG = Gauge(
    "myapp_replica_lag_seconds",
    "Replication lag of each replica at its last health check (-1: unreachable).",
    ["replica"],
    multiprocess_mode="livemax",
)
REPLICA_FALLBACKS = Counter(
    "myapp_replica_fallbacks_total",
    "Reads a replica could not serve, by replica and reason (down, lagging, behind_client).",
    ["replica", "reason"],
)
ADMISSION_WAIT = Histogram(
    "myapp_admission_wait_seconds",
    "Time a request waited for a slot (myapp.edge.admission), refused ones included.",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
ADMISSION_REFUSED = Counter(
    "myapp_admission_refused_total",
    "Requests refused with 503 busy, by reason: full (the queue), late (could not get a slot "
    "in time at the current pace), timeout (waited queue_timeout).",
    ["reason"],
)
DATABASE_AVAILABLE = Gauge(
    "myapp_database_available",
    "1 when this worker's last use of the database worked, 0 when it answered 503 "
    "database unavailable; the lowest over live workers.",
    multiprocess_mode="livemin",
)
#: This process's last-seen database state: None (not used yet), True or False.
_database_state = {"available": None}


def note_database(available):
    """Record what the last request saw of the database (readiness reports it, never waits)."""
    if _database_state["available"] is not available:
        _database_state["available"] = available
        DATABASE_AVAILABLE.set(int(available))


def database_available():
    return _database_state["available"]

#: The four classes a status can fall in; anything else would be a bug.
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


def status_class(status):
    return STATUS_CLASSES.get(status // 100, "5xx")


@functools.lru_cache(maxsize=4096)
def request_series(route, status, outcome, database):
    """The latency histogram and the transaction counter of one kind of request.

    Cached: ``labels()`` takes a lock and builds a key on every call, which
    the hot path need not pay. The arguments come from closed sets, so the
    cache never fills.
    """
    return (
        REQUEST_SECONDS.labels(route, status_class(status)),
        TRANSACTIONS.labels(outcome, database),
    )


def watch_pool(engine, database):
    """Keep the pool gauges of ``engine`` current, under the label ``database``."""
    pool = engine.pool
    checked_out = POOL_CHECKED_OUT.labels(database)
    overflow = POOL_OVERFLOW.labels(database)

    has_overflow = hasattr(pool, "overflow")
    # The values last written: in multiprocess mode each write takes a lock and
    # writes a file, and the overflow rarely moves, so only a change is written.
    # Under one lock, so the last update reads the pool last and what was written
    # is what the gauges hold.
    written = {}
    lock = threading.Lock()

    def write(gauge, value):
        if written.get(gauge) != value:
            written[gauge] = value
            gauge.set(value)

    def update(returning):
        with lock:
            # "checkin" comes before the pool takes the connection back: it is
            # still counted, and a QueuePool whose queue is full will close it
            # (one overflow connection less).
            write(checked_out, pool.checkedout() - returning)
            if has_overflow:
                closing = returning and pool.checkedin() >= pool.size()
                # QueuePool counts overflow from -pool_size; only connections beyond it matter.
                write(overflow, max(0, pool.overflow() - closing))
            else:
                write(overflow, 0)

    event.listen(engine, "checkout", lambda *args: update(0))
    event.listen(engine, "checkin", lambda *args: update(1))


def exposition():
    """Every metric in the text format: all workers' when in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry)


def metrics_view(request):
    networks = request.registry.app_settings.metrics_allowed_networks
    try:
        address = ipaddress.ip_address(request.client_address or "")
    except ValueError:
        address = None
    if address is None or not any(address in network for network in networks):
        # Refused as an unknown path, so there is nothing to discover. Pyramid's
        # own HTTPNotFound, which the edge's exception view renders exactly as
        # it renders a path no route matches: this module needs nothing from
        # myapp.edge (a layer above it, which imports it), and no second copy
        # of the error envelope or of the 404's wording lives here.
        raise HTTPNotFound()
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST.split(";")[0], charset="utf-8")


def includeme(config):
    config.add_route("metrics", "/metrics")
    config.add_view(metrics_view, route_name="metrics", request_method="GET")
