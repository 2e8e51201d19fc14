"""The docs page in a real browser: Swagger UI renders and calls the live API.

The real app is served by waitress on 127.0.0.1 (a free port, a background
thread); headless Chromium, driven by Playwright, opens ``/api/docs``, expands
``GET /api/tags``, clicks "Try it out" then "Execute", and reads the live
answer off the page. Every request the page makes is recorded, and any to a
host other than 127.0.0.1 is aborted and fails the test: the page must work
offline.

Needs Debian's ``chromium`` (``scripts/install-browser.sh`` installs it) and
the ``playwright`` package (the ``testing`` extra); Playwright's own browser
downloads are never used. Without them the test is skipped, unless
``MYAPP_REQUIRE_BROWSER=1``, which makes it fail instead. ``MYAPP_CHROMIUM``
points at another Chromium binary. Two screenshots are kept in pytest's
temporary folder: ``docs-overview.png`` (the page as rendered) and
``docs-tags-executed.png`` (the live answer); ``pytest -s`` prints the path.
"""

import json
import os
import threading
import time
from urllib.parse import urlsplit

import pytest
import waitress
import webtest
from waitress import wasyncore

from myapp.openapi.document import OPERATIONS

from ..helpers import auth, register

CHROMIUM = os.environ.get("MYAPP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOST = "127.0.0.1"
TAG = "swagger-ui-e2e"
#: Milliseconds to wait for one thing to show on the page.
TIMEOUT_MS = 15_000


def browser_missing(reason):
    """Skip for ``reason``; fail instead when MYAPP_REQUIRE_BROWSER=1."""
    if os.environ.get("MYAPP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (and MYAPP_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def sync_playwright():
    """Playwright's sync API, and a Chromium binary it can launch."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_missing("the playwright package is not installed (pip install -e '.[testing]')")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        browser_missing(
            f"the docs-page browser test needs Chromium at {CHROMIUM}: "
            "install it with `sudo bash scripts/install-browser.sh` (Debian's package)"
        )
    return sync_playwright


@pytest.fixture
def live_server(backend, make_app):
    """The real app behind waitress on 127.0.0.1; yields ``(base_url, wsgi_app)``."""
    if backend != "sqlite":
        pytest.skip("the docs page does not depend on the database: SQLite is enough")
    app = make_app()
    socket_map = {}
    server = waitress.create_server(app, map=socket_map, host=LOCAL_HOST, port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress-docs-test", daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.effective_port}", app
    finally:
        # Close every socket from inside the server's own loop, which then ends.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(socket_map))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive(), "the waitress thread did not stop"


def test_swagger_ui_renders_and_calls_the_live_api(live_server, sync_playwright, tmp_path):
    base_url, app = live_server
    # A tag that only this test creates, so the page can only show it by asking the API.
    api = webtest.TestApp(app)
    token, _ = register(api, "docs-browser")
    article = {"title": "Docs in a browser", "description": "d", "body": "b", "tagList": [TAG]}
    api.post_json("/api/articles", {"article": article}, headers=auth(token), status=201)

    requests, blocked, errors = [], [], []

    def only_local(route):
        url = route.request.url
        if urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    failure = None
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            context.route("**/*", only_local)
            context.on("request", lambda request: requests.append(request.url))
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.set_default_timeout(TIMEOUT_MS)
            try:
                status, body, url = execute_list_tags(page, base_url, tmp_path)
            except Exception as exc:  # a timeout, or an assertion on the page
                page.screenshot(path=str(tmp_path / "docs-failure.png"))
                failure = (
                    f"{exc}\nrequests: {requests}\nblocked (not {LOCAL_HOST}): {blocked}\n"
                    f"page errors: {errors}\nscreenshot: {tmp_path / 'docs-failure.png'}"
                )
        finally:
            browser.close()
    if failure:
        pytest.fail(failure, pytrace=False)
    elapsed = time.monotonic() - started
    print(f"screenshots in {tmp_path} (browser part: {elapsed:.1f}s)")

    assert status == "200", body
    assert url == f"{base_url}/api/tags"
    assert json.loads(body) == {"tags": [TAG]}, body
    assert errors == [], errors
    assert blocked == [], f"the page asked hosts other than {LOCAL_HOST}: {blocked}"
    assert requests and all(urlsplit(u).hostname == LOCAL_HOST for u in requests), requests
    assert f"{base_url}/api/openapi.json" in requests
    assert f"{base_url}/api/tags" in requests


def execute_list_tags(page, base_url, tmp_path):
    """Open the docs, run GET /api/tags from them; the live ``(status, body, request url)``."""
    page.goto(f"{base_url}/api/docs")
    # Swagger UI has fetched /api/openapi.json and rendered every operation.
    title = page.locator("#swagger-ui .information-container .title")
    title.wait_for()
    assert "Conduit API" in title.inner_text()
    operation = page.locator("#operations-Tags-listTags")
    operation.wait_for()
    assert page.locator(".opblock").count() == len(OPERATIONS)
    page.screenshot(path=str(tmp_path / "docs-overview.png"))

    operation.locator(".opblock-summary-control").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()

    live = operation.locator(".live-responses-table tbody .response")
    live.wait_for()
    status = live.locator(".response-col_status").inner_text().strip()
    body = live.locator(".response-col_description pre").first.inner_text()
    url = operation.locator(".request-url pre").inner_text().strip()
    operation.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "docs-tags-executed.png"))
    return status, body, url
