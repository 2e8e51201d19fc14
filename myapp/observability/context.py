"""The request being served, as seen from anywhere in its thread: request id, database time.

A ``RequestRecord`` is set in a context variable for the whole of a request,
all its replays included. Log records carry its ``request_id`` (a log record
factory adds the attribute, so any format may use ``%(request_id)s``), and
the database statements of the request add their time to it.
"""

import contextvars
import logging
import re
import secrets
import time
from dataclasses import dataclass, field

#: A client's X-Request-ID is kept when it is 1-128 of these characters;
#: anything else (too long, spaces, quotes, control characters) is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

current_request = contextvars.ContextVar("myapp_current_request", default=None)


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    db_seconds: float = 0.0
    statements: int = 0
    request: object = None  # the Pyramid request of the latest attempt
    retries: int = 0


def request_id_from(header):
    """The client's request id when well formed, else a new one."""
    if header and REQUEST_ID.fullmatch(header):
        return header
    return secrets.token_hex(16)  # as random as uuid4().hex, a tenth of the cost


def _add_request_id(factory):
    def make_record(*args, **kwargs):
        record = factory(*args, **kwargs)
        served = current_request.get()
        record.request_id = served.request_id if served is not None else "-"
        return record

    make_record.adds_request_id = True
    return make_record


def install_log_record_factory():
    """Give every log record a ``request_id`` attribute (``-`` outside requests). Idempotent."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "adds_request_id", False):
        logging.setLogRecordFactory(_add_request_id(factory))


class RequestIdFormatter(logging.Formatter):
    """A Formatter for ini files whose format uses ``%(request_id)s``.

    Naming it in ``[formatter_*] class =`` installs the record factory as soon
    as the logging configuration is read, before the application starts.
    """

    def __init__(self, *args, **kwargs):
        install_log_record_factory()
        super().__init__(*args, **kwargs)

    def format(self, record):
        if not hasattr(record, "request_id"):  # made before the factory was installed
            record.request_id = "-"
        return super().format(record)
