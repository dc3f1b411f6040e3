"""The dashboard in a real browser: Debian's Chromium through Playwright, on a live server
over a real redis-server.

A product manager's path through the page: find an event, build a cohort with an OR
condition, switch the time group and percent, read the heatmap and the chart, download
the CSV and open a cell; keep only first-time rows; read a stickiness chart and a funnel
and list the users behind a bar, a number and a drop-off. Every number is checked against
a brute-force set model.
Hostile event names, one written by bitmapist itself, show as text.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bitmapist
import pytest
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page
from werkzeug.serving import BaseWSGIServer, make_server

from flask_bitmapist import FlaskBitmapist, set_property
from flask_bitmapist.domain import Period, TimeGroup, parse_expression
from flask_bitmapist.infra import RedisRepository
from tests.cohort_model import EventLog, Lookup, ModelCohort, generate_log
from tests.integration.servers import LocalRedisServer
from tests.unit.domain.set_model import SetModel, funnel_reached, row_starts, stickiness

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 27, 15, 20, tzinfo=timezone.utc)
#: Issue 5's name, spaces and all: bitmapist accepts it, so only bitmapist writes it here.
HOSTILE_EVENT = "<img src=x onerror=alert(1)>"
#: A hostile name this package can write too, so it is in the generated history.
XSS_EVENT = "<img/src=x/onerror=alert(1)>"
EVENTS = ("signed_up", "paid", "refunded", XSS_EVENT)
#: Who did HOSTILE_EVENT, by days before NOW.
HOSTILE_USERS = {0: (1, 2, 3, 4, 5), 1: (1, 2, 3), 2: (2, 9)}


def paid_or_refunded(s: Lookup) -> set[int]:
    return s("paid") | s("refunded")


def signed_up(s: Lookup) -> set[int]:
    return s("signed_up")


@pytest.fixture(scope="module")
def log() -> EventLog:
    """Sixty days of marks for 400 users (hourly bitmaps included)."""
    return generate_log(NOW, events=EVENTS, users=400, days=60)


@pytest.fixture(scope="module")
def stored(redis_server: LocalRedisServer, log: EventLog) -> Iterator[str]:
    """The session's redis-server, emptied, holding ``log`` and HOSTILE_EVENT as
    bitmapist's own ``mark_event`` writes it; its URL."""
    with redis_server.client() as client:
        client.flushall()
        bitmapist.SYSTEMS["dashboard-browser"] = client
        try:
            for days_ago, user_ids in HOSTILE_USERS.items():
                for user_id in user_ids:
                    bitmapist.mark_event(
                        HOSTILE_EVENT,
                        user_id,
                        system="dashboard-browser",
                        now=NOW - timedelta(days=days_ago),
                    )
        finally:
            del bitmapist.SYSTEMS["dashboard-browser"]
        assert client.exists(f"trackist_{HOSTILE_EVENT}_2026-11-27")
    repository = RedisRepository.from_url(redis_server.url)
    try:
        repository.mark(log.marks())
    finally:
        repository.close()
    yield redis_server.url


@pytest.fixture(scope="module")
def live_server(stored: str) -> Iterator[str]:
    """The dashboard of an app on that redis-server, served on a free loopback port."""
    app = Flask("dashboard-browser")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL=stored)
    FlaskBitmapist(app, clock=lambda: NOW)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page that fails the test on any dialog (an alert would mean injected
    script), script error, or content-security-policy violation."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            problems.append(f"console: {message.text}")

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    try:
        yield page
    finally:
        context.close()
    assert problems == []


def heatmap(page: Page) -> dict[tuple[int, int], tuple[int, str]]:
    """The cells on the page: (row, col) -> (count, text shown)."""
    cells: list[list[str]] = page.eval_on_selector_all(
        "#heatmap td.cell[data-row]",
        """cells => cells.map(c => [c.dataset.row, c.dataset.col, c.dataset.count,
                                     c.textContent.trim()])""",
    )
    return {(int(r), int(c)): (int(n), text) for r, c, n, text in cells}


def chart_averages(page: Page) -> list[float]:
    """The bold average curve's values, left to right."""
    values: list[str] = page.eval_on_selector_all(
        "#retention-chart circle.avg-point", "points => points.map(p => p.dataset.value)"
    )
    return [float(v) for v in values]


def expected_cells(model: ModelCohort) -> dict[tuple[int, int], int]:
    return {
        (i, j): v for i, row in enumerate(model.cells) for j, v in enumerate(row) if v is not None
    }


def column_means(model: ModelCohort, *, percent: bool) -> list[float]:
    means = []
    for j in range(len(model.cells[0])):
        values = [
            model.percent(i, j) if percent else model.cells[i][j]
            for i in range(len(model.cells))
            if model.cells[i][j] is not None
        ]
        means.append(sum(values) / len(values))  # type: ignore[arg-type]
    return means


def test_a_product_manager_builds_reads_and_downloads_a_cohort(
    page: Page, live_server: str, log: EventLog, tmp_path: Path
) -> None:
    # The events page: every event, the hostile names shown as text, a working filter.
    page.goto(f"{live_server}/bitmapist/")
    assert page.locator("#events-table tbody tr").count() == len(EVENTS) + 1
    for name in (XSS_EVENT, HOSTILE_EVENT):
        assert page.locator("#events-table").get_by_text(name, exact=True).is_visible()
    assert page.locator("#events-table img").count() == 0
    hostile_row = page.locator("#events-table tbody tr", has_text=HOSTILE_EVENT)
    assert hostile_row.locator("td").all_inner_texts()[:2] == ["5", "6"]  # today, this week
    page.fill("#event-search", "refu")
    visible = page.locator("#events-table tbody tr:visible th").all_inner_texts()
    assert visible == ["refunded"]
    today = Period.containing(TimeGroup.DAY, NOW)
    refunded_row = page.locator("#events-table tbody tr:visible td").all_inner_texts()
    assert refunded_row[0] == f"{len(log.users('refunded', today)):,}"

    # Build a cohort: signed up, then paid OR refunded, 7 days x 5 columns, recurring.
    page.click("nav >> text=Cohorts")
    # The pickers suggest names as they are typed (the page lists none itself); the first
    # screen's event is cleared first.
    page.fill("#primary", "")
    page.locator("#primary").press_sequentially("sign")
    page.locator('#event-suggestions option[value="signed_up"]').wait_for(state="attached")
    page.fill("#primary", "signed_up")
    page.fill("#secondary", "paid")
    page.click("#add-condition")
    condition = page.locator("#conditions .condition").last
    condition.locator("select[name=op]").select_option("or")
    condition.locator("input[name=additional]").fill("refunded")
    page.fill("#rows", "7")
    page.fill("#cols", "5")
    # Mode and Users/Percent are display changes: each submits the form at once. The
    # first screen shows percent; the counts are asked for in users.
    with page.expect_navigation():
        page.select_option("#mode", "recurring")
    with page.expect_navigation():
        page.check("input[name=as_percent][value='0']")
    assert "additional=refunded" in page.url and "op=or" in page.url

    daily = log.cohort(
        signed_up, paid_or_refunded, group=TimeGroup.DAY, rows=7, cols=5, now=NOW, mode="recurring"
    )
    shown = heatmap(page)
    assert {k: count for k, (count, _) in shown.items()} == expected_cells(daily)
    assert all(text == f"{count:,}" for count, text in shown.values())
    assert sum(expected_cells(daily).values()) > 0
    assert chart_averages(page) == pytest.approx(column_means(daily, percent=False), abs=0.006)
    assert page.locator("code.expr").nth(1).inner_text() == "paid | refunded"

    # Switch to weeks: the form submits itself and the table and chart follow.
    with page.expect_navigation():
        page.select_option("#time_group", "week")
    weekly = log.cohort(
        signed_up, paid_or_refunded, group=TimeGroup.WEEK, rows=7, cols=5, now=NOW, mode="recurring"
    )
    shown = heatmap(page)
    assert {k: count for k, (count, _) in shown.items()} == expected_cells(weekly)
    assert chart_averages(page) == pytest.approx(column_means(weekly, percent=False), abs=0.006)
    first_label = page.locator("#heatmap tbody th.date").first.inner_text()
    assert first_label.startswith("W") and "Oct 2026" in first_label

    # Percent: cells become shares of their row, the chart follows.
    with page.expect_navigation():
        page.check("input[name=as_percent][value='1']")
    shown = heatmap(page)
    for (i, j), (_, text) in shown.items():
        assert text == f"{weekly.percent(i, j):.1f}%"
    assert chart_averages(page) == pytest.approx(column_means(weekly, percent=True), abs=0.006)
    assert page.locator("#retention figcaption").inner_text().endswith("% of the row's users")

    # The CSV download holds the same table.
    with page.expect_download() as download_info:
        page.click("#download-csv")
    download = download_info.value
    assert download.suggested_filename == "cohort-week-2026-11-23.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text())))
    assert rows[0] == ["date", "users", "Week 0", "Week 1", "Week 2", "Week 3", "Week 4"]
    for i, line in enumerate(rows[1:8]):
        assert line[0] == weekly.dates[i].isoformat()
        assert line[1] == str(weekly.totals[i])
        assert line[2:] == [
            "" if weekly.cells[i][j] is None else f"{weekly.percent(i, j):.2f}" for j in range(5)
        ]
    assert rows[-1][0] == "total"

    # Drill down: the fullest cell lists exactly its users.
    (row, col), count = max(expected_cells(weekly).items(), key=lambda item: item[1])
    page.click(f"#heatmap td.cell[data-row='{row}'][data-col='{col}']")
    page.wait_for_selector("#users-panel:not([hidden]) #users-ids li")
    periods = [Period.containing(TimeGroup.WEEK, NOW).shift(i - 6) for i in range(7)]
    members = sorted(
        log.users("signed_up", periods[row])
        & (log.users("paid", periods[row + col]) | log.users("refunded", periods[row + col]))
    )
    ids = page.locator("#users-ids li").all_inner_texts()
    assert [int(i) for i in ids] == members[:200]
    assert len(members) == count

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)


@pytest.mark.parametrize("name", [HOSTILE_EVENT, XSS_EVENT])
def test_hostile_event_names_are_text_in_the_form_and_the_summary(
    page: Page, live_server: str, tmp_path: Path, name: str
) -> None:
    page.goto(f"{live_server}/bitmapist/cohort")
    page.fill("#primary", name)
    page.fill("#secondary", name)
    page.fill("#rows", "3")
    page.fill("#cols", "3")
    # Mode and Users/Percent are display changes: each submits the form at once. The
    # first screen shows percent; the counts are asked for in users.
    with page.expect_navigation():
        page.select_option("#mode", "recurring")
    with page.expect_navigation():
        page.check("input[name=as_percent][value='0']")

    # The text form quotes names that hold spaces or operator characters.
    assert page.locator("code.expr").all_inner_texts() == [f'"{name}"', f'"{name}"']
    assert page.input_value("#primary") == name
    assert page.input_value("#secondary") == name
    assert page.locator("img").count() == 0
    assert page.locator("#heatmap").is_visible()
    if name == HOSTILE_EVENT:
        # Rows are the 25th ({2, 9}), 26th ({1, 2, 3}) and 27th ({1..5}): bitmapist's marks.
        assert heatmap(page) == {
            (0, 0): (2, "2"),
            (0, 1): (1, "1"),
            (0, 2): (1, "1"),
            (1, 0): (3, "3"),
            (1, 1): (3, "3"),
            (2, 0): (5, "5"),
        }
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)


def test_conditions_can_be_added_and_removed(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bitmapist/cohort?primary=signed_up&secondary=paid")
    assert page.locator("#conditions .condition").count() == 0

    page.click("#add-condition")
    page.click("#add-condition")
    page.locator("#conditions .condition").nth(0).locator("input[name=additional]").fill("refunded")
    page.locator("#conditions .condition").nth(1).locator("[data-action=remove-condition]").click()
    assert page.locator("#conditions .condition").count() == 1
    with page.expect_navigation():
        page.click("text=Show cohort")

    assert page.url.count("additional=") == 1
    assert "additional=refunded" in page.url
    assert page.locator("code.expr").nth(1).inner_text() == "paid & refunded"


def test_a_bad_request_shows_the_field_and_keeps_the_form(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/bitmapist/cohort?primary=signed_up&secondary=paid")
    page.fill("#rows", "lots")
    with page.expect_navigation():
        page.click("text=Show cohort")

    alert = page.locator(".alert")
    assert alert.get_attribute("data-field") == "rows"
    assert "rows must be a whole number, got 'lots'" in alert.inner_text()
    assert page.input_value("#rows") == "lots"
    assert page.locator("#rows.invalid").count() == 1


# -- trends and lifecycle --------------------------------------------------------------------


def table_counts(page: Page, table: str) -> list[list[int]]:
    """The numbers of a trend or lifecycle table, row by row."""
    rows: list[list[str]] = page.eval_on_selector_all(
        f"#{table} tbody tr",
        "rows => rows.map(r => Array.from(r.querySelectorAll('td')).map(td => td.dataset.count))",
    )
    return [[int(n) for n in row] for row in rows]


def open_users(page: Page, selector: str) -> list[int]:
    """Click a count and read the users panel's ids."""
    with page.expect_response(lambda r: "/users?" in r.url):
        page.click(selector)
    page.wait_for_selector("#users-panel:not([hidden]) #users-ids li")
    return [int(i) for i in page.locator("#users-ids li").all_inner_texts()]


def test_a_product_manager_follows_an_event_into_its_trend(
    page: Page, live_server: str, log: EventLog, tmp_path: Path
) -> None:
    # The events page draws each event's last 30 days; paid's line opens its trend.
    page.goto(f"{live_server}/bitmapist/")
    assert page.locator("#events-table svg.sparkline").count() == len(EVENTS) + 1
    paid_row = page.locator("#events-table tbody tr", has_text="paid")
    points = paid_row.locator("svg.sparkline polyline").get_attribute("points") or ""
    assert len(points.split()) == 30
    page.screenshot(path=str(tmp_path / "events.png"), full_page=True)
    with page.expect_navigation():
        paid_row.locator("a.spark-link").click()
    assert "/bitmapist/trends?" in page.url and "expr=paid" in page.url
    daily = log.trend_users(["paid"], group=TimeGroup.DAY, periods=30, rolling=1, now=NOW)
    assert table_counts(page, "trend-table") == [[len(u)] for u in daily]

    # A second series, weekly actives drawn daily.
    page.fill("#expr-1", "signed_up | refunded")
    page.fill("#rolling", "7")
    page.fill("#periods", "21")
    with page.expect_navigation():
        page.click("text=Show")
    assert "rolling=7" in page.url and page.url.count("expr=") == 2
    paid = log.trend_users(["paid"], group=TimeGroup.DAY, periods=21, rolling=7, now=NOW)
    other = log.trend_users(
        ["signed_up", "refunded"], group=TimeGroup.DAY, periods=21, rolling=7, now=NOW
    )
    assert table_counts(page, "trend-table") == [
        [len(a), len(b)] for a, b in zip(paid, other, strict=True)
    ]
    # Each line is solid up to the last day, which is not over yet: dashed from there.
    assert page.locator("#trend-chart polyline.series-line:not(.incomplete)").count() == 2
    assert page.locator("#trend-chart polyline.series-line.incomplete").count() == 2
    assert page.locator("#trend-chart circle.series-point").count() == 42
    page.screenshot(path=str(tmp_path / "trends.png"), full_page=True)

    # A point on the chart lists its users: the last day's weekly payers.
    ids = open_users(page, "#trend-chart circle.series-point.line-0 >> nth=20")
    assert ids == sorted(paid[20])[:200]
    # So does a number in the table: the other series on the first day.
    ids = open_users(page, "#trend-table tbody tr >> nth=0 >> td >> nth=1")
    assert ids == sorted(other[0])[:200]
    assert page.locator("#users-title").inner_text().startswith("signed_up | refunded, ")
    page.screenshot(path=str(tmp_path / "trends-users.png"), full_page=True)

    # Weeks: the form submits itself on the change; CSV holds the same table.
    with page.expect_navigation():
        page.select_option("#time_group", "week")
    weekly = log.trend_users(["paid"], group=TimeGroup.WEEK, periods=21, rolling=7, now=NOW)
    assert [row[0] for row in table_counts(page, "trend-table")] == [len(u) for u in weekly]
    with page.expect_download() as download_info:
        page.click("#download-csv")
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text())))
    assert rows[0] == ["date", "paid", "signed_up | refunded"]
    assert [int(r[1]) for r in rows[1:]] == [len(u) for u in weekly]


def test_a_product_manager_reads_a_weekly_lifecycle(
    page: Page, live_server: str, log: EventLog, tmp_path: Path
) -> None:
    page.goto(f"{live_server}/bitmapist/")
    page.click("nav >> text=Lifecycle")
    page.fill("#expr-0", "paid | refunded")
    page.select_option("#time_group", "week")
    page.fill("#periods", "8")
    with page.expect_navigation():
        page.click("text=Show")
    model = log.lifecycle(["paid", "refunded"], group=TimeGroup.WEEK, periods=8, now=NOW)
    statuses = ("new", "returning", "resurrecting", "dormant")
    assert table_counts(page, "lifecycle-table") == [
        [len(model[s][k]) for s in statuses] for k in range(8)
    ]
    bars = page.eval_on_selector_all(
        "#lifecycle-chart rect.bar", "bars => bars.map(b => [b.dataset.status, b.dataset.count])"
    )
    expected = [[s, str(len(model[s][k]))] for k in range(8) for s in statuses if len(model[s][k])]
    assert bars == expected
    page.screenshot(path=str(tmp_path / "lifecycle.png"), full_page=True)

    # The dormant segment of the last week lists who left.
    ids = open_users(page, "#lifecycle-chart rect.bar-dormant >> nth=-1")
    assert ids == sorted(model["dormant"][7])[:200]
    # The week with the most returning users lists them, from the table.
    week = max(range(8), key=lambda k: len(model["returning"][k]))
    ids = open_users(page, f"#lifecycle-table tbody tr >> nth={week} >> td >> nth=1")
    assert ids == sorted(model["returning"][week])[:200]

    with page.expect_download() as download_info:
        page.click("#download-csv")
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text())))
    assert rows[0] == ["date", *statuses]
    assert [[int(n) for n in r[1:]] for r in rows[1:]] == table_counts(page, "lifecycle-table")


# -- first-time rows, stickiness, funnels ---------------------------------------------------


def drilled_ids(page: Page) -> list[int]:
    """The user ids the page's users panel lists once it has loaded (every answer's, the
    cohort page's included)."""
    page.wait_for_selector("#users-panel:not([hidden]) #users-ids li")
    return [int(i) for i in page.locator("#users-ids li").all_inner_texts()]


def test_the_first_time_switch_keeps_only_first_payers(
    page: Page, live_server: str, log: EventLog, tmp_path: Path
) -> None:
    page.goto(
        f"{live_server}/bitmapist/cohort?primary=paid&secondary=paid&rows=10&cols=6&mode=recurring"
    )
    plain = [
        int(t.replace(",", "")) for t in page.locator("#heatmap tbody td.users").all_inner_texts()
    ]
    with page.expect_navigation():
        page.check("#first_time")
    assert "first_time=1" in page.url
    assert page.locator("#first-time-note").is_visible()

    model = SetModel(log.entries)
    starts = row_starts(TimeGroup.DAY, NOW, 10)
    firsts = [model.first_ever({"paid"}, TimeGroup.DAY, s) for s in starts]
    totals = [
        int(t.replace(",", "")) for t in page.locator("#heatmap tbody td.users").all_inner_texts()
    ]
    assert totals == [len(users) for users in firsts]
    assert sum(totals) < sum(plain)
    # A cell drills down to first-time payers who paid again.
    row = max(range(10), key=lambda i: len(firsts[i]))
    page.click(f"#heatmap td.cell[data-row='{row}'][data-col='0']")
    assert drilled_ids(page) == sorted(firsts[row])[:200]
    page.screenshot(path=str(tmp_path / "first-time.png"), full_page=True)


def test_a_product_manager_reads_stickiness_and_lists_its_users(
    page: Page, live_server: str, log: EventLog, tmp_path: Path
) -> None:
    page.goto(f"{live_server}/bitmapist/")
    page.click("nav >> text=Stickiness")
    # The first screen counts weeks; the manager asks for days: the form submits itself.
    with page.expect_navigation():
        page.select_option("#time_group", "day")
    assert "time_group=day" in page.url
    page.fill("#expr", "paid | refunded")
    page.fill("#periods", "14")
    with page.expect_navigation():
        page.click("#stickiness-form button[type=submit]")

    model = SetModel(log.entries)
    users_in = model.users_of(parse_expression("paid | refunded"), TimeGroup.DAY)
    counts = stickiness(users_in, TimeGroup.DAY, NOW, 14)
    bars = page.eval_on_selector_all(
        "#stickiness-chart rect.bar", "bars => bars.map(b => [b.dataset.k, b.dataset.count])"
    )
    assert {int(k): int(n) for k, n in bars} == {k: n for k, n in enumerate(counts, 1) if n}
    cells = page.locator("#stickiness-table tbody td[data-count]").all_inner_texts()
    assert [int(c.replace(",", "")) for c in cells] == counts

    # Click the tallest bar, then a number in the table: each lists exactly its users.
    seen: dict[int, int] = {}
    for start in row_starts(TimeGroup.DAY, NOW, 14):
        for user in users_in(start):
            seen[user] = seen.get(user, 0) + 1
    k = max(range(1, 15), key=lambda n: counts[n - 1])
    page.click(f"#stickiness-chart rect.bar[data-k='{k}']")
    assert drilled_ids(page) == sorted(u for u, n in seen.items() if n == k)[:200]
    assert page.locator("#users-title").inner_text().startswith(f"{counts[k - 1]:,} users")
    page.click("#stickiness-table td[data-k='2']")
    page.locator("#users-title", has_text="exactly 2").wait_for()
    assert drilled_ids(page) == sorted(u for u, n in seen.items() if n == 2)[:200]
    page.screenshot(path=str(tmp_path / "stickiness.png"), full_page=True)


def test_a_product_manager_builds_a_funnel_and_opens_a_drop_off(
    page: Page, live_server: str, log: EventLog, tmp_path: Path
) -> None:
    # The first screen holds a funnel of the stored events (four steps here): the manager
    # replaces the first three and blanks the fourth.
    page.goto(f"{live_server}/bitmapist/funnel")
    rows = page.locator("#funnel-steps .step-row")
    assert rows.count() == 5
    rows.nth(0).locator("input.event-picker").fill("signed_up")
    rows.nth(1).locator("input.event-picker").fill("paid")
    rows.nth(2).locator("input.expression").fill("refunded | paid")
    rows.nth(3).locator("input.event-picker").fill("")
    with page.expect_navigation():
        page.click("#funnel-form button[type=submit]")
    # The page offers one more blank step row.
    assert page.locator("#funnel-steps .step-row").count() == 4

    model = SetModel(log.entries)
    steps = ["signed_up", "paid", "refunded | paid"]
    reached = funnel_reached(
        [model.users_of(parse_expression(s), TimeGroup.DAY) for s in steps], TimeGroup.DAY, NOW, 30
    )
    counts = [len(users) for users in reached]
    bars = page.eval_on_selector_all(
        "#funnel-chart rect.bar", "bars => bars.map(b => [b.dataset.step, b.dataset.count])"
    )
    assert [(int(s), int(n)) for s, n in bars] == [(k, n) for k, n in enumerate(counts, 1) if n]
    values = page.locator("#funnel-chart text.bar-value").all_text_contents()
    assert values[1] == (
        f"{counts[1]:,} · {100 * counts[1] / counts[0]:.1f}% of prev. · "
        f"{100 * counts[1] / counts[0]:.1f}% of first"
    )

    # The drop-off between steps 1 and 2 lists the users lost there.
    page.click("#funnel-chart text.drop[data-step='1']")
    assert drilled_ids(page) == sorted(reached[0] - reached[1])[:200]
    # A step's count in the table lists the users who reached it.
    page.click("#funnel-table td[data-step='3']")
    page.locator("#users-title", has_text="Step 3").wait_for()
    assert drilled_ids(page) == sorted(reached[2])[:200]

    with page.expect_download() as download_info:
        page.click("#download-csv")
    saved = tmp_path / "funnel.csv"
    download_info.value.save_as(saved)
    lines = list(csv.reader(io.StringIO(saved.read_text())))
    assert [int(line[2]) for line in lines[1:]] == counts
    page.screenshot(path=str(tmp_path / "funnel.png"), full_page=True)

    # Group by submits the funnel again, each step row kept in its place.
    with page.expect_navigation():
        page.select_option("#time_group", "week")
    assert "time_group=week" in page.url
    weekly = funnel_reached(
        [model.users_of(parse_expression(s), TimeGroup.WEEK) for s in steps],
        TimeGroup.WEEK,
        NOW,
        30,
    )
    cells = page.locator("#funnel-table tbody td[data-step]").all_inner_texts()
    assert [int(c.replace(",", "")) for c in cells] == [len(users) for users in weekly]


def test_a_drill_down_saved_as_a_cohort_is_a_segment(page: Page, live_server: str) -> None:
    query = "expr=paid+%7C+refunded&time_group=day&periods=14"
    page.goto(f"{live_server}/bitmapist/stickiness?{query}")
    page.click("#stickiness-table td[data-k='2']")
    page.locator("#users-title", has_text="exactly 2").wait_for()
    drilled = page.locator("#users-title").inner_text()
    count = int(drilled.split(" users")[0].replace(",", ""))
    assert count > 0
    page.fill("#users-save-name", "twice_in_two_weeks")
    with page.expect_response(lambda r: r.url.endswith("/api/saved-cohorts")) as saved:
        page.click("#users-save button[type=submit]")
    assert saved.value.status == 201
    page.locator("#users-save-status", has_text="Saved").wait_for()
    assert f"Saved {count:,} users as twice_in_two_weeks" in page.inner_text("#users-save-status")

    # The saved drill-down is a segment: within it, everyone matched in exactly 2 days.
    page.goto(f"{live_server}/bitmapist/stickiness?{query}&segment=twice_in_two_weeks")
    assert page.input_value("#segment") == "twice_in_two_weeks"
    cells = page.locator("#stickiness-table tbody td[data-count]").all_inner_texts()
    assert [int(c.replace(",", "")) for c in cells] == [0, count] + [0] * 12


# -- segments: a trend broken down by plan, stickiness compared -----------------------------


def test_a_trend_by_plan_draws_a_line_per_group_and_stickiness_its_previous_window(
    page: Page, live_server: str, stored: str, log: EventLog, tmp_path: Path
) -> None:
    # The even users are on the pro plan, the odd ones on free (every user has a plan).
    app = Flask("dashboard-browser-plans")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL=stored)
    FlaskBitmapist(app, clock=lambda: NOW)
    with app.app_context():
        for user_id in range(400):
            set_property(user_id, "plan", "pro" if user_id % 2 == 0 else "free")
    plans = {"pro": 0, "free": 1}

    page.goto(f"{live_server}/bitmapist/trends?expr=paid&time_group=day&periods=14&breakdown=plan")
    paid = log.trend_users(["paid"], group=TimeGroup.DAY, periods=14, rolling=1, now=NOW)
    lines = page.eval_on_selector_all(
        "#trend-chart g.series",
        "gs => gs.map(g => [g.querySelector('polyline title').textContent,"
        " Array.from(g.querySelectorAll('circle')).map(c => Number(c.dataset.count))])",
    )
    # One line per group: pro, free and everyone else (nobody), each of 14 days.
    assert {label for label, _ in lines} == {
        "paid, plan = pro",
        "paid, plan = free",
        "paid, everyone else",
    }
    for label, counts in lines:
        plan = label.removeprefix("paid, plan = ")
        want = [sum(1 for u in day if plans.get(plan) == u % 2) for day in paid]
        assert counts == want, label
    # Each keeps its own colour, and the day not over yet is dashed on every line.
    classes = page.eval_on_selector_all(
        "#trend-chart polyline.series-line:not(.incomplete)", "ls => ls.map(l => l.classList[1])"
    )
    assert sorted(classes) == ["line-0", "line-1", "line-2"]
    assert page.locator("#trend-chart polyline.series-line.incomplete").count() == 3
    page.screenshot(path=str(tmp_path / "trend-by-plan.png"), full_page=True)

    # A point of the pro line lists the pro users who paid that day.
    pro = next(i for i, (label, _) in enumerate(lines) if label.endswith("pro"))
    ids = open_users(page, f"#trend-chart g.series >> nth={pro} >> circle >> nth=12")
    assert ids == sorted(u for u in paid[12] if u % 2 == 0)[:200]
    # A number of the free block lists free users only.
    cell = page.locator("#breakdown-groups .breakdown-group[data-value='free'] td.has-users").first
    count = int(cell.get_attribute("data-count") or "0")
    with page.expect_response(lambda r: "/users?" in r.url and "group=free" in r.url):
        cell.click()
    page.locator("#users-summary", has_text=f"{count:,} user ids").wait_for()
    shown = [int(i) for i in page.locator("#users-ids li").all_inner_texts()]
    assert shown and {u % 2 for u in shown} == {1}

    # Stickiness against the 14 days before: the previous window faded and dashed.
    page.goto(
        f"{live_server}/bitmapist/stickiness?expr=paid&time_group=day&periods=14&compare=previous"
    )
    model = SetModel(log.entries)
    users_in = model.users_of(parse_expression("paid"), TimeGroup.DAY)
    now_counts = stickiness(users_in, TimeGroup.DAY, NOW, 14)
    before = stickiness(users_in, TimeGroup.DAY, NOW - timedelta(days=14), 14)
    drawn = page.eval_on_selector_all(
        "#stickiness-chart rect.previous-bar",
        "bars => bars.map(b => [Number(b.dataset.k), Number(b.dataset.count),"
        " b.getAttribute('stroke-dasharray'), getComputedStyle(b).fillOpacity])",
    )
    assert drawn and [(k, n) for k, n, _, _ in drawn] == [
        (k, n) for k, n in enumerate(before, 1) if n
    ]
    assert all(dash == "4 3" and float(opacity) < 0.5 for _, _, dash, opacity in drawn)
    # The current bars still list their users, through the faded ones over them.
    k = max(range(1, 15), key=lambda n: now_counts[n - 1])
    page.click(f"#stickiness-chart rect.bar[data-k='{k}']")
    page.locator("#users-title", has_text=f"exactly {k} day").wait_for()
    previous = page.locator("#stickiness-table tbody td.previous").all_inner_texts()
    assert [int(c.replace(",", "")) for c in previous] == before
    page.screenshot(path=str(tmp_path / "stickiness-previous.png"), full_page=True)
