"""Back-pressure: a saturated process answers 503 at once instead of queueing.

Each server process (gunicorn worker) has ``threads`` threads and a pool of
``pool_size + max_overflow`` database connections. Admission control lets at
most ``myapp.max_busy_requests`` requests into the application at a time; the
next ones are answered at once with JSON 503 and ``Retry-After``. Setting it
below the thread count keeps spare threads that are never all stuck on the
database, so liveness checks and those quick 503s are always served, and the
server's own queue (requests waiting for a thread) drains in microseconds.

Among the admitted requests, those waiting for a pool connection wait at most
``sqlalchemy.pool_timeout`` (503 after that), and every database wait has its
own budget (myapp.db.budgets), so a busy thread is busy for a bounded time.

Liveness (``/api/health/live``) and ``/metrics`` are never refused
(``myapp.edge.ALWAYS_ADMITTED``): they must keep answering under any load.
Without the setting (development) nothing is refused.
"""

import threading

from .edge import ALWAYS_ADMITTED
from .edge.errors import error_response

#: Seconds a refused client should wait, as for a database that is unavailable.
RETRY_AFTER = "1"


def admission_tween_factory(handler, registry):
    limit = registry.settings.get("myapp.max_busy_requests")
    if not limit:
        return handler
    # Acquired without blocking: a request either gets in at once or is refused.
    admission = threading.BoundedSemaphore(int(limit))

    def admission_tween(request):
        if request.environ.get("PATH_INFO") in ALWAYS_ADMITTED:
            return handler(request)
        if not admission.acquire(blocking=False):
            return error_response(503, "server", "busy", {"Retry-After": RETRY_AFTER})
        try:
            return handler(request)
        finally:
            admission.release()

    return admission_tween

