"""The first screen of every page on the demo app's data, in a real browser (DESIGN
section 17): an answer without parameters, placeholders naming stored events, the period
containing now dashed, a typo's warning, the users panel in view after a click, and no
sideways scroll at 390 px."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from examples.demo_app import create_app

if TYPE_CHECKING:
    # Only the browser fixture needs Playwright, which the range suites do not install.
    from playwright.sync_api import Browser, Page

ANSWER_PAGES = ["cohort", "trends", "lifecycle", "stickiness", "funnel"]
#: What each page draws for its answer: a mark of the chart that stands for users.
CHART_MARKS = {
    "cohort": "#retention-chart .avg-point",
    "trends": "#trend-chart .series-point.has-users",
    "lifecycle": "#lifecycle-chart rect.bar",
    "stickiness": "#result svg .bar[data-users-url]",
    "funnel": "#result svg [data-users-url]",
}
#: Each page asked about a typo (``user:loged_in``) beside a stored event.
TYPOS = {
    "cohort": "cohort?primary=user:created&secondary=user:loged_in",
    "trends": "trends?expr=user:created&expr=user:loged_in",
    "lifecycle": "lifecycle?expr=user:created+|+user:loged_in",
    "stickiness": "stickiness?expr=user:loged_in",
    "funnel": "funnel?step=user:created&step=user:loged_in",
}
#: A number of each page's answer that lists its users.
NUMBERS = {
    "cohort": "#heatmap td.cell.has-users",
    "trends": "#trend-table td.has-users",
    "lifecycle": "#lifecycle-table td.has-users",
    "stickiness": "#result td[data-users-url]",
    "funnel": "#result td [data-users-url], #result td[data-users-url]",
}


@pytest.fixture(scope="module")
def demo_server() -> Iterator[str]:
    """The demo app (a smaller history than ``make demo``'s) on a free loopback port."""
    app = create_app({"TESTING": True, "DEMO_DAYS": 45, "DEMO_USERS": 1500})
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/bitmapist"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def open_page(browser: Browser, width: int) -> Page:
    return browser.new_context(viewport={"width": width, "height": 900}).new_page()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = open_page(browser, 1400)
    try:
        yield opened
    finally:
        opened.context.close()


@pytest.mark.parametrize("name", ANSWER_PAGES)
def test_each_first_screen_shows_an_answer_naming_stored_events(
    page: Page, demo_server: str, name: str
) -> None:
    stored = {e["name"] for e in page.request.get(f"{demo_server}/api/events").json()["events"]}
    page.goto(f"{demo_server}/{name}")
    assert page.locator("#result").count() == 1
    assert page.locator(CHART_MARKS[name]).count() > 0
    counts = page.eval_on_selector_all(
        "#result [data-count]", "els => els.map(e => Number(e.dataset.count))"
    )
    assert sum(counts) > 0
    placeholders = page.eval_on_selector_all(
        "[placeholder]", "els => els.map(e => e.getAttribute('placeholder'))"
    )
    named = {n for text in placeholders for n in re.findall(r"[\w.-]+:[\w.-]+", text)}
    assert named and named <= stored
    assert not re.search(r"user:active|cart|wishlist", " ".join(placeholders))


def test_the_period_containing_now_is_dashed(page: Page, demo_server: str) -> None:
    page.goto(f"{demo_server}/trends")
    dashed = page.locator("#trend-chart polyline.series-line.incomplete").first
    assert dashed.evaluate("e => getComputedStyle(e).strokeDasharray") not in ("", "none")
    assert page.locator("#trend-table tr.incomplete .incomplete-mark").count() == 1
    page.goto(f"{demo_server}/lifecycle")
    bar = page.locator("#lifecycle-chart rect.bar.incomplete").first
    assert bar.evaluate("e => getComputedStyle(e).strokeDasharray") not in ("", "none")
    page.goto(f"{demo_server}/cohort")
    cell = page.locator("#heatmap td.cell.incomplete").first
    assert cell.evaluate("e => getComputedStyle(e).outlineStyle") == "dashed"


@pytest.mark.parametrize("name", ANSWER_PAGES)
def test_a_typo_is_warned_about(page: Page, demo_server: str, name: str) -> None:
    page.goto(f"{demo_server}/{TYPOS[name]}")
    warning = page.locator("#answer-warnings")
    assert warning.is_visible()
    assert "no data for event 'user:loged_in'" in warning.inner_text()


@pytest.mark.parametrize("name", ANSWER_PAGES)
def test_a_click_on_a_number_shows_its_users_in_view(
    page: Page, demo_server: str, name: str
) -> None:
    page.goto(f"{demo_server}/{name}")
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(NUMBERS[name]).first.click()
    page.wait_for_selector("#users-panel:not([hidden]) #users-ids li")
    box = page.evaluate(
        "() => { const r = document.getElementById('users-title').getBoundingClientRect();"
        " return [r.top, r.bottom, window.innerHeight]; }"
    )
    top, bottom, height = box
    assert top >= 0 and bottom <= height
    assert page.evaluate("document.activeElement.id") == "users-title"


@pytest.mark.parametrize("name", ["", *ANSWER_PAGES])
def test_no_page_scrolls_sideways_at_390_px(browser: Browser, demo_server: str, name: str) -> None:
    narrow = open_page(browser, 390)
    try:
        narrow.goto(f"{demo_server}/{name}")
        assert narrow.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        narrow.context.close()
