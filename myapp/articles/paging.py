"""Keyset pages: a cursor names the last item of a page; the next page starts after it.

A cursor is ``<created_at in microseconds since 1970, UTC>-<id>``: every
string of that form is a valid cursor (a client cannot make one that the
server refuses), and the next page costs what the first one costs, however
deep it is, because the database seeks it in the (created_at, id) index.
The answer of a page that has a next one carries ``Link: <...>; rel="next"``
(RFC 8288) with the same query and that page's cursor.
"""

import datetime

from ..models import MAX_ID

#: The cursor's spelling (also in the OpenAPI document, from the schemas).
CURSOR_PATTERN = r"^(0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,9})$"

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def encode_cursor(created_at, item_id):
    if created_at.tzinfo is None:  # SQLite hands back naive UTC
        created_at = created_at.replace(tzinfo=datetime.timezone.utc)
    micros = (created_at - EPOCH) // datetime.timedelta(microseconds=1)
    return f"{micros}-{item_id}"


def decode_cursor(cursor):
    """(created_at, id) of a cursor matching ``CURSOR_PATTERN``."""
    micros, item_id = cursor.split("-")
    created_at = EPOCH + datetime.timedelta(microseconds=int(micros))
    # No id is larger than MAX_ID: "after MAX_ID" finds the same items as after any larger one.
    return created_at, min(int(item_id), MAX_ID)


def set_next_link(request, last):
    """``Link: rel="next"`` for the page ending with ``last`` (its created_at and id)."""
    query = [(name, value) for name, value in request.GET.items() if name not in ("cursor", "offset")]
    query.append(("cursor", encode_cursor(last.created_at, last.id)))
    url = request.current_route_url(_query=query)
    request.response.headers["Link"] = f'<{url}>; rel="next"'
