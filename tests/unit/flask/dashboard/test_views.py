"""The dashboard's routes through the Flask test client, checked against a set model."""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_bitmapist import FlaskBitmapist, current_state
from flask_bitmapist.domain import EventListing, Mark, Period, TimeGroup
from flask_bitmapist.infra import InMemoryRepository, RedisRepository
from tests.cohort_model import EventLog, Lookup
from tests.spaced_events import write_spaced_events
from tests.stores import FetchCounting
from tests.unit.flask.dashboard.support import NOW, XSS_EVENT, AppFactory, read_heatmap
from tests.unit.flask.support import DownRepository, FlakyRepository

COHORT = {"primary": "signed_up", "secondary": "paid", "rows": "8", "cols": "6"}


def query(**overrides: str) -> str:
    return urlencode({**COHORT, **overrides})


def paid(s: Lookup) -> set[int]:
    return s("paid")


def signed_up(s: Lookup) -> set[int]:
    return s("signed_up")


# -- the events page ---------------------------------------------------------------------


def most_recent_first(log: EventLog) -> list[str]:
    """The log's events, the one marked on the latest day first (then by name)."""
    newest: dict[str, datetime] = {}
    for mark in log.marks():
        day = Period.containing(TimeGroup.DAY, mark.moment).label
        newest[mark.event] = max(day, newest.get(mark.event, day))
    return sorted(newest, key=lambda name: (-newest[name].toordinal(), name))


def test_index_lists_every_event_most_recent_first_with_counts_for_each_period(
    client: FlaskClient, log: EventLog
) -> None:
    response = client.get("/bitmapist/")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    names = re.findall(r'<tr data-name="([^"]*)">', html)
    escaped = {XSS_EVENT: "&lt;img/src=x/onerror=alert(1)&gt;"}
    assert names == [escaped.get(n, n).lower() for n in most_recent_first(log)]
    for group, heading in [
        (TimeGroup.DAY, "Today"),
        (TimeGroup.WEEK, "This week"),
        (TimeGroup.MONTH, "This month"),
        (TimeGroup.YEAR, "This year"),
    ]:
        assert heading in html
        expected = len(log.users("paid", Period.containing(group, NOW)))
        assert f">{expected:,}</td>" in html


def test_index_counts_match_the_model_in_the_api(client: FlaskClient, log: EventLog) -> None:
    data = client.get("/bitmapist/api/events").get_json()

    assert [e["name"] for e in data["events"]] == most_recent_first(log)
    assert (data["page"], data["pages"], data["total"], data["complete"]) == (1, 1, 4, True)
    for entry in data["events"]:
        for group in (TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH, TimeGroup.YEAR):
            period = Period.containing(group, NOW)
            assert entry[group.value] == len(log.users(entry["name"], period)), entry
    assert data["periods"] == {
        "day": "2026-11-27T00:00:00+00:00",
        "week": "2026-11-23T00:00:00+00:00",
        "month": "2026-11-01T00:00:00+00:00",
        "year": "2026-01-01T00:00:00+00:00",
    }
    assert data["now"] == NOW.isoformat()


def test_the_events_api_reports_the_now_its_periods_contain() -> None:
    # A clock read at 23:59:59.9 and again a moment later, on the next day.
    ticks = iter(
        [
            datetime(2026, 11, 29, 23, 59, 59, 900_000, tzinfo=timezone.utc),
            datetime(2026, 11, 30, 0, 0, 0, 100_000, tzinfo=timezone.utc),
        ]
    )
    app = Flask("midnight")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL="memory://")
    FlaskBitmapist(app, clock=lambda: next(ticks))

    data = app.test_client().get("/bitmapist/api/events").get_json()

    assert data["now"] == "2026-11-29T23:59:59.900000+00:00"
    assert data["periods"]["day"] == "2026-11-29T00:00:00+00:00"


def test_index_search_keeps_matching_events_only(client: FlaskClient) -> None:
    html = client.get("/bitmapist/?q=PAI").get_data(as_text=True)

    assert re.findall(r'<tr data-name="([^"]*)">', html) == ["paid"]
    assert 'value="PAI"' in html


def test_index_handles_hundreds_of_events(make_app: AppFactory) -> None:
    app = make_app(seed=False)
    from flask_bitmapist import current_state
    from flask_bitmapist.domain import Mark

    with app.app_context():
        current_state().repository.mark(Mark.create(f"feature:{i:03d}", i, NOW) for i in range(300))
    client = app.test_client()
    pages = [client.get(f"/bitmapist/?page={n}").get_data(as_text=True) for n in (1, 2, 6, 7)]

    names = [re.findall(r'<tr data-name="([^"]*)">', html) for html in pages]
    # Marked on the same day: by name, 50 a page.
    assert names[:3] == [
        [f"feature:{i:03d}" for i in range(first, first + 50)] for first in (0, 50, 250)
    ]
    assert names[3] == []
    assert 'Events <span class="muted">(300)</span>' in pages[0]
    assert "1\u201350 of 300, page 1 of 6" in pages[0]
    assert 'href="/bitmapist/?page=2"' in pages[0] and "page=7" not in pages[2]
    assert "There is no page 7" in pages[3]
    bigger = client.get("/bitmapist/?per_page=100&page=2").get_data(as_text=True)
    assert 'href="/bitmapist/?page=3&amp;per_page=100"' in bigger


def test_index_without_events_says_how_to_record_one(make_app: AppFactory) -> None:
    html = make_app(seed=False).test_client().get("/bitmapist/").get_data(as_text=True)

    assert "No events recorded yet" in html


# -- the cohort page ---------------------------------------------------------------------


def test_cohort_page_of_an_empty_store_shows_the_form_only(make_app: AppFactory) -> None:
    response = make_app(seed=False).test_client().get("/bitmapist/cohort")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert 'id="cohort-form"' in html
    assert 'id="heatmap"' not in html
    assert "bookmark" in html


@pytest.mark.parametrize("mode", ["first_return", "recurring", "cumulative"])
def test_heatmap_cells_and_row_totals_match_the_model(
    client: FlaskClient, log: EventLog, mode: str
) -> None:
    html = client.get(f"/bitmapist/cohort?{query(mode=mode)}").get_data(as_text=True)
    expected = log.cohort(signed_up, paid, group=TimeGroup.DAY, rows=8, cols=6, now=NOW, mode=mode)

    page = read_heatmap(html)
    assert page.totals == list(expected.totals)
    for (row, col), (count, text) in page.cells.items():
        assert count == expected.cells[row][col]
        assert text == f"{count:,}"
    shown = {
        (i, j) for i, row in enumerate(expected.cells) for j, v in enumerate(row) if v is not None
    }
    assert set(page.cells) == shown
    assert sum(1 for row in expected.cells for v in row if v) > 0, "the data must not be empty"


def test_percent_mode_shows_each_cell_as_a_share_of_its_row(
    client: FlaskClient, log: EventLog
) -> None:
    html = client.get(
        f"/bitmapist/cohort?{query(as_percent='1', time_group='week', rows='5', cols='5')}"
    ).get_data(as_text=True)
    expected = log.cohort(signed_up, paid, group=TimeGroup.WEEK, rows=5, cols=5, now=NOW)

    page = read_heatmap(html)
    assert page.cells
    for (row, col), (_, text) in page.cells.items():
        assert text == f"{expected.percent(row, col):.1f}%"
    assert 'class="data heatmap as-percent"' in html


def test_or_condition_widens_the_returning_users(client: FlaskClient, log: EventLog) -> None:
    args = query(additional="refunded", op="or", mode="recurring")
    html = client.get(f"/bitmapist/cohort?{args}").get_data(as_text=True)
    expected = log.cohort(
        signed_up,
        lambda s: s("paid") | s("refunded"),
        group=TimeGroup.DAY,
        rows=8,
        cols=6,
        now=NOW,
        mode="recurring",
    )

    page = read_heatmap(html)
    assert {k: v[0] for k, v in page.cells.items()} == {
        (i, j): v
        for i, row in enumerate(expected.cells)
        for j, v in enumerate(row)
        if v is not None
    }
    assert "paid | refunded" in html


def test_text_expression_replaces_the_chosen_events(client: FlaskClient, log: EventLog) -> None:
    args = query(
        secondary_expression="paid & ~refunded",
        mode="recurring",
        time_group="month",
        rows="2",
        cols="2",
    )
    data = client.get(f"/bitmapist/api/cohort?{args}").get_json()
    expected = log.cohort(
        signed_up,
        lambda s: s("paid") - s("refunded"),
        group=TimeGroup.MONTH,
        rows=2,
        cols=2,
        now=NOW,
        mode="recurring",
    )

    assert data["cells"] == [list(row) for row in expected.cells]
    assert data["spec"]["secondary"] == "paid & ~refunded"


def test_hourly_cohorts_read_the_hour_bitmaps(client: FlaskClient, log: EventLog) -> None:
    data = client.get(
        f"/bitmapist/api/cohort?{query(time_group='hour', rows='48', cols='24', mode='recurring')}"
    ).get_json()
    expected = log.cohort(
        signed_up, paid, group=TimeGroup.HOUR, rows=48, cols=24, now=NOW, mode="recurring"
    )

    assert data["totals"] == list(expected.totals)
    assert data["cells"] == [list(row) for row in expected.cells]
    assert data["dates"][-1] == "2026-11-27T15:00:00+00:00"


def test_the_page_keeps_the_form_state_for_bookmarks(client: FlaskClient) -> None:
    args = query(
        additional="refunded", op="or", time_group="week", mode="cumulative", as_percent="1"
    )
    html = client.get(f"/bitmapist/cohort?{args}").get_data(as_text=True)

    assert re.search(r'<input type="text" name="primary" id="primary" value="signed_up"', html)
    assert re.search(r'<option value="week" selected>', html)
    assert re.search(r'<option value="cumulative" selected>', html)
    assert re.search(r'name="as_percent" value="1" data-autosubmit checked', html)
    assert re.search(
        r'<option value="or" selected>OR</option>\s*</select>\s*'
        r'<input type="text" name="additional" value="refunded"',
        html,
        re.S,
    )
    assert 'value="6"' in html and 'value="8"' in html
    # The CSV and JSON links carry the same state.
    link = re.search(r'id="download-csv" href="([^"]*)"', html)
    assert link is not None
    assert "additional=refunded&amp;op=or" in link.group(1)
    assert "time_group=week" in link.group(1)


def test_averages_weighted_averages_and_column_totals_are_shown(
    client: FlaskClient, log: EventLog
) -> None:
    html = client.get(f"/bitmapist/cohort?{query(mode='recurring')}").get_data(as_text=True)
    expected = log.cohort(
        signed_up, paid, group=TimeGroup.DAY, rows=8, cols=6, now=NOW, mode="recurring"
    )

    footer = html[html.index("<tfoot>") : html.index("</tfoot>")]
    column_totals = [sum(row[j] or 0 for row in expected.cells) for j in range(6)]
    weighted = []
    for j in range(6):
        weight = sum(
            t for row, t in zip(expected.cells, expected.totals, strict=True) if row[j] is not None
        )
        weighted.append(100 * column_totals[j] / weight)
    total_row = footer[footer.index('class="total"') :]
    assert re.findall(r'data-col="\d+">([^<]*)</td>', total_row) == [
        f"{v:,}" for v in column_totals
    ]
    weighted_row = footer[footer.index('class="weighted"') : footer.index('class="total"')]
    assert re.findall(r'data-col="\d+">([^<]*)</td>', weighted_row) == [
        f"{v:.1f}%" for v in weighted
    ]
    assert "Average" in footer and "Weighted average" in footer


def test_the_chart_draws_a_line_per_row_and_the_average(client: FlaskClient, log: EventLog) -> None:
    html = client.get(f"/bitmapist/cohort?{query(mode='recurring', as_percent='1')}").get_data(
        as_text=True
    )
    expected = log.cohort(
        signed_up, paid, group=TimeGroup.DAY, rows=8, cols=6, now=NOW, mode="recurring"
    )

    svg = html[html.index('<svg id="retention-chart"') : html.index("</svg>")]
    rows_with_users = sum(1 for t in expected.totals if t)
    assert svg.count('class="row-line') + svg.count('class="row-dot') == rows_with_users
    averages = re.findall(r'class="avg-point"[^>]*data-col="(\d+)" data-value="([^"]*)"', svg)
    for col, value in averages:
        shares = [
            expected.percent(i, int(col))
            for i in range(8)
            if expected.cells[i][int(col)] is not None
        ]
        assert float(value) == pytest.approx(sum(shares) / len(shares), abs=0.005)  # type: ignore[arg-type]
    assert len(averages) == 6


def test_event_names_are_escaped_everywhere(client: FlaskClient) -> None:
    for url in (
        "/bitmapist/",
        f"/bitmapist/cohort?{urlencode({'primary': XSS_EVENT, 'secondary': XSS_EVENT})}",
    ):
        html = client.get(url).get_data(as_text=True)
        assert XSS_EVENT not in html, url
        assert "&lt;img/src=x/onerror=alert(1)&gt;" in html, url


def test_names_written_by_other_bitmapist_clients_are_escaped_too(make_app: AppFactory) -> None:
    foreign = '<script>alert("x")</script> "quoted"'

    class ForeignNames(InMemoryRepository):
        """bitmapist itself accepts names with spaces; they still show as text."""

        def list_events(
            self,
            *,
            containing: str = "",
            max_keys: int | None = None,
            max_seconds: float | None = None,
        ) -> EventListing:
            return EventListing([foreign], [None])

    client = make_app(ForeignNames(), seed=False).test_client()
    for url in ("/bitmapist/", f"/bitmapist/cohort?{urlencode({'primary': foreign})}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &#34;quoted&#34;" in html, url
    names = client.get("/bitmapist/api/events/names").get_json()["names"]
    assert names == [foreign]


@pytest.fixture
def spaced_client(make_app: AppFactory) -> FlaskClient:
    """A dashboard over Redis holding events bitmapist named with spaces, as its
    ``mark_event`` writes them: signed up on the 25th, played or skipped on the 27th."""
    server = fakeredis.FakeServer()
    app = make_app(RedisRepository(fakeredis.FakeRedis(server=server)), seed=False)
    write_spaced_events(fakeredis.FakeRedis(server=server))
    return app.test_client()


SPACED = {"primary": "signed up", "rows": "3", "cols": "3", "mode": "recurring"}


def test_events_named_with_spaces_are_listed(spaced_client: FlaskClient) -> None:
    html = spaced_client.get("/bitmapist/").get_data(as_text=True)

    # Played and skipped on the 27th, signed up on the 25th: the most recent first.
    assert re.findall(r'<tr data-name="([^"]*)">', html) == [
        "song played",
        "song skipped",
        "signed up",
    ]
    assert 'href="/bitmapist/cohort?primary=signed+up&amp;secondary=song+' in html
    events = spaced_client.get("/bitmapist/api/events").get_json()["events"]
    assert [(e["name"], e["day"], e["week"]) for e in events] == [
        ("song played", 1, 1),
        ("song skipped", 1, 1),
        ("signed up", 0, 3),
    ]


def test_a_cohort_of_events_named_with_spaces_is_computed(spaced_client: FlaskClient) -> None:
    chosen = urlencode(
        {**SPACED, "secondary": "song played", "additional": "song skipped", "op": "or"}
    )
    data = spaced_client.get(f"/bitmapist/api/cohort?{chosen}").get_json()

    assert data["totals"] == [3, 0, 0]
    assert data["cells"][0] == [0, 0, 2]
    assert data["spec"]["primary"] == '"signed up"'
    assert data["spec"]["secondary"] == '"song played" | "song skipped"'

    page = spaced_client.get(f"/bitmapist/cohort?{chosen}")
    assert page.status_code == 200
    assert 'name="secondary" id="secondary" value="song played"' in page.get_data(as_text=True)
    assert read_heatmap(page.get_data(as_text=True)).cells[(0, 2)] == (2, "2")


def test_the_text_form_names_events_with_spaces_in_quotes(spaced_client: FlaskClient) -> None:
    typed = urlencode({**SPACED, "secondary_expression": '"song played" | "song skipped"'})
    data = spaced_client.get(f"/bitmapist/api/cohort?{typed}").get_json()
    assert data["cells"][0] == [0, 0, 2]

    unquoted = urlencode({**SPACED, "secondary_expression": "song played"})
    response = spaced_client.get(f"/bitmapist/api/cohort?{unquoted}")
    assert response.status_code == 400
    assert response.get_json()["field"] == "secondary_expression"
    assert "position 5" in response.get_json()["message"]


def test_the_0_1_post_body_names_events_with_spaces(spaced_client: FlaskClient) -> None:
    body = {
        "primary_event": "signed up",
        "secondary_event": "song skipped",
        "additional_events": [{"name": "song played", "op": "or"}],
        "num_rows": 3,
        "num_cols": 3,
    }
    data = spaced_client.post("/bitmapist/cohort?json=1", json=body).get_json()

    assert data["row_totals"] == [3, 0, 0]
    assert data["cohort"][0] == [0, 0, 2]


def test_pages_have_no_inline_script_and_a_strict_content_policy(client: FlaskClient) -> None:
    for url in ("/bitmapist/", f"/bitmapist/cohort?{query()}"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], url
        assert not re.search(r"<[^>]+\son[a-z]+=", html), url
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert response.headers["Cache-Control"] == "private, no-store"


def test_assets_are_bundled(client: FlaskClient) -> None:
    html = client.get("/bitmapist/").get_data(as_text=True)

    assets = re.findall(r'(?:href|src)="(/bitmapist/static/[^"]+)"', html)
    assert sorted(assets) == [
        "/bitmapist/static/bitmapist/dashboard.css",
        "/bitmapist/static/bitmapist/dashboard.js",
    ]
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200
        response.close()
    assert "http://" not in html and "https://" not in html


# -- the JSON and CSV API ----------------------------------------------------------------


def test_api_cohort_returns_every_number_and_echoes_the_spec(
    client: FlaskClient, log: EventLog
) -> None:
    data = client.get(
        f"/bitmapist/api/cohort?{query(mode='cumulative', as_percent='1')}"
    ).get_json()
    expected = log.cohort(
        signed_up, paid, group=TimeGroup.DAY, rows=8, cols=6, now=NOW, mode="cumulative"
    )

    assert data["cells"] == [list(row) for row in expected.cells]
    assert data["totals"] == list(expected.totals)
    assert data["dates"] == [d.isoformat() for d in expected.dates]
    assert data["percentages"][0] == [expected.percent(0, j) for j in range(6)]
    assert set(data) >= {"averages", "weighted_averages", "column_totals", "average_percentages"}
    assert data["spec"] == {
        "primary": "signed_up",
        "secondary": "paid",
        "events": ["paid", "signed_up"],
        "time_group": "day",
        "rows": 8,
        "cols": 6,
        "mode": "cumulative",
        "first_time": False,
        "now": NOW.isoformat(),
        "timezone": "UTC",
    }
    assert data["as_percent"] is True


def test_cohort_page_answers_json_when_asked(client: FlaskClient) -> None:
    page_json = client.get(f"/bitmapist/cohort?{query()}&json=1").get_json()
    api_json = client.get(f"/bitmapist/api/cohort?{query()}").get_json()

    assert page_json == api_json


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_download_has_the_table_and_a_file_name(client: FlaskClient, log: EventLog) -> None:
    response = client.get(f"/bitmapist/api/cohort.csv?{query()}")
    expected = log.cohort(signed_up, paid, group=TimeGroup.DAY, rows=8, cols=6, now=NOW)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="cohort-day-2026-11-27.csv"'
    )
    rows = csv_rows(response.get_data(as_text=True))
    assert rows[0] == ["date", "users", "Day 0", "Day 1", "Day 2", "Day 3", "Day 4", "Day 5"]
    for i, row in enumerate(rows[1:9]):
        assert row[0] == expected.dates[i].isoformat()
        assert row[1] == str(expected.totals[i])
        assert row[2:] == ["" if v is None else str(v) for v in expected.cells[i]]
    assert [r[0] for r in rows[9:]] == ["average", "weighted average %", "total"]


def test_format_csv_is_the_same_download(client: FlaskClient) -> None:
    a = client.get(f"/bitmapist/api/cohort?{query()}&format=csv").get_data(as_text=True)
    b = client.get(f"/bitmapist/api/cohort.csv?{query()}").get_data(as_text=True)

    assert a == b


def test_drill_down_lists_the_users_of_one_cell_a_page_at_a_time(
    client: FlaskClient, log: EventLog
) -> None:
    periods = [Period.containing(TimeGroup.WEEK, NOW).shift(i - 5) for i in range(6)]
    model = log.cohort(
        signed_up, paid, group=TimeGroup.WEEK, rows=6, cols=4, now=NOW, mode="recurring"
    )
    # The fullest cell, so that paging has something to split.
    row, col = max(
        ((i, j) for i in range(6) for j in range(4) if model.cells[i][j] is not None),
        key=lambda ij: model.cells[ij[0]][ij[1]] or 0,
    )
    expected = sorted(log.users("signed_up", periods[row]) & log.users("paid", periods[row + col]))
    assert len(expected) >= 2
    args = query(mode="recurring", time_group="week", rows="6", cols="4")
    url = f"/bitmapist/api/cohort/cell?{args}&row={row}&col={col}"

    first = client.get(f"{url}&per_page=1").get_json()
    second = client.get(f"{url}&per_page=1&page=2").get_json()
    whole = client.get(url).get_json()

    assert whole["user_ids"] == expected
    assert whole["count"] == len(expected) == model.cells[row][col]
    assert (first["user_ids"], second["user_ids"]) == ([expected[0]], [expected[1]])
    assert first["pages"] == len(expected)
    assert whole["date"] == periods[row].start.isoformat()
    assert whole["period"] == periods[row + col].start.isoformat()


def test_drill_down_past_the_last_page_is_empty(client: FlaskClient) -> None:
    data = client.get(f"/bitmapist/api/cohort/cell?{query()}&row=0&col=0&page=999").get_json()

    assert data["user_ids"] == []
    assert data["page"] == 999


# -- 0.1's POST ----------------------------------------------------------------------------


def legacy_body(**extra: Any) -> dict[str, Any]:
    return {
        "primary_event": "signed_up",
        "secondary_event": "paid",
        "num_rows": 5,
        "num_cols": 4,
        **extra,
    }


def test_post_json_1_answers_like_0_1(client: FlaskClient, log: EventLog) -> None:
    body = legacy_body(
        additional_events=[{"name": "refunded", "op": "or"}], as_percent=True, time_group="weeks"
    )
    data = client.post("/bitmapist/cohort?json=1", json=body).get_json()
    expected = log.cohort(
        signed_up,
        lambda s: s("paid") | s("refunded"),
        group=TimeGroup.WEEK,
        rows=5,
        cols=4,
        now=NOW,
    )

    assert data["cohort"] == [
        [None if v is None else v / t for v in row] if t else [None] * 4
        for row, t in zip(expected.cells, expected.totals, strict=True)
    ]
    assert data["row_totals"] == list(expected.totals)
    assert data["total"] == sum(expected.totals)
    assert data["time_group"] == "weeks"
    assert (data["num_rows"], data["num_cols"], data["as_percent"]) == (5, 4, True)
    assert data["dates"][-1] == "Week 48 - 23 Nov 2026"


def test_post_with_replacement_counts_recurring_users(client: FlaskClient, log: EventLog) -> None:
    data = client.post(
        "/bitmapist/cohort?json=1", json=legacy_body(with_replacement=True)
    ).get_json()
    expected = log.cohort(
        signed_up, paid, group=TimeGroup.DAY, rows=5, cols=4, now=NOW, mode="recurring"
    )

    assert data["cohort"] == [list(row) for row in expected.cells]


def test_post_without_json_flag_returns_the_heatmap_fragment(
    client: FlaskClient, log: EventLog
) -> None:
    response = client.post("/bitmapist/cohort", json=legacy_body())
    html = response.get_data(as_text=True)
    expected = log.cohort(signed_up, paid, group=TimeGroup.DAY, rows=5, cols=4, now=NOW)

    assert response.status_code == 200
    assert "<html" not in html
    assert {k: v[0] for k, v in read_heatmap(html).cells.items()} == {
        (i, j): v
        for i, row in enumerate(expected.cells)
        for j, v in enumerate(row)
        if v is not None
    }


# -- bad input: 400 naming the field, never 500 ------------------------------------------


BAD_QUERIES = [
    ({"time_group": "fortnight"}, "time_group"),
    ({"rows": "ten"}, "rows"),
    ({"cols": "1e3"}, "cols"),
    ({"rows": "99999999999999999999999"}, "rows"),
    ({"cols": "100000"}, "cols"),
    ({"rows": "0"}, "rows"),
    ({"primary": ""}, "primary"),
    ({"secondary": ""}, "secondary"),
    ({"primary": "has\ttab"}, "primary"),
    ({"secondary_expression": "paid & (refunded"}, "secondary_expression"),
    ({"secondary_expression": "not paid"}, "secondary_expression"),
    ({"primary_expression": "||"}, "primary_expression"),
    ({"mode": "often"}, "mode"),
    ({"as_percent": "perhaps"}, "as_percent"),
    ({"now": "tomorrow"}, "now"),
    ({"additional": "refunded", "op": "nor"}, "op"),
    ({"additional": "bitop_x", "op": "and"}, "additional[0]"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_QUERIES)
@pytest.mark.parametrize(
    "route", ["/bitmapist/api/cohort", "/bitmapist/api/cohort.csv", "/bitmapist/api/cohort/cell"]
)
def test_api_bad_input_is_a_400_naming_the_field(
    client: FlaskClient, route: str, bad: dict[str, str], field: str
) -> None:
    response = client.get(f"{route}?{query(**bad)}&row=0&col=0")

    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field
    assert body["error"] == "bad_request"
    assert body["message"].startswith(field)


def test_missing_events_entirely_is_a_400(client: FlaskClient) -> None:
    response = client.get("/bitmapist/api/cohort")

    assert response.status_code == 400
    assert response.get_json()["field"] == "primary"


def test_too_many_cells_is_a_400_naming_the_larger_side(make_app: AppFactory) -> None:
    client = make_app(BITMAPIST_MAX_COHORT_CELLS=50).test_client()

    response = client.get(f"/bitmapist/api/cohort?{query(rows='5', cols='11')}")

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "bad_request",
        "field": "cols",
        "message": "cols: a cohort of 5 rows x 11 columns has 55 cells; at most 50 are allowed",
    }


@pytest.mark.parametrize(("bad", "field"), BAD_QUERIES)
def test_page_bad_input_is_a_400_showing_the_form_and_the_field(
    client: FlaskClient, bad: dict[str, str], field: str
) -> None:
    response = client.get(f"/bitmapist/cohort?{query(**bad)}")
    html = response.get_data(as_text=True)

    assert response.status_code == 400
    assert f'<div class="alert" role="alert" data-field="{field}">' in html
    assert 'id="cohort-form"' in html
    assert 'id="heatmap"' not in html


def test_page_bad_input_answers_json_to_a_json_client(client: FlaskClient) -> None:
    response = client.get(
        f"/bitmapist/cohort?{query(rows='x')}", headers={"Accept": "application/json"}
    )

    assert response.status_code == 400
    assert response.get_json()["field"] == "rows"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ("row=0", "col"),
        ("col=0", "row"),
        ("row=8&col=0", "row"),
        ("row=0&col=6", "col"),
        ("row=7&col=1", "col"),  # the day after today has not happened yet
        ("row=-1&col=0", "row"),
        ("row=0&col=0&page=0", "page"),
        ("row=0&col=0&per_page=5000", "per_page"),
        ("row=0&col=0&per_page=many", "per_page"),
    ],
)
def test_drill_down_bad_cell_is_a_400(client: FlaskClient, args: str, field: str) -> None:
    response = client.get(f"/bitmapist/api/cohort/cell?{query()}&{args}")

    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_unknown_format_is_a_400(client: FlaskClient) -> None:
    response = client.get(f"/bitmapist/api/cohort?{query()}&format=xml")

    assert response.status_code == 400
    assert response.get_json()["field"] == "format"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"data": "not json", "content_type": "application/json"}, "body"),
        ({"data": "primary_event=a", "content_type": "application/x-www-form-urlencoded"}, "body"),
        ({"json": ["signed_up", "paid"]}, "body"),
        ({"json": {"secondary_event": "paid"}}, "primary_event"),
        ({"json": legacy_body(num_rows="many")}, "num_rows"),
        ({"json": legacy_body(num_cols=10**9)}, "num_cols"),
        ({"json": legacy_body(time_group="decades")}, "time_group"),
        (
            {"json": legacy_body(additional_events=[{"name": "x\ny", "op": "or"}])},
            "additional_events[0]",
        ),
        ({"json": legacy_body(additional_events={"name": "x"})}, "additional_events"),
    ],
)
@pytest.mark.parametrize("url", ["/bitmapist/cohort", "/bitmapist/cohort?json=1"])
def test_post_bad_body_is_a_400_json_naming_the_field(
    client: FlaskClient, url: str, kwargs: dict[str, Any], field: str
) -> None:
    response = client.post(url, **kwargs)

    assert response.status_code == 400
    assert response.get_json()["field"] == field


# -- access --------------------------------------------------------------------------------


ROUTES = [
    "/bitmapist/",
    "/bitmapist/cohort",
    f"/bitmapist/cohort?{query()}",
    "/bitmapist/api/events",
    f"/bitmapist/api/cohort?{query()}",
    f"/bitmapist/api/cohort.csv?{query()}",
    f"/bitmapist/api/cohort/cell?{query()}&row=0&col=0",
]


@pytest.mark.parametrize("url", ROUTES)
def test_without_permission_debug_or_testing_every_route_is_403(
    make_app: AppFactory, url: str
) -> None:
    app = make_app(TESTING=False)
    assert not app.debug

    response = app.test_client().get(url)

    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "BITMAPIST_DASHBOARD_PERMISSION" in text
    if "/api/" in url:
        assert response.get_json()["error"] == "forbidden"
    else:
        assert "Dashboard not enabled" in text


def test_without_permission_the_post_api_is_403_too(make_app: AppFactory) -> None:
    response = (
        make_app(TESTING=False).test_client().post("/bitmapist/cohort?json=1", json=legacy_body())
    )

    assert response.status_code == 403
    assert "BITMAPIST_DASHBOARD_PERMISSION" in response.get_json()["message"]


def test_debug_mode_opens_the_dashboard(make_app: AppFactory) -> None:
    app = make_app(TESTING=False)
    app.debug = True

    assert app.test_client().get("/bitmapist/").status_code == 200


@pytest.mark.parametrize("url", ROUTES)
def test_a_permission_callable_decides_per_request(make_app: AppFactory, url: str) -> None:
    from flask import request

    app = make_app(
        TESTING=False,
        BITMAPIST_DASHBOARD_PERMISSION=lambda: request.headers.get("X-Admin") == "yes",
    )
    client = app.test_client()

    assert client.get(url, headers={"X-Admin": "yes"}).status_code == 200
    assert client.get(url).status_code == 403


def test_a_refusing_permission_wins_over_testing(make_app: AppFactory) -> None:
    app = make_app(BITMAPIST_DASHBOARD_PERMISSION=lambda: False)

    assert app.test_client().get("/bitmapist/").status_code == 403


def test_assets_load_even_where_the_dashboard_is_refused(make_app: AppFactory) -> None:
    client = make_app(TESTING=False).test_client()

    response = client.get("/bitmapist/static/bitmapist/dashboard.css")
    assert response.status_code == 200
    response.close()


def test_the_url_prefix_is_configurable(make_app: AppFactory) -> None:
    client = make_app(BITMAPIST_URL_PREFIX="/analytics").test_client()

    assert client.get("/analytics/").status_code == 200
    assert client.get(f"/analytics/api/cohort?{query()}").status_code == 200
    assert client.get("/bitmapist/").status_code == 404
    html = client.get("/analytics/cohort").get_data(as_text=True)
    assert 'action="/analytics/cohort"' in html
    assert "/analytics/static/bitmapist/dashboard.css" in html


def test_disabling_the_blueprint_removes_every_route(make_app: AppFactory) -> None:
    app = make_app(BITMAPIST_DISABLE_BLUEPRINT=True)

    assert "bitmapist" not in app.blueprints
    assert app.test_client().get("/bitmapist/").status_code == 404


def test_each_app_shows_its_own_data(make_app: AppFactory) -> None:
    full = make_app().test_client()
    empty = make_app(seed=False).test_client()

    assert len(full.get("/bitmapist/api/events").get_json()["events"]) == 4
    assert empty.get("/bitmapist/api/events").get_json()["events"] == []


# -- storage down --------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["cohort", "trends", "lifecycle", "stickiness", "funnel"])
def test_an_empty_form_reads_no_storage_so_it_shows_while_storage_is_down(
    make_app: AppFactory, page: str
) -> None:
    response = make_app(DownRepository(), seed=False).test_client().get(f"/bitmapist/{page}")

    assert response.status_code == 200
    assert 'list="event-suggestions"' in response.get_data(as_text=True)


@pytest.mark.parametrize("url", [url for url in ROUTES if url != "/bitmapist/cohort"])
def test_storage_down_is_a_503(make_app: AppFactory, url: str) -> None:
    client = make_app(DownRepository(), seed=False).test_client()

    response = client.get(url)

    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "did not answer" in text
    if "/api/" in url:
        assert response.get_json()["error"] == "storage_unavailable"
    else:
        assert "Storage unavailable" in text
        assert "connection refused" not in text  # driver details stay in the log


def test_storage_down_warnings_are_one_line_per_outage_not_per_page(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="flask_bitmapist")
    store = FlakyRepository()
    client = make_app(store, seed=False).test_client()
    store.down = True
    assert [client.get("/bitmapist/").status_code for _ in range(5)] == [503] * 5
    store.down = False
    assert client.get("/bitmapist/").status_code == 200
    assert client.get("/bitmapist/").status_code == 200

    messages = [r.getMessage() for r in caplog.records if r.name == "flask_bitmapist"]
    assert len(messages) == 2
    assert "storage of the dashboard of app 'dashboard-test'" in messages[0]
    assert "is unavailable: connection refused (test double)" in messages[0]
    assert "answers again after" in messages[1]
    assert "during the outage: 5 pages answered 503" in messages[1]


def test_storage_down_answers_the_post_api_with_503_json(make_app: AppFactory) -> None:
    client = make_app(DownRepository(), seed=False).test_client()

    response = client.post("/bitmapist/cohort?json=1", json=legacy_body())

    assert response.status_code == 503
    assert response.get_json()["error"] == "storage_unavailable"


# -- reading storage -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/bitmapist/", "/bitmapist/api/events", f"/bitmapist/cohort?{query()}"]
)
def test_a_page_reads_its_bitmaps_in_one_call_per_phase(make_app: AppFactory, url: str) -> None:
    store = FetchCounting()
    client = make_app(store).test_client()
    store.fetches = 0

    assert client.get(url).status_code == 200
    # A cohort reads in two phases: the rows' users, then the secondary up to them. (The
    # first screen's choice, services/defaults.py, counts on the store: no bitmap read.)
    assert store.fetches == (2 if "cohort" in url else 1)


def test_hour_cohorts_warn_when_hourly_tracking_is_off(make_app: AppFactory) -> None:
    def page(url: str, **config: object) -> str:
        return make_app(**config).test_client().get(url).get_data(as_text=True)

    hours = f"/bitmapist/cohort?{query(time_group='hour')}"

    assert 'id="hourly-note"' in page(hours)
    assert "BITMAPIST_TRACK_HOURLY" in page(hours)
    assert 'id="hourly-note"' not in page(hours, BITMAPIST_TRACK_HOURLY=True)
    assert 'id="hourly-note"' not in page(f"/bitmapist/cohort?{query()}")


def test_without_javascript_one_blank_condition_row_lets_people_add_a_condition(
    client: FlaskClient,
) -> None:
    html = client.get(f"/bitmapist/cohort?{query(additional='refunded', op='or')}").get_data(
        as_text=True
    )
    form = html[html.index('<ol id="conditions"') : html.index("</ol>")]

    assert form.count('<li class="condition">') == 1
    assert form.count('<li class="condition blank">') == 1


# -- CSV of the events ------------------------------------------------------------------


def test_the_events_api_answers_csv_with_formula_names_escaped(make_app: AppFactory) -> None:
    app = make_app(seed=False)
    with app.app_context():
        current_state().repository.mark(
            [Mark.create(name, 1, NOW) for name in ('=HYPERLINK("http://x","y")', "@SUM(A1)")]
        )
    response = app.test_client().get("/bitmapist/api/events?format=csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="events-2026-11-27.csv"'
    assert csv_rows(response.get_data(as_text=True)) == [
        ["event", "day", "week", "month", "year"],
        ['\'=HYPERLINK("http://x","y")', "1", "1", "1", "1"],
        ["'@SUM(A1)", "1", "1", "1", "1"],
    ]


def test_the_events_csv_has_the_counts_of_the_json(client: FlaskClient) -> None:
    data = client.get("/bitmapist/api/events").get_json()
    rows = csv_rows(client.get("/bitmapist/api/events?format=csv").get_data(as_text=True))
    assert rows[1:] == [
        [e["name"], *(str(e[key]) for key in ("day", "week", "month", "year"))]
        for e in data["events"]
    ]


def test_the_events_api_refuses_an_unknown_format(client: FlaskClient) -> None:
    response = client.get("/bitmapist/api/events?format=xml")
    assert response.status_code == 400
    assert response.get_json()["field"] == "format"
