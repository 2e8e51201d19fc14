"""Comments: listed oldest first in one statement whatever their number, which also
checks a signed-in viewer's token (myapp.users.current)."""

from sqlalchemy import bindparam, exists, false, insert, select, tuple_

from ..articles.queries import article_id, articles, follows, users
from ..edge.errors import forbidden, not_found
from ..models import MAX_ID, iso_utc_text, utcnow
from ..db import mark_session_changed
from ..db.compiled import Compiled
from ..users.current import (
    ANONYMOUS, UNCHECKED, VIEWER_KINDS, check_viewer, viewer_kind, viewer_params, with_viewer_check,
)
from .models import Comment

comments = Comment.__table__


def _following(signed_in):
    if not signed_in:
        return false()
    return exists().where(
        follows.c.follower_id == bindparam("viewer_id"),
        follows.c.followee_id == comments.c.author_id,
    )


def _timestamps():
    """The raw ``created_at`` (the order, a page's cursor), then both as the answer's text."""
    return (
        comments.c.created_at,
        iso_utc_text(comments.c.created_at).label("created_at_iso"),
        iso_utc_text(comments.c.updated_at).label("updated_at_iso"),
    )


def _checked(statement, kind):
    """``statement``, with the viewer's token checked in it for an ``UncheckedViewer``."""
    return with_viewer_check(statement) if kind == UNCHECKED else statement


def _comments_statement(kind):
    """The article (so that a missing one is told from one without comments),
    left-joined to its comments and their authors, with ``following``."""
    following = _following(kind != ANONYMOUS)
    return _checked((
        select(
            comments.c.id,
            *_timestamps(),
            comments.c.body,
            users.c.username,
            users.c.bio,
            users.c.image,
            following.label("following"),
        )
        .select_from(
            articles.outerjoin(comments, comments.c.article_id == articles.c.id).outerjoin(
                users, users.c.id == comments.c.author_id
            )
        )
        .where(articles.c.slug == bindparam("slug"))
        .order_by(comments.c.created_at, comments.c.id)
    ), kind)


#: Built once per kind of viewer (myapp.users.current.viewer_kind); run on the
#: driver (myapp.db.compiled).
COMMENTS_STATEMENTS = {kind: Compiled(_comments_statement(kind)) for kind in VIEWER_KINDS}


def comments_of(dbsession, viewer, slug):
    """Rows of the comments on the article ``slug``, each with its author's
    columns and ``following``; 404 when there is no such article. The token of
    an ``UncheckedViewer`` is checked by the same statement (myapp.users.current):
    401 before 404, as ``request.user``."""
    rows = COMMENTS_STATEMENTS[viewer_kind(viewer)].rows(dbsession, {"slug": slug, **viewer_params(viewer)})
    check_viewer(dbsession, viewer, rows)
    if not rows:
        raise not_found("article")
    return [row for row in rows if row.id is not None]


def _comment_page_statement(kind, keyset):
    """A page of an article's comments: their ids by the (article_id, created_at, id)
    index first, then those rows with their authors."""
    conditions = [
        comments.c.article_id
        == select(articles.c.id).where(articles.c.slug == bindparam("slug")).scalar_subquery()
    ]
    if keyset:
        conditions.append(
            tuple_(comments.c.created_at, comments.c.id)
            > tuple_(bindparam("after_created_at", type_=comments.c.created_at.type), bindparam("after_id"))
        )
    chosen = (
        select(comments.c.id.label("chosen_id"))
        .where(*conditions)
        .order_by(comments.c.article_id, comments.c.created_at, comments.c.id)
        .limit(bindparam("limit"))
        .subquery("chosen")
    )
    return _checked((
        select(
            comments.c.id, *_timestamps(), comments.c.body,
            users.c.username, users.c.bio, users.c.image, _following(kind != ANONYMOUS).label("following"),
        )
        .select_from(
            chosen.join(comments, comments.c.id == chosen.c.chosen_id).join(
                users, users.c.id == comments.c.author_id
            )
        )
        .order_by(comments.c.created_at, comments.c.id)
    ), kind)


COMMENT_PAGES = {
    (kind, keyset): Compiled(_comment_page_statement(kind, keyset))
    for kind in VIEWER_KINDS for keyset in (False, True)
}


def comment_page(dbsession, viewer, slug, page):
    """(rows of at most ``page.limit`` comments after ``page.after``, more follow);
    404 when there is no such article; the token checked as by ``comments_of``."""
    after = page.after
    params = {"slug": slug, "limit": page.limit + 1, **viewer_params(viewer)}
    if after is not None:
        params.update(after_created_at=after[0], after_id=after[1])
    rows = COMMENT_PAGES[viewer_kind(viewer), after is not None].rows(dbsession, params)
    check_viewer(dbsession, viewer, rows)
    if not rows:
        article_id(dbsession, slug)  # 404 when there is no such article
    return rows[: page.limit], len(rows) > page.limit


def _new_comment_statement():
    stamp = bindparam("now", type_=Comment.created_at.type)
    rows = select(
        bindparam("body", type_=Comment.body.type),
        articles.c.id,
        bindparam("author_id", type_=Comment.author_id.type),
        stamp,
        stamp,
    ).where(articles.c.slug == bindparam("slug"))
    return (
        insert(comments)
        .from_select(["body", "article_id", "author_id", "created_at", "updated_at"], rows)
        .returning(comments.c.id, *_timestamps()[1:], comments.c.body)
    )


#: Core (the ORM would take bound values for a bulk insert), built once.
NEW_COMMENT = _new_comment_statement()


def add_comment(dbsession, author, slug, new_comment, now=None):
    """A new comment on the article ``slug``, None when there is no such article.

    One statement, ``INSERT … SELECT … RETURNING``: the article's id is found
    by the insert itself. The answer is (id, created_at_iso, updated_at_iso, body).
    """
    params = {"body": new_comment.body, "author_id": author.id, "slug": slug, "now": now or utcnow()}
    inserted = dbsession.execute(NEW_COMMENT, params).first()
    mark_session_changed(dbsession)
    return inserted


def delete_comment(dbsession, user, article_id, comment_id):
    if comment_id > MAX_ID:
        raise not_found("comment")
    comment = dbsession.scalar(
        select(Comment).where(Comment.id == comment_id, Comment.article_id == article_id)
    )
    if comment is None:
        raise not_found("comment")
    if comment.author_id != user.id:
        raise forbidden("comment")
    dbsession.delete(comment)
    dbsession.flush()
