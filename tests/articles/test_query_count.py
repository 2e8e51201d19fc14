"""No N+1: a page costs the same few SQL statements whether it holds 1 article or 100.

The counts are exact, so that a change which adds a statement to a hot path
is seen here (make bench measures what each one costs).

The data is written straight into the database (a few hundred rows through the
API would be slow); the statements are counted on the application's own engine
while an authenticated viewer reads. Every author, tag, favorite and follow
the answers show would be a lazy load per row if the queries did not fetch
them together.
"""

import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from myapp.articles.counters import recount
from myapp.articles.models import Article, ArticleTag, Favorite
from myapp.comments.models import Comment
from myapp.users.models import Follow, User

from ..conftest import app_engine
from ..helpers import account

AUTHORS = 6
FOLLOWED = 4  # the viewer follows author0..author3
ARTICLES = 180  # 120 of them by followed authors: the feed has 100+ too
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
PAGE_SIZES = (1, 20, 100)
#: Comments on the articles "discussed-1", "discussed-20" and "discussed-100".
COMMENT_COUNTS = (1, 20, 100)

#: Statements of one signed-in read, as sent on PostgreSQL: one statement for a
#: page of articles with their tags and the total count, or for an article, or
#: for an article's comments (all, or a page), which also checks the viewer's
#: token (myapp.users.current.reading_viewer). SQLite sends one more, its
#: explicit BEGIN (see myapp.db).
ARTICLE_PAGE_STATEMENTS = 1
ARTICLE_STATEMENTS = 1
COMMENTS_STATEMENTS = 1
#: Writes: the viewer, then the write, which finds the article by its slug
#: itself; a favorite then reads the article for its answer, a new comment is
#: answered from what its INSERT returned.
FAVORITE_STATEMENTS = 3
#: ... and one more, the counts, when it changed something (not when repeated);
#: PostgreSQL writes the favorite and its counts in one statement.
COUNTED_FAVORITE_STATEMENTS = {"postgresql": 3, "sqlite": 4}
NEW_COMMENT_STATEMENTS = 2


@pytest.fixture
def viewer(testapp):
    return account(testapp, "viewer")


@pytest.fixture
def world(db_engine, viewer):
    """Authors, articles with tags, favorites, follows and comments."""
    with Session(db_engine) as session, session.begin():
        viewer_id = session.scalar(sa.select(User.id).where(User.username == viewer.username))
        authors = [
            User(username=f"author{n}", email=f"author{n}@example.com", password_hash="-", bio=f"Bio {n}")
            for n in range(AUTHORS)
        ]
        session.add_all(authors)
        session.flush()
        session.add_all(Follow(follower_id=viewer_id, followee_id=a.id) for a in authors[:FOLLOWED])

        def moment(n):
            return START + datetime.timedelta(minutes=n)

        articles = [
            Article(
                slug=f"article-{n}", title=f"Article {n}", description="Description", body="Body",
                author_id=authors[n % AUTHORS].id, created_at=moment(n), updated_at=moment(n),
                tags=[ArticleTag(name=f"tag{n % 7}"), ArticleTag(name="common")],
            )
            for n in range(ARTICLES)
        ]
        articles += [
            Article(
                slug=f"discussed-{count}", title="Discussed", description="D", body="B",
                author_id=authors[0].id, created_at=START, updated_at=START,
            )
            for count in COMMENT_COUNTS
        ]
        session.add_all(articles)
        session.flush()
        for n, article in enumerate(articles[:ARTICLES]):
            fans = [a.id for a in authors[: n % 4]] + ([viewer_id] if n % 3 == 0 else [])
            session.add_all(Favorite(user_id=fan, article_id=article.id) for fan in fans)
        for article, count in zip(articles[ARTICLES:], COMMENT_COUNTS):
            session.add_all(
                Comment(
                    body=f"Comment {n}", article_id=article.id, author_id=authors[n % AUTHORS].id,
                    created_at=moment(n), updated_at=moment(n),
                )
                for n in range(count)
            )
        session.flush()
        recount(session)  # written around the application: its counts from the rows


@pytest.fixture
def statements(app):
    """The SQL statements the app sends to the database, in order."""
    executed = []

    def record(connection, cursor, statement, parameters, context, executemany):
        executed.append(statement)

    engine = app_engine(app)
    sa.event.listen(engine, "before_cursor_execute", record)
    yield executed
    sa.event.remove(engine, "before_cursor_execute", record)


def read(testapp, statements, viewer, url, method="GET", status=200, body=None):
    """``method url`` as ``viewer``; the JSON answer and the statements it cost."""
    statements.clear()
    if body is not None:
        answer = testapp.post_json(url, body, headers=viewer.headers, status=status).json
    else:
        answer = testapp.request(url, method=method, headers=viewer.headers, status=status).json
    return answer, list(statements)


def assert_flat(costs, expected, backend):
    """Every request cost exactly ``expected`` statements (plus SQLite's BEGIN)."""
    counts = {size: len(executed) for size, executed in costs.items()}
    begin = 1 if backend == "sqlite" else 0
    assert set(counts.values()) == {expected + begin}, (counts, costs)


@pytest.mark.parametrize(
    "path, total",
    [
        ("/api/articles", ARTICLES + len(COMMENT_COUNTS)),
        ("/api/articles/feed", ARTICLES * FOLLOWED // AUTHORS + len(COMMENT_COUNTS)),
    ],
)
def test_a_page_of_articles_costs_the_same_whatever_its_size(
    testapp, backend, world, statements, viewer, path, total
):
    costs = {}
    for size in PAGE_SIZES:
        page, costs[size] = read(testapp, statements, viewer, f"{path}?limit={size}")
        articles = page["articles"]
        assert (len(articles), page["articlesCount"]) == (size, total)
        # The page really carries what would be loaded row by row otherwise.
        assert all(len(a["tagList"]) == 2 and a["author"]["bio"] for a in articles)
    # Past the end: no article, the total still there, the same cost.
    beyond, costs[0] = read(testapp, statements, viewer, f"{path}?limit=5&offset={total}")
    assert beyond == {"articles": [], "articlesCount": total}
    followed_only = path == "/api/articles/feed"
    assert {a["author"]["following"] for a in articles} == ({True} if followed_only else {True, False})
    assert {a["favorited"] for a in articles} == {True, False}
    assert {a["favoritesCount"] for a in articles} >= {0, 1, 2, 3, 4}
    assert_flat(costs, ARTICLE_PAGE_STATEMENTS, backend)


def test_comments_cost_the_same_however_many(testapp, backend, world, statements, viewer):
    costs = {}
    for count in COMMENT_COUNTS:
        url = f"/api/articles/discussed-{count}/comments"
        answer, costs[count] = read(testapp, statements, viewer, url)
        comments = answer["comments"]
        assert [c["body"] for c in comments] == [f"Comment {n}" for n in range(count)]
        page, costs[count, "page"] = read(testapp, statements, viewer, f"{url}?limit={count}")
        assert page == answer
    assert {c["author"]["following"] for c in comments} == {True, False}
    assert_flat(costs, COMMENTS_STATEMENTS, backend)


def test_an_article_and_the_writes_cost_a_fixed_number_of_statements(
    testapp, backend, world, statements, viewer
):
    answer, cost = read(testapp, statements, viewer, "/api/articles/article-3")
    assert answer["article"]["tagList"] == ["common", "tag3"] and answer["article"]["body"] == "Body"
    assert_flat({"article": cost}, ARTICLE_STATEMENTS, backend)

    changed, repeated = {}, {}
    for method, favorited in (("POST", True), ("POST", True), ("DELETE", False), ("DELETE", False)):
        costs = repeated if method in changed else changed
        answer, cost = read(testapp, statements, viewer, "/api/articles/article-1/favorite", method)
        costs[method] = cost
        assert answer["article"]["favorited"] is favorited
    assert_flat(changed, COUNTED_FAVORITE_STATEMENTS[backend], backend)
    assert_flat(repeated, FAVORITE_STATEMENTS, backend)

    body = {"comment": {"body": "Counted"}}
    answer, cost = read(
        testapp, statements, viewer, "/api/articles/article-1/comments", "POST", 201, body
    )
    assert answer["comment"]["body"] == "Counted"
    assert answer["comment"]["author"]["username"] == viewer.username
    assert_flat({"comment": cost}, NEW_COMMENT_STATEMENTS, backend)
