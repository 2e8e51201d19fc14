"""Conditional requests (RFC 9110, section 13): ``ETag``, ``If-None-Match``, ``If-Match``.

What a tag covers
-----------------
Every ``GET`` answer (and every successful write answering an article or the
user) carries a strong ``ETag`` computed from the bytes of the answer, so it
changes whenever anything in the answer changes, including what differs by
viewer (``favorited``, ``following``, the token of ``/api/user``). Two
viewers' answers therefore have different tags, and ``Vary: Authorization``
(myapp.edge.headers) tells caches that the answer depends on the token.

An article or the user has two parts in its tag: ``"<content>.<answer>"``.
``content`` is a digest of what its owner edits and nothing else: for an
article its slug, title, description, body and its ``createdAt`` and
``updatedAt`` (any edit, tags included, moves ``updatedAt``); for the user the
email, username, bio and image. ``answer`` is the digest of the whole answer.

- ``If-None-Match`` compares whole tags (weak comparison, as RFC 9110 says):
  a favorite by anyone changes ``favoritesCount`` and so the tag, and the
  client gets the new answer instead of a 304.
- ``If-Match`` on ``PUT``/``DELETE /api/articles/{slug}`` and ``PUT /api/user``
  compares only the ``content`` part. This is a deliberate narrowing of RFC
  9110, whose If-Match compares the current representation's whole tag: the
  precondition protects the owner's edit from being made on a stale copy of
  the content, and another user's favorite or follow is not a change to that
  content (it is their state, not the article's). A tag without a content
  part (or a weak tag) never matches; ``*`` matches any existing resource.

The check runs under the row lock of the write (``find_article(...,
for_update=True)``, ``lock_user``), so no write can come between the check and
the change.
"""

import hashlib
import re

from pyramid.response import FileResponse

from ..methods import SAFE_METHODS
from .errors import error

#: Where a view leaves the content digest of its answer for the tween.
CONTENT_VERSION = "myapp.content_version"

ARTICLE_CONTENT = ("slug", "title", "description", "body", "createdAt", "updatedAt")
USER_CONTENT = ("email", "username", "bio", "image")

#: One entity-tag: optional weak prefix and the quoted opaque tag (ASCII etagc).
ENTITY_TAG = r'(W/)?"([!#-~]*)"'
#: ``If-Match``/``If-None-Match``: ``*`` or a list of entity-tags, maybe empty.
#: The OpenAPI document gives clients this very pattern.
ENTITY_TAGS = re.compile(rf'\*|({ENTITY_TAG}( ?, ?{ENTITY_TAG})*)?')



def _digest(parts, length):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:length]


def content_version(fields, names):
    """The digest of the ``names`` of ``fields`` (an answer's article or user object)."""
    return _digest((fields.get(name) for name in names), 16)


def article_version(article):
    return content_version(article, ARTICLE_CONTENT)


def user_version(user):
    return content_version(user, USER_CONTENT)


def set_content_version(request, version):
    """Make the tag of this request's answer ``"<version>.<answer digest>"``."""
    request.environ[CONTENT_VERSION] = version


def entity_tag(body, version=None):
    answer = hashlib.sha256(body).hexdigest()[:32]
    return f'"{version}.{answer}"' if version else f'"{answer}"'


def parse_tags(request, name):
    """Header ``name`` → None (absent), ``"*"`` or a list of (weak, opaque-tag); 400 if malformed."""
    header = request.headers.get(name)
    if header is None:
        return None
    header = header.strip()
    if not ENTITY_TAGS.fullmatch(header):
        raise error(400, name, "must be * or a list of entity-tags (\"...\" or W/\"...\")")
    if header == "*":
        return "*"
    return [(bool(weak), opaque) for weak, opaque in re.findall(ENTITY_TAG, header)]


def require_current(request, current_version, resource):
    """412 unless ``If-Match`` (when sent) names the current content of ``resource``.

    ``current_version`` is called only when the header is there, under the
    caller's row lock.
    """
    tags = parse_tags(request, "If-Match")
    if not tags:
        return  # no precondition (an empty list names nothing to compare)
    if tags == "*":
        return  # the resource exists: the caller found it
    version = current_version()
    for weak, opaque in tags:
        if not weak and opaque.partition(".")[0] == version and "." in opaque:
            return
    raise error(412, resource, "has changed since you read it (If-Match does not match)")


def conditional_view(view, info):
    """The view deriver: tag the answers; WebOb answers 304 to a matching ``If-None-Match``.

    A tagged GET answer is made a WebOb conditional response: WebOb compares
    ``If-None-Match`` with its ``ETag`` (weak comparison) when it is served and
    sends the 304 itself, with every header but the body's. Static assets
    (Pyramid's FileResponse) are left alone: they are not hashed, and WebOb
    revalidates them by ``Last-Modified`` already. The tag itself is ours, not
    WebOb's ``md5_etag``: its content part is what ``If-Match`` compares.
    """
    if info.exception_only:
        return view

    def conditional(context, request):
        response = view(context, request)
        if isinstance(response, FileResponse):
            return response
        version = request.environ.get(CONTENT_VERSION)
        read = request.method in SAFE_METHODS  # a 200 to a read is tagged
        tagged = (response.status_int == 200 and read) or (
            version is not None and 200 <= response.status_int < 300
        )
        if not tagged or not response.body:
            return response
        response.headers["ETag"] = entity_tag(response.body, version)
        if read:
            # Answers are whole: RFC 9110 (14.2) lets a server ignore Range,
            # and WebOb would answer a bad one in plain text.
            request.environ.pop("HTTP_RANGE", None)
            # Without If-None-Match WebOb's conditional path would answer exactly
            # as its plain one (no Range, no Last-Modified to compare), at the
            # price of a request object and several header parses: only a
            # request that asks gets it.
            if "HTTP_IF_NONE_MATCH" in request.environ:
                parse_tags(request, "If-None-Match")  # a malformed one is 400
                response.conditional_response = True
                if response.etag in request.if_none_match:
                    # WebOb sends the 304 without the body; the status is set here
                    # too, so the access log and the metrics see the 304.
                    response.status_int = 304
        return response

    return conditional


def includeme(config):
    # Under idempotency: a stored answer keeps the tag its first answer had.
    config.add_view_deriver(conditional_view, "conditional", under="idempotency")
