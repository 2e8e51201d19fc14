"""Transactions: who commits, what is replayed, and what a replayed attempt logs.

- pyramid_tm (an explicit manager per request) commits a request's
  transaction when its answer is a success and aborts it otherwise
  (``commit_veto``: on an exception, and on any 4xx/5xx answer).
- pyramid_retry replays the whole request, with a new request object and so a
  new session, when the failure was transient: a PostgreSQL serialization
  failure or deadlock (zope.sqlalchemy knows those), or a unique-constraint
  race (``IntegrityError``, below). A wait that used its whole time budget
  (myapp.db.budgets; SQLite's busy timeout) is not replayed: it would only
  wait again. (An over-limit body gets one attempt: myapp.validation.)

Retry logging. Pyramid renders an error with its exception view on every
attempt, the replayed ones included, so an exception view must not log an
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
from sqlalchemy.exc import IntegrityError
from transaction.interfaces import NoTransaction

log = logging.getLogger(__name__)

# Two requests can both check that a username is free and both insert it; the
# loser's INSERT fails with an IntegrityError. Replaying the loser makes its
# check see the winner's row, so it answers a clean 409 instead of a 500.
# A deterministic IntegrityError (a bug) fails every attempt and surfaces once
# the attempts are used up.
pyramid_retry.mark_error_retryable(IntegrityError)


def commit_veto(request, response):
    """Abort on a 4xx/5xx response (pyramid_tm's default rule), after tagging.

    When an exception view has rendered the error, pyramid_tm asks the commit
    veto first and returns without tagging the squashed exception as
    retryable; a PostgreSQL serialization failure or deadlock would then never
    be replayed. Tag it here, while the session is still joined to the
    transaction and zope.sqlalchemy can recognise the error.
    """
    exc_info = getattr(request, "exc_info", None)
    if exc_info is not None:
        pyramid_tm.maybe_tag_retryable(request, exc_info)
    return pyramid_tm.default_commit_veto(request, response)


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
    """pyramid_tm and pyramid_retry, configured as above."""
    settings = config.get_settings()
    # An explicit manager per request: no thread-local transaction state.
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # Abort on 4xx/5xx responses too, not only on exceptions.
    settings["tm.commit_veto"] = commit_veto
    # Reading the user during commit has caused DetachedInstanceErrors.
    settings["tm.annotate_user"] = False
    settings["retry.attempts"] = config.registry.app_settings.retry_attempts
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    config.add_subscriber(log_replay, pyramid_retry.IBeforeRetry)
