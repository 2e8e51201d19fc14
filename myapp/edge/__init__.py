"""The HTTP edge: every tween a request passes, declared here, in order.

::

    client (waitress / gunicorn)
      |
      v
    headers        security and caching headers on every answer (myapp.edge.headers)
    paths          /api/articles/ -> /api/articles (myapp.edge.paths)
    cors           preflights answered with the route's methods, allowed origins marked (myapp.edge.cors)
    attempt        the access log notes each attempt (myapp.observability.access)
    deadline       one database time budget for all attempts (myapp.db.budgets)
    admission      a slot, or a bounded wait for one; JSON 503 when none in time (myapp.edge.admission)
    transaction    pyramid_tm: commit, or abort on an error or a 4xx/5xx answer
    exception view every error becomes the JSON envelope (myapp.edge.errors)
      |
      v
    router -> the view's own steps (view derivers, outermost first):
              permission      the security policy (myapp.auth.policy)
              idempotency     Idempotency-Key: claim, store, repeat (myapp.edge.idempotency)
              conditional     ETag; WebOb answers 304 (myapp.edge.conditional)
              rendering       the view's dict as JSON
              view            bodies and queries validated by myapp.edge.validation

The client's address is no tween either: ``request.client_address``
(myapp.edge.client_address), from the peer or, only behind a trusted proxy,
its forwarded header; the login throttle, the /metrics allowlist and the
access log read it.

pyramid_retry is not a tween: its execution policy runs the whole chain again
for a transient database error (a new attempt), and the deadline is set once
for all attempts.

``CHAIN`` is the one declaration: ``includeme`` adds each tween of it under the
one before and over the one after, so the order is exactly this list whatever
the include order (``ptweens development.ini`` prints it; a test checks it).
No other module adds a tween. Two entries are added by their own libraries:
pyramid_tm's (``config.include("pyramid_tm")``, myapp.db) and Pyramid's
exception view; here they only anchor their neighbours.
"""

from pyramid.tweens import EXCVIEW, INGRESS

#: The transaction manager's tween, added by ``config.include("pyramid_tm")`` (myapp.db).
TRANSACTION = "pyramid_tm.tm_tween_factory"

#: The tween chain, from the server (top) to the exception view (bottom).
CHAIN = (
    "myapp.edge.headers.security_headers_tween_factory",
    "myapp.edge.paths.trailing_slash_tween_factory",
    "myapp.edge.cors.cors_tween_factory",
    "myapp.observability.access.attempt_tween_factory",
    "myapp.db.budgets.request_deadline_tween_factory",
    "myapp.edge.admission.admission_tween_factory",
    TRANSACTION,
    EXCVIEW,
)

#: Paths admission never refuses (nor queues): they touch no shared resource,
#: and liveness and the metrics matter most when the process is saturated.
ALWAYS_ADMITTED = frozenset({"/api/health/live", "/api/health/ready", "/api/health", "/metrics"})

#: Entries of CHAIN that their own libraries add.
ADDED_ELSEWHERE = frozenset({TRANSACTION, EXCVIEW})


def includeme(config):
    config.include(".client_address")
    config.include(".routes")
    config.include(".requests")
    config.include(".errors")
    config.include(".validation")
    config.include(".idempotency")
    config.include(".conditional")
    anchors = (INGRESS,) + CHAIN
    for above, name, below in zip(anchors, CHAIN, CHAIN[1:]):
        if name not in ADDED_ELSEWHERE:
            config.add_tween(name, under=above, over=below)
