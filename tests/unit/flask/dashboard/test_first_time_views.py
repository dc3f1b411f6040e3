"""first_time=1 on every cohort endpoint, and the page's "first time only" switch."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from flask_bitmapist.domain import TimeGroup
from tests.cohort_model import EventLog
from tests.stores import FetchCounting
from tests.unit.domain.set_model import SetModel, cell_users, cohort, row_starts
from tests.unit.flask.dashboard.support import NOW, AppFactory, read_heatmap
from tests.unit.flask.support import DownRepository

COHORT = {
    "primary": "paid",
    "secondary": "refunded",
    "time_group": "day",
    "rows": "12",
    "cols": "6",
    "mode": "recurring",
}


def query(**overrides: str) -> str:
    return urlencode({**COHORT, "first_time": "1", **overrides})


def expected(
    log: EventLog, mode: str = "recurring", group: TimeGroup = TimeGroup.DAY, rows: int = 12
) -> tuple[tuple[int, ...], tuple[tuple[int | None, ...], ...]]:
    model = SetModel(log.entries)

    def firsts(start: datetime) -> set[int]:
        return model.first_ever({"paid"}, group, start)

    def later(start: datetime) -> set[int]:
        return model.did("refunded", group, start)

    _, totals, cells = cohort(firsts, later, group, NOW, rows, 6, mode)
    return totals, cells


@pytest.mark.parametrize("mode", ["recurring", "first_return", "cumulative"])
def test_the_api_answers_first_time_rows_as_the_model(
    client: FlaskClient, log: EventLog, mode: str
) -> None:
    body = client.get(f"/bitmapist/api/cohort?{query(mode=mode)}").get_json()

    totals, cells = expected(log, mode)
    assert body["totals"] == list(totals)
    assert body["cells"] == [list(row) for row in cells]
    assert body["spec"]["first_time"] is True


def test_first_time_rows_are_smaller_than_plain_rows(client: FlaskClient) -> None:
    first = client.get(f"/bitmapist/api/cohort?{query()}").get_json()["totals"]
    plain = client.get(f"/bitmapist/api/cohort?{query(first_time='0')}").get_json()["totals"]

    assert all(f <= p for f, p in zip(first, plain, strict=True))
    assert sum(first) < sum(plain)  # people pay again: later rows lose them


def test_weekly_first_time_rows(client: FlaskClient, log: EventLog) -> None:
    body = client.get(f"/bitmapist/api/cohort?{query(time_group='week', rows='6')}").get_json()

    totals, _ = expected(log, group=TimeGroup.WEEK, rows=6)
    assert body["totals"] == list(totals)


def test_the_csv_and_the_page_follow_first_time(client: FlaskClient, log: EventLog) -> None:
    totals, _ = expected(log)
    text = client.get(f"/bitmapist/api/cohort.csv?{query()}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))[1:13]
    assert [int(row[1]) for row in rows] == list(totals)

    html = client.get(f"/bitmapist/cohort?{query()}").get_data(as_text=True)
    heatmap = read_heatmap(html)
    assert heatmap.totals == list(totals)
    assert 'id="first-time-note"' in html
    assert 'name="first_time" id="first_time" value="1" data-autosubmit' in html
    assert "checked>" in html[html.index('id="first_time"') :][:200]
    # Drill-down links keep the switch on.
    assert "first_time=1" in html[html.index("data-cell-url") :][:400]


def test_the_cell_drill_down_lists_first_time_users(client: FlaskClient, log: EventLog) -> None:
    model = SetModel(log.entries)
    starts = row_starts(TimeGroup.DAY, NOW, 12)
    p = [model.first_ever({"paid"}, TimeGroup.DAY, s) for s in starts]
    s = [model.did("refunded", TimeGroup.DAY, start) for start in starts]
    checked = 0
    for row in range(12):
        for col in range(min(6, 12 - row)):
            users = cell_users(p, s, row, col, "recurring")
            if not users:
                continue
            url = f"/bitmapist/api/cohort/cell?{query()}&row={row}&col={col}"
            assert client.get(url).get_json()["user_ids"] == sorted(users)
            checked += 1
    assert checked > 0


def test_the_0_1_post_body_takes_first_time(client: FlaskClient, log: EventLog) -> None:
    body = {
        "primary_event": "paid",
        "secondary_event": "refunded",
        "num_rows": 12,
        "num_cols": 6,
        "with_replacement": True,
        "first_time": True,
    }
    answer = client.post("/bitmapist/cohort?json=1", json=body).get_json()

    totals, cells = expected(log)
    assert answer["row_totals"] == list(totals)
    assert answer["cohort"] == [list(row) for row in cells]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/bitmapist/api/cohort?{query(first_time='maybe')}", "first_time"),
        (
            f"/bitmapist/api/cohort?{query(primary='', primary_expression='paid & refunded')}",
            "primary_expression",
        ),
        (
            f"/bitmapist/api/cohort.csv?{query(primary='', primary_expression='paid & ~refunded')}",
            "primary_expression",
        ),
        (f"/bitmapist/api/cohort/cell?{query(first_time='x')}&row=0&col=0", "first_time"),
    ],
)
def test_bad_first_time_requests_are_a_400_naming_the_field(
    client: FlaskClient, url: str, field: str
) -> None:
    response = client.get(url)

    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_an_or_of_events_may_make_first_time_rows(client: FlaskClient, log: EventLog) -> None:
    url = f"/bitmapist/api/cohort?{query(primary='', primary_expression='paid | refunded')}"
    body = client.get(url).get_json()

    model = SetModel(log.entries)
    starts = row_starts(TimeGroup.DAY, NOW, 12)
    assert body["totals"] == [
        len(model.first_ever({"paid", "refunded"}, TimeGroup.DAY, start)) for start in starts
    ]


def test_the_post_body_refuses_a_bad_first_time(client: FlaskClient) -> None:
    body = {"primary_event": "paid", "secondary_event": "refunded", "first_time": "sometimes"}
    response = client.post("/bitmapist/cohort?json=1", json=body)

    assert response.status_code == 400
    assert response.get_json()["field"] == "first_time"


def test_the_page_shows_a_first_time_error_in_the_form(client: FlaskClient) -> None:
    response = client.get(
        f"/bitmapist/cohort?{query(primary='', primary_expression='paid & refunded')}"
    )

    assert response.status_code == 400
    assert "an event or an OR of events" in response.get_data(as_text=True)


def test_first_time_with_storage_down_is_a_503(make_app: AppFactory) -> None:
    client = make_app(DownRepository(), seed=False).test_client()

    assert client.get(f"/bitmapist/api/cohort?{query()}").status_code == 503
    assert client.get(f"/bitmapist/cohort?{query()}").status_code == 503


@pytest.mark.parametrize(
    "url", [f"/bitmapist/api/cohort?{query()}", f"/bitmapist/api/cohort/cell?{query()}&row=1&col=1"]
)
def test_first_time_reads_storage_once_per_phase(make_app: AppFactory, url: str) -> None:
    store = FetchCounting()
    client = make_app(store).test_client()
    store.fetches = 0

    assert client.get(url).status_code == 200
    # The primary's history, then the secondary as far as the first-time users reach.
    assert store.fetches == 2
