"""GET /api/tags: every tag some article carries, most used first."""

from ..helpers import create_article


def test_no_tags(testapp):
    assert testapp.get("/api/tags").json == {"tags": []}


def test_tags_in_use_most_used_first_then_by_name(testapp, alice, bob):
    create_article(testapp, alice.token, title="one", tagList=["rare", "common", "middle"])
    create_article(testapp, bob.token, title="two", tagList=["common", "middle", "also-rare"])
    create_article(testapp, bob.token, title="three", tagList=["common"])
    create_article(testapp, bob.token, title="untagged")

    assert testapp.get("/api/tags").json == {"tags": ["common", "middle", "also-rare", "rare"]}


def test_a_tag_goes_when_no_article_carries_it(testapp, alice):
    create_article(testapp, alice.token, title="one", tagList=["kept", "edited-away", "deleted"])
    create_article(testapp, alice.token, title="two", tagList=["kept", "deleted"])
    create_article(testapp, alice.token, title="three", tagList=["kept"])

    testapp.put_json("/api/articles/one", {"article": {"tagList": ["kept"]}}, headers=alice.headers)
    assert testapp.get("/api/tags").json == {"tags": ["kept", "deleted"]}

    testapp.delete("/api/articles/one", headers=alice.headers, status=204)
    testapp.delete("/api/articles/two", headers=alice.headers, status=204)
    assert testapp.get("/api/tags").json == {"tags": ["kept"]}
