"""A Los Angeles app's answer pages, in a real browser: every one says America/Los_Angeles
and none says UTC (DESIGN section 11), and a number opens its users in the page's one
users panel."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from flask_bitmapist import FlaskBitmapist, mark_event

if TYPE_CHECKING:
    # Only the browser fixture needs Playwright, which the range suites do not install.
    from playwright.sync_api import Browser, Page

NOW = datetime(2026, 12, 1, 7, 30, tzinfo=timezone.utc)  # 23:30 on Nov 30 in Los Angeles
PAGES = [
    "cohort?primary=signed_up&secondary=paid&rows=3&cols=3",
    "trends?expr=paid&periods=5",
    "lifecycle?expr=paid&periods=5",
    "stickiness?expr=paid&periods=5",
    "funnel?step=signed_up&step=paid&periods=5",
]


@pytest.fixture
def live_server() -> Iterator[str]:
    app = Flask("zone-browser")
    app.config.update(
        TESTING=True, BITMAPIST_REDIS_URL="memory://", BITMAPIST_TIMEZONE="America/Los_Angeles"
    )
    FlaskBitmapist(app, clock=lambda: NOW)
    with app.app_context():
        for user in range(1, 6):
            mark_event("signed_up", user, now=NOW - timedelta(days=2))
            mark_event("paid", user, now=NOW - timedelta(days=user % 3))
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/bitmapist"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_every_answer_page_shows_the_apps_zone_never_utc(
    page: Page, live_server: str, path: str
) -> None:
    page.goto(f"{live_server}/{path}")
    summary = page.locator("#result .summary").inner_text()
    assert "2026-11-30 23:30 America/Los_Angeles" in summary
    assert "UTC" not in page.locator("main").inner_text()
    assert page.locator("#zone").inner_text().endswith("America/Los_Angeles")


@pytest.mark.parametrize(
    ("path", "number"),
    [
        (PAGES[0], "#heatmap td.cell.has-users"),
        (PAGES[1], "#trend-table td.has-users"),
        (PAGES[3], "#stickiness-table td[data-users-url]"),
    ],
)
def test_a_number_opens_its_users_in_the_one_users_panel(
    page: Page, live_server: str, path: str, number: str
) -> None:
    page.goto(f"{live_server}/{path}")
    page.locator(number).first.click()
    page.wait_for_selector("#users-panel:not([hidden]) #users-ids li")
    assert page.locator("#users-ids li").count() >= 1
    assert page.locator("#users-panel").count() == 1
