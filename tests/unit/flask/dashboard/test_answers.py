"""Trend and lifecycle pages, API and drill-down through the test client, against a model."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_bitmapist import get_lifecycle, get_trend
from flask_bitmapist.domain import (
    Period,
    TimeGroup,
    parse_expression,
)
from flask_bitmapist.flask.dashboard.views import CONTENT_SECURITY_POLICY
from tests.cohort_model import EventLog
from tests.stores import FetchCounting
from tests.unit.flask.dashboard.support import NOW, XSS_EVENT, AppFactory
from tests.unit.flask.support import DownRepository


def window(group: TimeGroup, periods: int, before: int = 0) -> list[Period]:
    last = Period.containing(group, NOW)
    return [last.shift(k - periods - before + 1) for k in range(periods + before)]


def model_trend(
    log: EventLog, events: Sequence[str], group: TimeGroup, n: int, w: int
) -> list[int]:
    users = log.trend_users(events, group=group, periods=n, rolling=w, now=NOW)
    return [len(u) for u in users]


def model_lifecycle(log: EventLog, event: str, group: TimeGroup, n: int) -> dict[str, list[int]]:
    statuses = log.lifecycle([event], group=group, periods=n, now=NOW)
    return {status: [len(u) for u in users] for status, users in statuses.items()}


def q(*exprs: str, **params: object) -> str:
    return urlencode([("expr", e) for e in exprs] + [(k, str(v)) for k, v in params.items()])


# -- the API ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "periods", "rolling"), [("day", 20, 1), ("day", 14, 7), ("week", 5, 2)]
)
def test_api_trend_answers_exactly_the_design_shape_with_the_models_counts(
    client: FlaskClient, log: EventLog, group: str, periods: int, rolling: int
) -> None:
    params = q("paid", "signed_up | refunded", time_group=group, periods=periods, rolling=rolling)
    response = client.get(f"/bitmapist/api/trend?{params}")
    assert response.status_code == 200
    body = response.get_json()
    tg = TimeGroup.parse(group)
    assert body == {
        "dates": [p.start.isoformat() for p in window(tg, periods)],
        "series": [
            {"expr": "paid", "counts": model_trend(log, ["paid"], tg, periods, rolling)},
            {
                "expr": "signed_up | refunded",
                "counts": model_trend(log, ["signed_up", "refunded"], tg, periods, rolling),
            },
        ],
        # The last period holds now: not over yet.
        "complete": [True] * (periods - 1) + [False],
    }
    assert any(body["series"][0]["counts"])


def test_api_trend_counts_expressions_with_not_period_by_period(
    client: FlaskClient, log: EventLog
) -> None:
    body = client.get(f"/bitmapist/api/trend?{q('paid & ~refunded', periods=10)}").get_json()
    expected = [
        len(log.users("paid", p) - log.users("refunded", p)) for p in window(TimeGroup.DAY, 10)
    ]
    assert body["series"][0]["counts"] == expected


def test_api_lifecycle_answers_exactly_the_design_shape_with_the_models_counts(
    client: FlaskClient, log: EventLog
) -> None:
    for group, periods in (("day", 30), ("week", 6)):
        response = client.get(
            f"/bitmapist/api/lifecycle?{q('paid', time_group=group, periods=periods)}"
        )
        assert response.status_code == 200
        tg = TimeGroup.parse(group)
        assert response.get_json() == {
            "dates": [p.start.isoformat() for p in window(tg, periods)],
            **model_lifecycle(log, "paid", tg, periods),
            "complete": [True] * (periods - 1) + [False],
        }


def test_hourly_dates_carry_the_hour(client: FlaskClient) -> None:
    body = client.get(f"/bitmapist/api/trend?{q('paid', time_group='hours', periods=2)}").get_json()
    assert body["dates"] == ["2026-11-27T14:00:00+00:00", "2026-11-27T15:00:00+00:00"]


def test_csv_downloads_have_the_table_and_a_file_name(client: FlaskClient, log: EventLog) -> None:
    response = client.get(f"/bitmapist/api/trend?{q('paid', 'signed_up', periods=5, format='csv')}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="trend-day-2026-11-27.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["date", "paid", "signed_up"]
    days = window(TimeGroup.DAY, 5)
    assert rows[1:] == [
        [
            d.start.isoformat(),
            str(len(log.users("paid", d))),
            str(len(log.users("signed_up", d))),
        ]
        for d in days
    ]

    response = client.get(f"/bitmapist/api/lifecycle?{q('paid', periods=3, format='csv')}")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    model = model_lifecycle(log, "paid", TimeGroup.DAY, 3)
    assert rows[0] == ["date", "new", "returning", "resurrecting", "dormant"]
    assert [r[1:] for r in rows[1:]] == [
        [str(model[s][k]) for s in ("new", "returning", "resurrecting", "dormant")]
        for k in range(3)
    ]
    assert 'filename="lifecycle-day-2026-11-27.csv"' in response.headers["Content-Disposition"]


def test_a_csv_header_never_starts_a_spreadsheet_formula(make_app: AppFactory) -> None:
    app = make_app(seed=False)
    client = app.test_client()
    text = client.get(
        f"/bitmapist/api/trend?{q('=1+1', '@cmd', periods=1, format='csv')}"
    ).get_data(as_text=True)
    header = next(csv.reader(io.StringIO(text)))
    assert header == ["date", "'=1+1", "'@cmd"]


@pytest.mark.parametrize(
    ("url", "field", "message"),
    [
        ("/bitmapist/api/trend?periods=3", "expr", "expr is required"),
        (f"/bitmapist/api/trend?{q('paid &')}", "expr", "expected an event name"),
        (f"/bitmapist/api/trend?{q('~paid')}", "expr", "lone negation"),
        (f"/bitmapist/api/trend?{q(*['paid'] * 11)}", "expr", "1 to 10 expressions, got 11"),
        (f"/bitmapist/api/trend?{q('paid', periods=0)}", "periods", "between 1 and 1000, got 0"),
        (f"/bitmapist/api/trend?{q('paid', periods='many')}", "periods", "whole number"),
        (f"/bitmapist/api/trend?{q('paid', time_group='hours', periods=8761)}", "periods", "8760"),
        (f"/bitmapist/api/trend?{q('paid', rolling=367)}", "rolling", "between 1 and 366"),
        (f"/bitmapist/api/trend?{q('paid', time_group='decade')}", "time_group", "'decade'"),
        (f"/bitmapist/api/trend?{q('paid', now='soon')}", "now", "ISO 8601"),
        (f"/bitmapist/api/trend?{q('paid', format='xml')}", "format", "json or csv"),
        (f"/bitmapist/api/lifecycle?{q('paid', 'signed_up')}", "expr", "one expr, got 2"),
        (f"/bitmapist/api/lifecycle?{q('paid & signed_up')}", "expr", "OR of events"),
        (f"/bitmapist/api/lifecycle?{q('paid', periods=1001)}", "periods", "1000"),
        (
            f"/bitmapist/api/trend/users?{q('paid', periods=3)}&series=1&index=0",
            "series",
            "outside",
        ),
        (f"/bitmapist/api/trend/users?{q('paid', periods=3)}", "index", "index is required"),
        (
            f"/bitmapist/api/lifecycle/users?{q('paid', periods=3)}&status=gone&index=0",
            "status",
            "gone",
        ),
        (
            f"/bitmapist/api/lifecycle/users?{q('paid', periods=3)}&status=new&index=3",
            "index",
            "outside",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    client: FlaskClient, url: str, field: str, message: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad_request"
    assert body["field"] == field
    assert message in body["message"]


ROUTES = [
    "/bitmapist/trends",
    f"/bitmapist/trends?{q('paid')}",
    f"/bitmapist/lifecycle?{q('paid')}",
    f"/bitmapist/api/trend?{q('paid')}",
    f"/bitmapist/api/trend?{q('paid', format='csv')}",
    f"/bitmapist/api/lifecycle?{q('paid')}",
    f"/bitmapist/api/trend/users?{q('paid')}&index=0",
    f"/bitmapist/api/lifecycle/users?{q('paid')}&index=0&status=new",
]


@pytest.mark.parametrize("url", [url for url in ROUTES if "?" in url])
def test_storage_down_is_a_503(make_app: AppFactory, url: str) -> None:
    client = make_app(DownRepository(), seed=False).test_client()
    response = client.get(url)
    assert response.status_code == 503
    if "/api/" in url:
        assert response.get_json()["error"] == "storage_unavailable"
    else:
        assert "did not answer" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ROUTES)
def test_every_route_is_refused_without_permission(make_app: AppFactory, url: str) -> None:
    assert make_app(TESTING=False).test_client().get(url).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        f"/bitmapist/api/trend?{q('paid', 'signed_up & ~refunded', rolling=7)}",
        f"/bitmapist/api/lifecycle?{q('paid | refunded', time_group='week', periods=12)}",
    ],
)
def test_an_answer_reads_its_bitmaps_in_one_call(make_app: AppFactory, url: str) -> None:
    store = FetchCounting()
    client = make_app(store).test_client()
    store.fetches = 0
    assert client.get(url).status_code == 200
    assert store.fetches == 1


# -- drill-down ----------------------------------------------------------------------------


def test_every_trend_count_drills_down_to_its_users(client: FlaskClient, log: EventLog) -> None:
    html = client.get(f"/bitmapist/trends?{q('paid', 'signed_up', periods=6, rolling=3)}").get_data(
        as_text=True
    )
    urls = re.findall(r'<td class="num has-users"[^>]*data-users-url="([^"]+)"', html)
    assert urls
    periods = window(TimeGroup.DAY, 6, 2)
    for url in urls:
        url = url.replace("&amp;", "&")
        series = int(re.search(r"series=(\d+)", url).group(1))  # type: ignore[union-attr]
        index = int(re.search(r"index=(\d+)", url).group(1))  # type: ignore[union-attr]
        body = client.get(url + "&per_page=1000").get_json()
        event = ("paid", "signed_up")[series]
        expected = set().union(*(log.users(event, p) for p in periods[index : index + 3]))
        assert body["user_ids"] == sorted(expected)
        assert body["count"] == len(expected)


def test_every_lifecycle_count_drills_down_to_its_users(client: FlaskClient, log: EventLog) -> None:
    html = client.get(f"/bitmapist/lifecycle?{q('paid', periods=8)}").get_data(as_text=True)
    urls = re.findall(
        r'<rect class="bar[^"]*"[^>]*data-count="(\d+)"[^>]*data-users-url="([^"]+)"', html
    )
    model = model_lifecycle(log, "paid", TimeGroup.DAY, 8)
    assert {re.search(r"status=(\w+)", u).group(1) for _, u in urls} == set(model)  # type: ignore[union-attr]
    for count, url in urls:
        body = client.get(url.replace("&amp;", "&") + "&per_page=1000").get_json()
        assert body["count"] == int(count) == len(body["user_ids"])
        assert int(count) == model[body["status"]][body["index"]]


def test_drill_down_pages_through_the_users(client: FlaskClient) -> None:
    # Everyone signed up in the last 60 days.
    url = f"/bitmapist/api/trend/users?{q('signed_up', periods=1, rolling=60)}&index=0"
    first = client.get(url + "&per_page=50").get_json()
    second = client.get(url + "&per_page=50&page=2").get_json()
    assert first["count"] == 120
    assert first["pages"] == 3
    assert first["user_ids"] == list(range(50))
    assert second["user_ids"] == list(range(50, 100))


# -- pages ---------------------------------------------------------------------------------


def test_trends_page_draws_a_line_per_series_and_a_table(
    client: FlaskClient, log: EventLog
) -> None:
    response = client.get(f"/bitmapist/trends?{q('paid', 'signed_up', periods=10)}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # Per series: a solid line to yesterday, a dashed one to today (not over yet).
    assert html.count('<polyline class="series-line line-') == 2
    assert html.count('<polyline class="series-line incomplete') == 2
    assert html.count('stroke-dasharray="5 4"') == 2
    assert html.count('class="series-point') == 20
    assert (
        html.count("series-point line-0 has-users incomplete")
        + html.count("series-point line-0 incomplete")
        == 1
    )
    assert html.count('<span class="incomplete-mark">(incomplete)</span>') == 1
    cells = re.findall(r'<td class="num[^"]*" data-count="(\d+)"', html)
    days = window(TimeGroup.DAY, 10)
    expected = [str(len(log.users(e, d))) for d in days for e in ("paid", "signed_up")]
    assert cells == expected
    link = q("paid", "signed_up", time_group="day", periods=10, rolling=1).replace("&", "&amp;")
    assert f'href="/bitmapist/api/trend?{link}&amp;format=csv"' in html


def test_trends_page_keeps_its_state_in_the_url(client: FlaskClient) -> None:
    html = client.get(
        f"/bitmapist/trends?{q('paid', time_group='week', periods=8, rolling=4)}"
    ).get_data(as_text=True)
    assert 'name="expr" id="expr-0" value="paid"' in html
    assert '<option value="week" selected>' in html
    assert 'name="periods" id="periods" value="8"' in html
    assert 'name="rolling" id="rolling" value="4"' in html
    # One blank line to add a series without JavaScript.
    assert 'name="expr" id="expr-1" value=""' in html


def test_lifecycle_page_stacks_three_statuses_above_zero_and_dormant_below(
    client: FlaskClient, log: EventLog
) -> None:
    html = client.get(f"/bitmapist/lifecycle?{q('paid', time_group='week', periods=5)}").get_data(
        as_text=True
    )
    zero = float(re.search(r'<line class="zero"[^>]* y1="([\d.]+)"', html).group(1))  # type: ignore[union-attr]
    bars = re.findall(
        r'<rect class="bar bar-(\w+)[^"]*" x="[\d.]+" y="([\d.]+)"'
        r'\s+width="[\d.]+" height="([\d.]+)"',
        html,
    )
    assert bars
    for status, y, height in bars:
        if status == "dormant":
            assert float(y) == pytest.approx(zero, abs=0.1)
        else:
            assert float(y) + float(height) <= zero + 0.1
    cells = re.findall(
        r'data-status="(\w+)" data-count="(\d+)"', html.split('id="lifecycle-table"')[1]
    )
    model = model_lifecycle(log, "paid", TimeGroup.WEEK, 5)
    assert [int(c) for _, c in cells] == [
        model[s][k] for k in range(5) for s in ("new", "returning", "resurrecting", "dormant")
    ]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/bitmapist/trends?{q('paid', rolling=400)}", "rolling"),
        (f"/bitmapist/lifecycle?{q('paid & refunded')}", "expr"),
        (f"/bitmapist/trends?{q('paid (')}", "expr"),
    ],
)
def test_page_bad_input_is_a_400_showing_the_form_and_the_field(
    client: FlaskClient, url: str, field: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'data-field="{field}"' in html
    assert 'id="answer-form"' in html


def test_pages_escape_event_names_and_keep_the_content_policy(client: FlaskClient) -> None:
    for path in ("trends", "lifecycle"):
        quoted = '"' + XSS_EVENT + '"'
        response = client.get(f"/bitmapist/{path}?{q(quoted)}")
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert XSS_EVENT not in html
        assert "&lt;img/src=x/onerror=alert(1)&gt;" in html
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert "<script>" not in html


def test_events_page_draws_each_events_30_days_linking_to_its_trend(
    client: FlaskClient, log: EventLog
) -> None:
    html = client.get("/bitmapist/").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)" class="spark-link"', html)
    assert len(links) == 4
    assert "/bitmapist/trends?expr=paid&amp;time_group=day&amp;periods=30" in links
    # The link of a name the parser needs quoted carries it quoted.
    assert any("expr=%22%3Cimg" in link for link in links)
    days = window(TimeGroup.DAY, 30)
    highest = max(len(log.users("paid", d)) for d in days)
    assert f"Daily users of paid over the last 30 days (highest {highest})" in html
    # One point per day of the trail.
    lines = re.findall(r'<polyline points="([^"]+)"', html)
    assert all(len(line.split()) == 30 for line in lines)


# -- the Python API -------------------------------------------------------------------------


def test_get_trend_and_get_lifecycle_answer_like_the_api(app: Flask, client: FlaskClient) -> None:
    api_trend = client.get(
        f"/bitmapist/api/trend?{q('paid', 'signed_up | refunded', rolling=7)}"
    ).get_json()
    api_single = client.get(f"/bitmapist/api/trend?{q('paid')}").get_json()
    api_lifecycle = client.get(
        f"/bitmapist/api/lifecycle?{q('paid', time_group='week', periods=4)}"
    ).get_json()
    with app.app_context():
        trend = get_trend(["paid", parse_expression("signed_up | refunded")], rolling=7)
        lifecycle = get_lifecycle("paid", "weeks", periods=4)
        single = get_trend("paid", periods=30)
    assert [list(s.counts) for s in trend.series] == [s["counts"] for s in api_trend["series"]]
    assert len(trend.dates) == 30
    assert trend.dates[-1] == Period.containing(TimeGroup.DAY, NOW).start
    assert list(single.series[0].counts) == api_single["series"][0]["counts"]
    assert list(lifecycle.new) == api_lifecycle["new"]
    assert list(lifecycle.dormant) == api_lifecycle["dormant"]


def test_get_trend_outside_an_app_context_says_so() -> None:
    with pytest.raises(RuntimeError, match="app"):
        get_trend("paid")


def test_get_trend_pins_now(app: Flask, log: EventLog) -> None:
    with app.app_context():
        trend = get_trend("paid", periods=3, now=datetime(2026, 11, 20, 12))
    days = [Period.containing(TimeGroup.DAY, datetime(2026, 11, d)) for d in (18, 19, 20)]
    assert trend.series[0].counts == tuple(len(log.users("paid", d)) for d in days)


@pytest.mark.parametrize("path", ["trends", "lifecycle"])
def test_hourly_pages_warn_when_hourly_tracking_is_off(make_app: AppFactory, path: str) -> None:
    hourly = f"/bitmapist/{path}?{q('paid', time_group='hour', periods=3)}"
    off = make_app(BITMAPIST_TRACK_HOURLY=False).test_client()
    on = make_app(BITMAPIST_TRACK_HOURLY=True).test_client()
    assert 'id="hourly-note"' in off.get(hourly).get_data(as_text=True)
    assert 'id="hourly-note"' not in on.get(hourly).get_data(as_text=True)
    daily = f"/bitmapist/{path}?{q('paid', periods=3)}"
    assert 'id="hourly-note"' not in off.get(daily).get_data(as_text=True)
