"""An operator's view of every request: access log, Server-Timing, X-Request-ID, metrics.

- ``myapp.access`` logs one JSON line per request (myapp.observability.access).
- Responses carry ``Server-Timing: db;dur=…, app;dur=…`` (milliseconds) and
  ``X-Request-ID``: the client's when well formed (1-128 characters among
  letters, digits and ``._:@/+=-``), else a new one. Every log line written
  while serving the request carries it as ``%(request_id)s``.
- Prometheus metrics at ``GET /metrics`` for the networks in
  ``myapp.metrics_allowed_networks`` (myapp.observability.metrics).

``myapp.observability = false`` turns off the access log, the headers, the
request and pool metrics (to measure their cost side by side); ``/metrics``
stays, with the replica metrics. The pool metrics are hooked on each request
pool by the engine factory (myapp.db.engines).
"""

from pyramid.config import PHASE3_CONFIG
from pyramid.interfaces import IExecutionPolicy
from pyramid.router import default_execution_policy

from .access import observed, time_statements
from .context import install_log_record_factory


def includeme(config):
    config.include(".metrics")
    registry = config.registry
    if not registry.app_settings.observability:
        return
    install_log_record_factory()
    time_statements()

    def wrap_execution_policy():
        # After pyramid_retry has registered its policy (an action of the default order).
        policy = registry.queryUtility(IExecutionPolicy, default=default_execution_policy)
        registry.registerUtility(observed(policy), IExecutionPolicy)

    config.action(None, wrap_execution_policy, order=PHASE3_CONFIG + 1)
