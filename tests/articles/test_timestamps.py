"""Every timestamp the API answers: UTC, milliseconds truncated, ``Z``, whichever
database formats it (the hot reads have it formatted in their SQL, myapp.models).

Mirrors tests/test_models.py, which checks ``iso_utc`` in Python: the ORM's
answers (an ETag's content part, If-Match) and the SQL's must agree to the byte.
"""

import datetime

import pytest
import sqlalchemy as sa

from myapp.models import import_all_models

from ..helpers import add_comment, create_article, get_article, list_articles, set_timestamps

MOMENTS = [
    # (stored, answered)
    (datetime.datetime(2026, 12, 5, 11, 0, 0, 123999, tzinfo=datetime.timezone.utc),
     "2026-12-05T11:00:00.123Z"),
    (datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc),
     "1999-12-31T23:59:59.999Z"),
    (datetime.datetime(2026, 3, 29, 1, 30, 0, 0, tzinfo=datetime.timezone.utc),
     "2026-03-29T01:30:00.000Z"),
]


@pytest.mark.parametrize("stored, answered", MOMENTS)
def test_articles_and_comments_answer_the_same_text_for_a_moment(
    testapp, db_engine, alice, stored, answered
):
    slug = create_article(testapp, alice.token)["slug"]
    comment = add_comment(testapp, alice.token, slug)
    set_timestamps(db_engine, slug, stored)
    comments = import_all_models().tables["comments"]
    with db_engine.begin() as connection:
        connection.execute(sa.update(comments).values(created_at=stored, updated_at=stored))
    article = get_article(testapp, slug)
    listed = list_articles(testapp)["articles"][0]
    signed_in = list_articles(testapp, token=alice.token)["articles"][0]
    answered_comments = testapp.get(f"/api/articles/{slug}/comments").json["comments"]
    paged = testapp.get(f"/api/articles/{slug}/comments?limit=5").json["comments"]
    assert {article["createdAt"], article["updatedAt"], listed["createdAt"], listed["updatedAt"],
            signed_in["createdAt"], signed_in["updatedAt"]} == {answered}
    assert [(c["id"], c["createdAt"], c["updatedAt"]) for c in answered_comments + paged] == [
        (comment["id"], answered, answered)] * 2


def test_an_edit_checked_by_if_match_sees_the_tag_of_the_answer(testapp, db_engine, alice):
    """The ETag's content part is made from the answer (SQL's text), If-Match's
    from the article the write locked (Python's): the same moment, the same text."""
    slug = create_article(testapp, alice.token)["slug"]
    set_timestamps(db_engine, slug, MOMENTS[0][0])
    tag = testapp.get(f"/api/articles/{slug}").headers["ETag"]
    testapp.put_json(f"/api/articles/{slug}", {"article": {"title": "Edited"}},
                     headers={**alice.headers, "If-Match": tag}, status=200)
