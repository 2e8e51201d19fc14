"""DELETE /api/articles/{slug}: the article goes, with its comments, favorites and tags."""

import sqlalchemy as sa

from myapp.articles.models import ArticleTag, Favorite
from myapp.comments.models import Comment

from ..helpers import add_comment, create_article, db_snapshot, favorite, get_article, list_articles


def delete(testapp, account, slug, status=204):
    return testapp.delete(f"/api/articles/{slug}", headers=account.headers, status=status)


def rows_of(db_engine, model):
    with db_engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(model))


def test_delete_answers_204_with_no_body(testapp, alice):
    article = create_article(testapp, alice.token)
    response = delete(testapp, alice, article["slug"])
    assert response.body == b""
    assert get_article(testapp, article["slug"], status=404) == {"errors": {"article": ["not found"]}}
    assert list_articles(testapp) == {"articles": [], "articlesCount": 0}


def test_delete_takes_comments_favorites_and_tags_along(testapp, db_engine, alice, bob):
    doomed = create_article(testapp, alice.token, title="Doomed", tagList=["only-here", "shared"])
    kept = create_article(testapp, alice.token, title="Kept", tagList=["shared"])
    for slug in (doomed["slug"], kept["slug"]):
        favorite(testapp, bob.token, slug)
        add_comment(testapp, bob.token, slug, f"On {slug}")

    delete(testapp, alice, doomed["slug"])

    assert testapp.get("/api/tags").json == {"tags": ["shared"]}
    assert testapp.get(f"/api/articles/{doomed['slug']}/comments", status=404).json == {
        "errors": {"article": ["not found"]}
    }
    assert slugs_favorited_by(testapp, "bob") == ["kept"]
    assert [c["body"] for c in testapp.get("/api/articles/kept/comments").json["comments"]] == [
        "On kept"
    ]
    # Nothing of the deleted article is left behind in the database.
    assert [rows_of(db_engine, model) for model in (Comment, Favorite, ArticleTag)] == [1, 1, 1]


def slugs_favorited_by(testapp, username):
    return [article["slug"] for article in list_articles(testapp, favorited=username)["articles"]]


def test_only_the_author_may_delete(testapp, db_engine, alice, bob):
    article = create_article(testapp, alice.token, tagList=["tag"])
    favorite(testapp, bob.token, article["slug"])
    add_comment(testapp, bob.token, article["slug"])
    before = db_snapshot(db_engine)

    response = delete(testapp, bob, article["slug"], status=403)

    assert response.json == {"errors": {"article": ["forbidden"]}}
    assert db_snapshot(db_engine) == before
    assert get_article(testapp, article["slug"])["favoritesCount"] == 1


def test_deleting_an_unknown_or_deleted_article_is_404(testapp, db_engine, alice):
    article = create_article(testapp, alice.token)
    delete(testapp, alice, article["slug"])
    create_article(testapp, alice.token, title="Another")
    before = db_snapshot(db_engine)

    for slug in (article["slug"], "never-existed"):
        assert delete(testapp, alice, slug, status=404).json == {"errors": {"article": ["not found"]}}
    assert db_snapshot(db_engine) == before
