"""What the scale bench knows about its data, and the answers it checks against SQL.

``facts`` finds the interesting subjects (the most used tag, a rare one, the
most prolific author, the busiest favoriter, the viral articles); ``check``
compares the server's answers with SQL and raises on the first difference,
so that a fast wrong answer fails the bench.
"""

import urllib.parse
from dataclasses import dataclass, field

import sqlalchemy as sa

from myapp.articles.queries import TOP_TAGS
from tests.live.counts import counts_from_counters, counts_from_rows

from .seed import Shape


class WrongAnswer(AssertionError):
    pass


@dataclass
class Facts:
    hot_tag: str
    rare_tag: str
    prolific: str
    busiest: str
    viral: str  # 100,000 favorites (or every user)
    discussed: str  # 10,000 comments
    talked: str  # 500 comments
    reader_id: int = 0
    reader_token: str = ""
    deep_cursor: str = ""  # names the article in the middle of the list
    extra: dict = field(default_factory=dict)


def facts(connection, shape):
    def one(sql):
        return connection.execute(sa.text(sql)).scalar()

    return Facts(
        hot_tag=one("SELECT name FROM article_tags GROUP BY name ORDER BY count(*) DESC, name LIMIT 1"),
        # The rarest tag still on a few articles: its page is mostly empty.
        rare_tag=one("SELECT name FROM article_tags GROUP BY name HAVING count(*) >= 5 "
                     "ORDER BY count(*), name LIMIT 1"),
        prolific=one("SELECT u.username FROM articles a JOIN users u ON u.id = a.author_id "
                     "GROUP BY u.username ORDER BY count(*) DESC, u.username LIMIT 1"),
        busiest=one(f"SELECT u.username FROM favorites f JOIN users u ON u.id = f.user_id "
                    f"WHERE f.article_id <> {shape.viral} "
                    f"GROUP BY u.username ORDER BY count(*) DESC, u.username LIMIT 1"),
        viral=f"article-{shape.viral}",
        discussed=f"article-{shape.discussed}",
        talked=f"article-{shape.talked}",
    )


NEWEST = "ORDER BY a.created_at DESC, a.id DESC"
FILTER_SQL = {
    "": "",
    "tag": "AND a.id IN (SELECT article_id FROM article_tags WHERE name = :value)",
    "author": "AND a.author_id = (SELECT id FROM users WHERE username_key = :value)",
    "favorited": "AND a.id IN (SELECT f.article_id FROM favorites f JOIN users u ON u.id = f.user_id "
                 "WHERE u.username_key = :value)",
    "feed": "AND a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = :value)",
}


def expected_page(connection, kind, value, limit, offset):
    """(slugs of the page, total) by SQL."""
    where = FILTER_SQL[kind]
    params = {"value": value}
    total = connection.execute(sa.text(f"SELECT count(*) FROM articles a WHERE true {where}"), params).scalar()
    slugs = connection.execute(
        sa.text(f"SELECT slug FROM articles a WHERE true {where} {NEWEST} LIMIT {limit} OFFSET {offset}"),
        params,
    ).scalars().all()
    return slugs, total


def _same(what, got, wanted):
    if got != wanted:
        raise WrongAnswer(f"{what}: the server answered {got!r}, SQL says {wanted!r}")


def check_reads(server, connection, found):
    """Counts of every filter, first slugs at several offsets, flags, tags, counts."""
    signed = {"Authorization": f"Token {found.reader_token}"}
    cases = [
        ("", None), ("tag", found.hot_tag), ("tag", found.rare_tag), ("author", found.prolific),
        ("favorited", found.busiest),
    ]
    for kind, value in cases:
        for offset in (0, 1000, 10_000):
            query = {"limit": 20, "offset": offset, **({kind: value} if kind else {})}
            status, _, page = server.request("GET", "/api/articles?" + urllib.parse.urlencode(query))
            _same(f"GET /api/articles {query} status", status, 200)
            slugs, total = expected_page(connection, kind, value, 20, offset)
            _same(f"{query} articlesCount", page["articlesCount"], total)
            _same(f"{query} slugs", [a["slug"] for a in page["articles"]], slugs)
    status, _, feed = server.request("GET", "/api/articles/feed?limit=20", headers=signed)
    slugs, total = expected_page(connection, "feed", found.reader_id, 20, 0)
    _same("feed articlesCount", feed["articlesCount"], total)
    _same("feed slugs", [a["slug"] for a in feed["articles"]], slugs)

    # The signed-in reader's flags on the first page, and every favorites count.
    status, _, page = server.request("GET", "/api/articles?limit=50", headers=signed)
    for article in page["articles"]:
        favorited, following, count = connection.execute(sa.text(
            "SELECT EXISTS (SELECT 1 FROM favorites WHERE user_id = :r AND article_id = a.id),"
            " EXISTS (SELECT 1 FROM follows WHERE follower_id = :r AND followee_id = a.author_id),"
            " (SELECT count(*) FROM favorites WHERE article_id = a.id)"
            " FROM articles a WHERE slug = :slug"), {"r": found.reader_id, "slug": article["slug"]}).one()
        _same(f"{article['slug']} favorited", article["favorited"], favorited)
        _same(f"{article['slug']} following", article["author"]["following"], following)
        _same(f"{article['slug']} favoritesCount", article["favoritesCount"], count)
    if not any(a["favorited"] for a in page["articles"]) or not any(
            a["author"]["following"] for a in page["articles"]):
        raise WrongAnswer("the reader's first page shows no favorited or no followed article: check the seed")

    status, _, viral = server.request("GET", f"/api/articles/{found.viral}")
    wanted = connection.execute(sa.text(
        "SELECT count(*) FROM favorites f JOIN articles a ON a.id = f.article_id WHERE a.slug = :s"),
        {"s": found.viral}).scalar()
    _same("the viral article's favoritesCount", viral["article"]["favoritesCount"], wanted)

    status, _, tags = server.request("GET", "/api/tags")
    wanted = connection.execute(sa.text(
        f"SELECT name FROM article_tags GROUP BY name ORDER BY count(*) DESC, name LIMIT {TOP_TAGS}"
    )).scalars().all()
    _same("/api/tags", tags["tags"], wanted)

    # Page 2 by cursor is page 2 by offset; a deep cursor's page is the SQL one.
    status, headers, _ = server.request("GET", "/api/articles?limit=20")
    next_url = headers["Link"].split(">")[0].lstrip("<")
    status, _, second = server.request("GET", urllib.parse.urlsplit(next_url)._replace(
        scheme="", netloc="").geturl())
    _same("page 2 by cursor", [a["slug"] for a in second["articles"]], expected_page(
        connection, "", None, 20, 20)[0])
    status, _, deep = server.request("GET", f"/api/articles?limit=20&cursor={found.deep_cursor}")
    middle = found.extra["middle_offset"]
    _same("a deep cursor's page", [a["slug"] for a in deep["articles"]],
          expected_page(connection, "", None, 20, middle + 1)[0])

    status, _, comments = server.request("GET", f"/api/articles/{found.talked}/comments")
    wanted = connection.execute(sa.text(
        "SELECT count(*) FROM comments c JOIN articles a ON a.id = c.article_id WHERE a.slug = :s"),
        {"s": found.talked}).scalar()
    _same("500 comments, unpaged", len(comments["comments"]), wanted)


def check_tag_dates(connection):
    """Every tag's copy of its article's created_at is the article's (tag pages read it)."""
    wrong = connection.execute(sa.text(
        "SELECT count(*) FROM article_tags t JOIN articles a ON a.id = t.article_id"
        " WHERE t.created_at IS DISTINCT FROM a.created_at")).scalar()
    if wrong:
        raise WrongAnswer(f"{wrong} tags' created_at differ from their article's")


def check_counters(connection):
    """Every maintained count equals count(*) of its rows (after the writes)."""
    by_counters, by_rows = counts_from_counters(connection), counts_from_rows(connection)
    if by_counters != by_rows:
        wrong = sorted(set(by_counters.items()) ^ set(by_rows.items()))[:10]
        raise WrongAnswer(f"maintained counts differ from count(*): {wrong}")
    return len(by_rows)


__all__ = ["Facts", "Shape", "WrongAnswer", "check_counters", "check_reads", "check_tag_dates", "facts"]
