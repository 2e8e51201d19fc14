"""Admission: a bounded queue with a bounded wait, refusing only what cannot be served in time.

Each server process (gunicorn worker) lets at most ``myapp.max_busy_requests``
requests into the application at once: no more than its pool has database
connections (``pool_size + max_overflow``), so an admitted request does not
wait for a connection. A request that finds every slot taken waits for one,
first come first served, in a queue of at most ``myapp.max_queued_requests``;
it is refused with the JSON 503 ``{"errors": {"server": ["busy"]}}`` and
``Retry-After`` only when

- the queue is full, or
- it has waited ``myapp.queue_timeout`` seconds (its share of the request's
  time budget: queue wait + database time stay under 10 s), or
- waiting longer cannot get it a slot in time: no slot has changed hands for
  a quarter of the timeout, and at the pace the slots' requests are going
  (the longer of the recent service time and their age), the requests ahead
  of it would still hold every slot at its deadline. A locked or frozen
  database, where every admitted request is stuck, sheds the queue within a
  fraction of its timeout; a healthy burst, where slots change hands every
  few milliseconds however busy the machine, is served in full.

Why this design (docs/operations.md, "Admission"): a healthy burst is a queue
that drains, and turning it away is the error issue 16 measured; a sick
database is a queue that does not drain, and waiting on it only makes clients
wait for the same 503. Among the known designs:
- CoDel (as Facebook applies it to server queues) bounds the *standing* queue
  by the time requests spent in it, and adaptive LIFO serves the newest first
  under overload. Both assume clients give up and retry quickly; behind a
  buffering proxy every queued request still has a client waiting, so we keep
  FIFO (fair, p99 bounded by the queue timeout) and bound each request's wait
  by its own deadline, which is CoDel's sojourn-time bound per request.
- Adaptive concurrency limits (Netflix's concurrency-limits, Envoy) tune the
  number of slots to the measured latency. Here the slots are bounded by a
  hard resource, the pool's connections, so they would only ever lower it;
  the prediction above uses the same measured latency to shed early instead.
- Google's SRE book: shed at the server what cannot be served within its
  deadline, answer the rest cheaply, and keep health checks out of it.

Liveness, readiness and ``/metrics`` are never queued nor refused
(``myapp.edge.ALWAYS_ADMITTED``): they touch no shared resource and must
answer under any load. The threads: a request
waiting in the queue holds a gthread thread (asleep on an Event), so the
worker has ``threads >= max_busy_requests + max_queued_requests`` + a few
spare (production.ini); behind nginx, which hands over whole requests,
threads never wait on slow clients, only on slots and on the database.
Without ``myapp.max_busy_requests`` (development) nothing is queued nor refused.
"""

import collections
import threading
import time

from ..observability import metrics
from ..settings import get_app_settings
from . import ALWAYS_ADMITTED
from .errors import error_response

#: Seconds a refused client should wait, as for a database that is unavailable.
RETRY_AFTER = "1"
#: How often a queued request looks again at whether it can still be served in time
#: (rarely enough that hundreds of sleeping waiters cost little).
RECHECK_SECONDS = 0.1
#: Weight of the latest service time in the moving average.
SMOOTHING = 0.2
#: The slots are stalled when none changed hands for this share of the queue timeout.
STALLED = 0.25


class Waiter:
    __slots__ = ("event", "token", "ticket")

    def __init__(self, ticket):
        self.event = threading.Event()
        self.token = None  # its slot, once handed over
        self.ticket = ticket  # its number in the order of arrival in the queue


class AdmissionQueue:
    """``slots`` requests at once; up to ``max_queued`` wait at most ``timeout`` s for one."""

    def __init__(self, slots, max_queued, timeout, clock=time.monotonic):
        self.slots = slots
        self.max_queued = max_queued
        self.timeout = timeout
        self.clock = clock
        self.lock = threading.Lock()
        self.holders = {}  # token -> when it took its slot
        self.waiting = collections.deque()
        self.tickets = 0  # waiters queued so far
        self.gone = 0  # waiters that left the queue so far (admitted or refused)
        self.service_seconds = 0.0  # moving average of the time a request holds a slot

    def enter(self):
        """``(token, None)`` for a slot, after waiting if need be; ``(None, reason)`` when
        refused: ``full`` (the queue), ``late`` (could not get a slot in time), ``timeout``."""
        arrived = self.clock()
        deadline = arrived + self.timeout
        with self.lock:
            if len(self.holders) < self.slots and not self.waiting:
                return self._take(arrived), None
            if len(self.waiting) >= self.max_queued:
                return None, "full"
            if not self._in_time(len(self.waiting) + 1, arrived, deadline):
                return None, "late"
            self.tickets += 1
            waiter = Waiter(self.tickets)
            self.waiting.append(waiter)
        while True:
            waiter.event.wait(max(0.0, min(RECHECK_SECONDS, deadline - self.clock())))
            with self.lock:
                if waiter.token is not None:
                    return waiter.token, None
                now = self.clock()
                # Its place, near enough without a scan: those who left behind it count too.
                position = max(1, waiter.ticket - self.gone)
                reason = "timeout" if now >= deadline else None
                if reason is None and not self._in_time(position, now, deadline):
                    reason = "late"
                if reason:
                    self.waiting.remove(waiter)
                    self.gone += 1
                    return None, reason

    def leave(self, token):
        """Give the slot back: to the first waiter, if any."""
        with self.lock:
            started = self.holders.pop(token)
            now = self.clock()
            self.service_seconds += SMOOTHING * (now - started - self.service_seconds)
            if self.waiting:  # handed over at once: no newcomer can take it meanwhile
                waiter = self.waiting.popleft()
                self.gone += 1
                waiter.token = self._take(now)
                waiter.event.set()

    def _take(self, now):
        token = object()
        self.holders[token] = now
        return token

    def _in_time(self, position, now, deadline):
        """Can the request at ``position`` in the queue (1 = next) get a slot by ``deadline``?

        While slots change hands the queue is draining and the answer is yes:
        a healthy burst is served in full, however slow a busy machine makes
        each request. Once no slot has changed hands for a quarter of the
        timeout (a hung database holds them all), the slots are expected to
        free up at ``slots`` per the longer of the average service time and
        their holders' mean age, and a request too far back is refused now
        rather than at its deadline.
        """
        if len(self.holders) < self.slots:
            return True
        ages = [now - started for started in self.holders.values()]
        if min(ages) < STALLED * self.timeout:
            return True
        pace = max(self.service_seconds, sum(ages) / len(ages))
        return position <= self.slots / pace * (deadline - now)


def admission_tween_factory(handler, registry):
    settings = get_app_settings(registry)
    if not settings.max_busy_requests:
        return handler
    queue = AdmissionQueue(
        settings.max_busy_requests, settings.max_queued_requests, settings.queue_timeout
    )

    def admission_tween(request):
        if request.environ.get("PATH_INFO") in ALWAYS_ADMITTED:
            return handler(request)
        arrived = time.monotonic()
        token, refusal = queue.enter()
        metrics.ADMISSION_WAIT.observe(time.monotonic() - arrived)
        if token is None:
            metrics.ADMISSION_REFUSED.labels(refusal).inc()
            return error_response(503, "server", "busy", {"Retry-After": RETRY_AFTER})
        try:
            return handler(request)
        finally:
            queue.leave(token)

    return admission_tween

