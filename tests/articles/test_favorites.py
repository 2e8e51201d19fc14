"""POST and DELETE /api/articles/{slug}/favorite."""

import pytest

from ..helpers import create_article, db_snapshot, favorite, get_article, list_articles, slugs


def unfavorite(testapp, account, slug):
    return testapp.delete(f"/api/articles/{slug}/favorite", headers=account.headers, status=200).json


@pytest.fixture
def article(testapp, alice):
    return create_article(testapp, alice.token, title="Loved", tagList=["t"])


def favorites_seen_by(testapp, slug, account=None):
    article = get_article(testapp, slug, account.token if account else None)
    return article["favorited"], article["favoritesCount"]


def test_favorite_answers_the_whole_article_favorited(testapp, bob, article):
    answer = favorite(testapp, bob.token, article["slug"])
    assert answer == {"article": {**article, "favorited": True, "favoritesCount": 1}}


def test_a_favorite_persists_and_each_viewer_sees_the_count(testapp, alice, bob, carol, article):
    favorite(testapp, bob.token, article["slug"])
    favorite(testapp, carol.token, article["slug"])

    assert favorites_seen_by(testapp, "loved", bob) == (True, 2)
    assert favorites_seen_by(testapp, "loved", carol) == (True, 2)
    assert favorites_seen_by(testapp, "loved", alice) == (False, 2)
    assert favorites_seen_by(testapp, "loved") == (False, 2)
    assert slugs(list_articles(testapp, favorited="bob")) == ["loved"]


def test_authors_may_favorite_their_own_article(testapp, alice, article):
    assert favorite(testapp, alice.token, "loved")["article"]["favoritesCount"] == 1
    assert favorites_seen_by(testapp, "loved", alice) == (True, 1)


def test_favoriting_twice_counts_once(testapp, bob, article):
    favorite(testapp, bob.token, "loved")
    assert favorite(testapp, bob.token, "loved")["article"]["favoritesCount"] == 1
    assert favorites_seen_by(testapp, "loved", bob) == (True, 1)


def test_unfavorite_removes_only_the_viewers_favorite(testapp, bob, carol, article):
    favorite(testapp, bob.token, "loved")
    favorite(testapp, carol.token, "loved")

    answer = unfavorite(testapp, bob, "loved")

    assert answer == {"article": {**article, "favorited": False, "favoritesCount": 1}}
    assert favorites_seen_by(testapp, "loved", bob) == (False, 1)
    assert favorites_seen_by(testapp, "loved", carol) == (True, 1)
    assert list_articles(testapp, favorited="bob") == {"articles": [], "articlesCount": 0}


def test_unfavoriting_an_article_not_favorited_changes_nothing(testapp, db_engine, bob, carol, article):
    favorite(testapp, carol.token, "loved")
    before = db_snapshot(db_engine)

    assert unfavorite(testapp, bob, "loved")["article"]["favoritesCount"] == 1
    assert db_snapshot(db_engine) == before


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_favorite_of_an_unknown_article_is_404(testapp, db_engine, bob, article, method):
    before = db_snapshot(db_engine)
    response = testapp.request(
        "/api/articles/no-such-article/favorite", method=method, headers=bob.headers, status=404
    )
    assert response.json == {"errors": {"article": ["not found"]}}
    assert db_snapshot(db_engine) == before
