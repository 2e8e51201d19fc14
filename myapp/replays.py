"""Logs that tell the truth about replayed requests.

pyramid_retry replays a request whose attempt failed with a retryable error
(myapp.db), and Pyramid renders that error with its exception view on every
attempt, the replayed ones included. So an exception view must not log an
error as the request's outcome unless this attempt is the last one:

- ``will_be_replayed`` answers that inside an exception view, with
  pyramid_retry's own rule (``is_error_retryable``: not the last attempt, and
  the error tagged retryable). pyramid_tm tags a database's transient errors
  only after the view has returned; they are tagged here first, the same way.
- A replayed attempt logs exactly one INFO line, with its attempt number and
  reason (``log_replay``, on pyramid_retry's ``BeforeRetry`` event, which
  fires only when a replay really happens).
- The exception views (myapp.edge.errors) log the final attempt only: ERROR when
  the client gets a 5xx, WARNING otherwise.

Reasons are the error's class and the first line of the database's message,
never SQLAlchemy's full text: that carries the statement's parameters
(password hashes included).
"""

import logging

import pyramid_retry
import pyramid_tm
from transaction.interfaces import NoTransaction

log = logging.getLogger(__name__)


def failure_reason(exc):
    """``IntegrityError: duplicate key value violates unique constraint "…"``."""
    source = getattr(exc, "orig", None) or exc
    lines = str(source).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def will_be_replayed(request, exc):
    """True when pyramid_retry will discard this attempt's answer and replay the request."""
    try:
        pyramid_tm.maybe_tag_retryable(request, (type(exc), exc, exc.__traceback__))
    except NoTransaction:  # the transaction is over; what is tagged is all there is
        pass
    return pyramid_retry.is_error_retryable(request, exc)


def attempt_label(request):
    """``attempt 2 of 3``."""
    environ = request.environ
    attempt, attempts = environ.get("retry.attempt", 0), environ.get("retry.attempts", 1)
    return f"attempt {attempt + 1} of {attempts}"


def log_replay(event):
    request = event.request
    log.info(
        "replaying %s %r: %s failed with %s",
        request.method,
        request.environ.get("PATH_INFO", ""),
        attempt_label(request),
        failure_reason(event.exception),
    )


def includeme(config):
    config.add_subscriber(log_replay, pyramid_retry.IBeforeRetry)
