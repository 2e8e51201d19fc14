"""Maintained counts, the offset bound, keyset cursors, the tags' top N, paged comments.

Every count an answer shows comes from myapp.articles.counters; after any
sequence of writes it equals what counting the rows gives.
"""

import re

import pytest
import sqlalchemy as sa

from myapp.articles.queries import TOP_TAGS
from myapp.articles.schemas import MAX_OFFSET

from ..helpers import add_comment, auth, create_article, favorite, list_articles, slugs

COUNTS_FROM_ROWS = {
    ("articles", ""): "SELECT count(*) FROM articles",
    "author": "SELECT CAST(author_id AS VARCHAR(64)), count(*) FROM articles GROUP BY author_id",
    "tag": "SELECT name, count(*) FROM article_tags GROUP BY name",
    "favorites_by": "SELECT CAST(user_id AS VARCHAR(64)), count(*) FROM favorites GROUP BY user_id",
    "favorites_of": "SELECT CAST(article_id AS VARCHAR(64)), count(*) FROM favorites GROUP BY article_id",
}


def maintained_and_counted(db_engine):
    """({(kind, subject): n} from the counters, the same from the rows), zeros left out."""
    with db_engine.connect() as connection:
        maintained = {
            (kind, subject): n
            for kind, subject, n in connection.execute(sa.text(
                "SELECT kind, subject, sum(n) FROM counters GROUP BY kind, subject"))
            if n
        }
        counted = {}
        for kind, sql in COUNTS_FROM_ROWS.items():
            if isinstance(kind, tuple):
                n = connection.execute(sa.text(sql)).scalar()
                if n:
                    counted[kind] = n
            else:
                counted.update({(kind, subject): n for subject, n in connection.execute(sa.text(sql))})
    return maintained, counted


def test_every_write_keeps_the_counts_equal_to_the_rows(testapp, db_engine, alice, bob, carol):
    a1 = create_article(testapp, alice.token, title="a1", tagList=["x", "y"])["slug"]
    b1 = create_article(testapp, bob.token, title="b1", tagList=["x"])["slug"]
    create_article(testapp, bob.token, title="b2", tagList=["z"])
    for account in (alice, bob, carol):
        favorite(testapp, account.token, a1)
    favorite(testapp, carol.token, a1)  # again: still one
    favorite(testapp, carol.token, b1)
    testapp.delete(f"/api/articles/{b1}/favorite", headers=auth(carol.token), status=200)
    testapp.delete(f"/api/articles/{b1}/favorite", headers=auth(carol.token), status=200)
    testapp.put_json(f"/api/articles/{a1}", {"article": {"tagList": ["y", "w"]}},
                     headers=auth(alice.token), status=200)
    testapp.delete(f"/api/articles/{b1}", headers=auth(bob.token), status=204)

    maintained, counted = maintained_and_counted(db_engine)
    assert maintained == counted
    assert counted[("tag", "y")] == 1 and ("tag", "x") not in counted
    assert list_articles(testapp)["articlesCount"] == 2
    assert list_articles(testapp, tag="w")["articlesCount"] == 1
    assert list_articles(testapp, tag="x")["articlesCount"] == 0
    assert list_articles(testapp, author="bob")["articlesCount"] == 1
    assert list_articles(testapp, favorited="carol")["articlesCount"] == 1
    assert list_articles(testapp, alice.token, path="/api/articles/feed")["articlesCount"] == 0
    article = testapp.get(f"/api/articles/{a1}").json["article"]
    assert article["favoritesCount"] == 3
    assert testapp.get("/api/tags").json["tags"] == ["w", "y", "z"]


def test_deleting_an_article_takes_its_favorites_out_of_every_count(testapp, db_engine, alice, bob, carol):
    slug = create_article(testapp, alice.token, title="liked", tagList=["t"])["slug"]
    for account in (bob, carol):
        favorite(testapp, account.token, slug)
    testapp.delete(f"/api/articles/{slug}", headers=auth(alice.token), status=204)
    maintained, counted = maintained_and_counted(db_engine)
    assert maintained == counted == {}
    assert list_articles(testapp, favorited="bob")["articlesCount"] == 0


def test_tags_are_the_most_used_first_and_at_most_top_n(testapp, alice):
    create_article(testapp, alice.token, title="popular 1", tagList=["pop", "mid"])
    create_article(testapp, alice.token, title="popular 2", tagList=["pop"])
    names = [f"rare{n:03d}" for n in range(TOP_TAGS)]
    for start in range(0, len(names), 20):
        create_article(testapp, alice.token, title=f"rare {start}", tagList=names[start:start + 20])
    tags = testapp.get("/api/tags").json["tags"]
    assert len(tags) == TOP_TAGS
    assert tags[:2] == ["mid", "pop"] or tags[:2] == ["pop", "mid"]
    assert tags[0] == "pop"  # on two articles
    assert tags[2:] == names[: TOP_TAGS - 2]  # ties by name; the last two rare ones left out


def test_an_offset_past_the_maximum_is_422_with_the_usual_envelope(testapp):
    testapp.get("/api/articles", params={"offset": MAX_OFFSET}, status=200)
    answer = testapp.get("/api/articles", params={"offset": MAX_OFFSET + 1}, status=422).json
    assert answer == {"errors": {"offset": [f"must be less than or equal to {MAX_OFFSET}"]}}


NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def walk(testapp, url, token=None, key="articles"):
    """Follow Link rel=next from ``url``; every page's items and the URLs visited."""
    pages, visited = [], []
    headers = auth(token) if token else {}
    while url is not None:
        response = testapp.get(url, headers=headers, status=200)
        visited.append(url)
        pages.append(response.json[key])
        link = response.headers.get("Link")
        url = NEXT.match(link).group("url").removeprefix("http://localhost") if link else None
    return pages, visited


@pytest.fixture
def twelve(testapp, alice, bob):
    made = []
    for n in range(12):
        account = alice if n % 3 else bob
        made.append(create_article(testapp, account.token, title=f"n{n}", tagList=["even" if n % 2 == 0 else "odd"]))
    return [a["slug"] for a in reversed(made)]  # newest first


@pytest.mark.parametrize("params, keep", [
    ({}, lambda n: True),
    ({"tag": "even"}, lambda n: n % 2 == 0),
    ({"author": "alice"}, lambda n: n % 3 != 0),
])
def test_a_cursor_walk_gives_the_offset_pages(testapp, twelve, params, keep):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    pages, visited = walk(testapp, f"/api/articles?limit=5&{query}")
    wanted = [slug for slug in twelve if keep(int(slug[1:]))]
    assert [slug for page in pages for slug in (a["slug"] for a in page)] == wanted
    assert [len(page) for page in pages][:-1] == [5] * (len(pages) - 1)
    for number, page in enumerate(pages):
        by_offset = list_articles(testapp, limit=5, offset=5 * number, **params)
        assert [a["slug"] for a in page] == slugs(by_offset)
    assert all("cursor=" in url for url in visited[1:]) and all(query in url for url in visited)


def test_the_feed_has_cursors_too(testapp, twelve, carol):
    testapp.post("/api/profiles/bob/follow", headers=auth(carol.token), status=200)
    pages, _ = walk(testapp, "/api/articles/feed?limit=2", carol.token)
    assert [a["slug"] for page in pages for a in page] == [s for s in twelve if int(s[1:]) % 3 == 0]


def test_a_full_last_page_has_no_next_link(testapp, twelve):
    response = testapp.get("/api/articles", params={"limit": 12}, status=200)
    assert "Link" not in response.headers
    assert "Link" in testapp.get("/api/articles", params={"limit": 11}, status=200).headers


@pytest.mark.parametrize("cursor", ["abc", "1-", "-1-2", "01-2", "1-2-3", "1.5-2", "1-" + "9" * 11])
def test_a_malformed_cursor_is_422(testapp, cursor):
    answer = testapp.get("/api/articles", params={"cursor": cursor}, status=422).json
    assert list(answer["errors"]) == ["cursor"]


def test_comments_come_in_bounded_pages_and_whole_without_limit(testapp, alice, bob):
    slug = create_article(testapp, alice.token, title="talked about")["slug"]
    bodies = [add_comment(testapp, (alice, bob)[n % 2].token, slug, f"c{n}")["body"] for n in range(7)]
    whole = testapp.get(f"/api/articles/{slug}/comments", status=200)
    assert [c["body"] for c in whole.json["comments"]] == bodies and "Link" not in whole.headers
    pages, _ = walk(testapp, f"/api/articles/{slug}/comments?limit=3", alice.token, key="comments")
    assert [[c["body"] for c in page] for page in pages] == [bodies[0:3], bodies[3:6], bodies[6:]]
    assert pages[0][1]["author"]["username"] == "bob"
    testapp.get(f"/api/articles/{slug}/comments", params={"limit": 101}, status=422)
    testapp.get(f"/api/articles/{slug}/comments", params={"limit": 0}, status=422)
    testapp.get("/api/articles/nothing-here/comments", params={"limit": 3}, status=404)
    empty = create_article(testapp, alice.token, title="quiet")["slug"]
    assert testapp.get(f"/api/articles/{empty}/comments?limit=3", status=200).json == {"comments": []}


def test_while_the_backfill_runs_every_write_counts_only_the_articles_it_counted(
    testapp, db_engine, alice, bob
):
    """myapp.articles.counters.adding's rule, on each path that writes deltas (a publish,
    a favorite and an unfavorite, on PostgreSQL in one statement, a deletion): nothing for
    an article from ``counter_backfill.next_id`` on, which the backfill counts itself."""
    counted_slug = create_article(testapp, alice.token, title="counted", tagList=["t"])["slug"]
    with db_engine.connect() as connection:
        ids = dict(connection.execute(sa.text("SELECT slug, id FROM articles")).all())
        bob_id = connection.execute(sa.text("SELECT id FROM users WHERE username = 'bob'")).scalar()
    with db_engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO counter_backfill (id, next_id) VALUES (1, :next)"),
                           {"next": ids[counted_slug] + 1})
    waiting = create_article(testapp, alice.token, title="waiting", tagList=["t"])["slug"]
    before, _ = maintained_and_counted(db_engine)
    assert before[("articles", "")] == 1 and before[("tag", "t")] == 1  # the publish added nothing

    favorite(testapp, bob.token, waiting)
    after_waiting, _ = maintained_and_counted(db_engine)
    favorite(testapp, bob.token, counted_slug)
    after_counted, _ = maintained_and_counted(db_engine)
    assert after_waiting == before
    assert after_counted == {
        **before, ("favorites_by", str(bob_id)): 1, ("favorites_of", str(ids[counted_slug])): 1
    }
    for slug in (waiting, counted_slug):
        testapp.delete(f"/api/articles/{slug}/favorite", headers=auth(bob.token), status=200)
    assert maintained_and_counted(db_engine)[0] == before

    favorite(testapp, bob.token, waiting)
    testapp.delete(f"/api/articles/{waiting}", headers=auth(alice.token), status=204)
    assert maintained_and_counted(db_engine)[0] == before
