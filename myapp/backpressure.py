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
own budget (myapp.db_timeouts), so a busy thread is busy for a bounded time.

Liveness (``/api/health/live``) is never refused: it must keep answering
under any load. Without the setting (development) nothing is refused.
"""

import threading

from .errors import error_response

#: Paths admission control never refuses.
ALWAYS_ADMITTED = frozenset({"/api/health/live"})


class Admission:
    """A non-blocking counter of the requests inside the application."""

    def __init__(self, limit):
        self.limit = limit
        self.busy = 0
        self._lock = threading.Lock()

    def enter(self):
        with self._lock:
            if self.busy >= self.limit:
                return False
            self.busy += 1
            return True

    def leave(self):
        with self._lock:
            self.busy -= 1


def admission_tween_factory(handler, registry):
    limit = registry.settings.get("myapp.max_busy_requests")
    if not limit:
        return handler
    admission = Admission(int(limit))
    retry_after = str(registry.settings.get("myapp.busy_retry_after", 1))

    def admission_tween(request):
        if request.environ.get("PATH_INFO") in ALWAYS_ADMITTED:
            return handler(request)
        if not admission.enter():
            return error_response(503, "server", "busy", {"Retry-After": retry_after})
        try:
            return handler(request)
        finally:
            admission.leave()

    return admission_tween


def includeme(config):
    config.add_tween("myapp.backpressure.admission_tween_factory", over="pyramid_tm.tm_tween_factory")
