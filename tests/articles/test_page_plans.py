"""The first page of the default size is planned once per connection, not per request.

psycopg prepares a statement after a few runs on a connection; PostgreSQL then
plans it once (a generic plan) when that plan costs no more than planning for
each run's values. The first page of the default size has its row count in
the SQL (myapp.articles.queries), so its generic plan is as good as a
per-request one and PostgreSQL keeps it. With ``LIMIT``/``OFFSET`` parameters
it must guess, and planned the page again on every request.

And whatever PostgreSQL plans, a page reads the columns of its own rows only.
"""

import pytest
import sqlalchemy as sa

from myapp.articles.queries import compiled_page
from myapp.articles.schemas import DEFAULT_LIMIT

from ..conftest import app_engine
from ..contract import ContractTestApp
from ..helpers import auth, create_article, follow, register

PLANS = "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s"
REQUESTS = 12
#: Enough articles that PostgreSQL's estimates tell a page of 21 rows from 10 % of them.
ARTICLES = 400
MORE_ARTICLES = sa.text("""
    INSERT INTO articles (slug, title, description, body, author_id, created_at, updated_at)
    SELECT 'filler-' || n, 'Filler', 'd', 'b', :author_id,
           now() - n * interval '1 minute', now() - n * interval '1 minute'
    FROM generate_series(1, :count) AS n
""")


@pytest.mark.parametrize("path, signed_in", [
    ("/api/articles", False),
    ("/api/articles?tag=dragons", False),
    ("/api/articles", True),
    ("/api/articles/feed", True),
])
def test_a_first_page_is_planned_once_per_connection(backend, make_app, db_engine, path, signed_in):
    if backend != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    app = make_app(**{"sqlalchemy.pool_size": "1", "sqlalchemy.max_overflow": "0"})
    client = ContractTestApp(app)
    alice, bob = register(client, "alice")[0], register(client, "bob")[0]
    follow(client, alice, "bob")
    for n in range(3):
        create_article(client, bob, title=f"Dragons {n}", tagList=["dragons"])
    with db_engine.begin() as connection:
        bob_id = connection.execute(sa.text("SELECT id FROM users WHERE username = 'bob'")).scalar()
        connection.execute(MORE_ARTICLES, {"author_id": bob_id, "count": ARTICLES})
    with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE articles, article_tags, users, follows, counters")
    headers = auth(alice) if signed_in else {}
    for _ in range(REQUESTS):
        assert len(client.get(path, headers=headers, status=200).json["articles"]) == (
            3 if "tag" in path else 20
        )
    with app_engine(app).connect() as connection:  # the pool's one connection
        plans = connection.exec_driver_sql(PLANS, ("WITH page AS MATERIALIZED %",)).all()
    assert len(plans) == 1, plans
    generic, custom = plans[0]
    # psycopg prepares on the 6th run; PostgreSQL's first 5 runs of it are custom.
    assert generic >= REQUESTS - 5 - 5, plans


def test_other_pages_keep_their_parameters(make_app):
    """Any other limit or offset answers the same rows as before."""
    client = ContractTestApp(make_app())
    alice = register(client, "alice")[0]
    for n in range(3):
        create_article(client, alice, title=f"Page {n}")
    first = client.get("/api/articles", status=200).json["articles"]
    assert [a["title"] for a in first] == ["Page 2", "Page 1", "Page 0"]
    assert client.get("/api/articles?limit=2", status=200).json["articles"] == first[:2]
    assert client.get("/api/articles?offset=1", status=200).json["articles"] == first[1:]
    assert client.get("/api/articles?limit=20&offset=2", status=200).json["articles"] == first[2:]


def loops_on(plan, table):
    """How many times the plan read ``table`` (EXPLAIN ANALYZE's loops, every node)."""
    own = plan["Actual Loops"] if plan.get("Relation Name") == table else 0
    return own + sum(loops_on(child, table) for child in plan.get("Plans", ()))


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_page_reads_the_tags_of_its_own_rows_only_on_a_database_not_yet_analyzed(
    backend, make_app, db_engine, signed_in
):
    """Before ANALYZE PostgreSQL's estimates are guesses; whatever it plans, the columns of
    a page (tags, counts, favorited, following) are read for the page's rows, not for
    every article. Inlined under the total's outer join they were read where the
    articles are, and the signed-in list read all 400 articles' tags."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's planner")
    client = ContractTestApp(make_app())
    alice = register(client, "alice")[0]
    create_article(client, alice, title="Dragons", tagList=["dragons"])
    with db_engine.begin() as connection:
        alice_id = connection.execute(sa.text("SELECT id FROM users WHERE username = 'alice'")).scalar()
        connection.execute(MORE_ARTICLES, {"author_id": alice_id, "count": ARTICLES})
        tags_of = sa.text("INSERT INTO article_tags (article_id, name, created_at) "
                          "SELECT id, 'filler', created_at FROM articles")
        connection.execute(tags_of)
    page = compiled_page(signed_in, (), False, False, first_rows=DEFAULT_LIMIT + 1)
    params = {"viewer_id": alice_id} if signed_in else {}
    with db_engine.connect() as connection:
        prepared = page.prepared(connection.dialect)
        plan = connection.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + prepared.sql, prepared.parameters(params)
        ).scalar()[0]["Plan"]
    assert loops_on(plan, "article_tags") <= DEFAULT_LIMIT + 1, plan
