"""Every front end asks the same pipeline: the API, the pages and the CLI refuse a request
past the read budget by naming the field, print the same JSON, and show warnings."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state, mark_event
from tests.stores import FetchCounting
from tests.unit.flask.support import FixedClock

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)
TERMS_100 = " | ".join(f"e{i}" for i in range(100))


@pytest.fixture
def app() -> Flask:
    app = Flask("pipeline-test")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL="memory://")
    FlaskBitmapist(app, clock=FixedClock(NOW))
    with app.app_context():
        for user, days in ((1, 0), (2, 1), (3, 2)):
            mark_event("paid", user, now=NOW - timedelta(days=days))
            mark_event("viewed", user, now=NOW - timedelta(days=days + 1))
    return app


HEAVY = [
    ("trend", [("expr", TERMS_100)] * 10 + [("periods", "1000"), ("rolling", "366")]),
    ("funnel", [("step", TERMS_100)] * 10 + [("periods", "1000")]),
    ("trend", [("expr", TERMS_100), ("time_group", "hour"), ("periods", "8760")]),
]


@pytest.mark.parametrize(("kind", "pairs"), HEAVY)
def test_the_api_refuses_the_measured_heavy_requests_naming_the_field(
    app: Flask, kind: str, pairs: list[tuple[str, str]]
) -> None:
    response = app.test_client().get(f"/bitmapist/api/{kind}?{urlencode(pairs)}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "periods"
    assert "BITMAPIST_MAX_READ_KEYS" in body["message"]


def test_a_page_shows_the_refusal_on_the_field(app: Flask) -> None:
    page = app.test_client().get(f"/bitmapist/trends?{urlencode(HEAVY[0][1])}")
    assert page.status_code == 400
    assert 'data-field="periods"' in page.text
    assert "shrink periods" in page.text


def test_the_cli_refuses_them_naming_the_option(app: Flask) -> None:
    args = ["bitmapist", "trend", TERMS_100, "--time-group", "hour", "--periods", "8760"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2
    assert "--periods" in result.output and "BITMAPIST_MAX_READ_KEYS" in result.output


@pytest.mark.parametrize(
    ("kind", "cli", "query"),
    [
        (
            "trend",
            ["paid", "piad", "--rolling", "2"],
            [("expr", "paid"), ("expr", "piad"), ("rolling", "2")],
        ),
        ("lifecycle", ["paid | piad"], [("expr", "paid | piad")]),
        ("stickiness", ["paid & ~piad"], [("expr", "paid & ~piad")]),
        ("funnel", ["viewed", "piad"], [("step", "viewed"), ("step", "piad")]),
    ],
)
def test_the_cli_json_equals_the_api_warnings_included(
    app: Flask, kind: str, cli: list[str], query: list[tuple[str, str]]
) -> None:
    result = app.test_cli_runner().invoke(
        args=["bitmapist", kind, *cli, "--periods", "5", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == "warning: no data for event 'piad'\n"
    api = app.test_client().get(f"/bitmapist/api/{kind}?{urlencode([*query, ('periods', '5')])}")
    assert json.loads(result.stdout) == api.get_json()
    assert api.get_json()["warnings"] == ["no data for event 'piad'"]


def test_the_cohort_cli_json_equals_the_api(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "bitmapist",
            "cohort",
            "viewed",
            "paid",
            "--rows",
            "3",
            "--cols",
            "4",
            "--format",
            "json",
        ]
    )
    assert result.exit_code == 0, result.output
    api = app.test_client().get("/bitmapist/api/cohort?primary=viewed&secondary=paid&rows=3&cols=4")
    assert json.loads(result.stdout) == api.get_json()
    assert api.get_json()["complete"] == [False, False, False, True]


@pytest.mark.parametrize(
    "path",
    [
        "/bitmapist/cohort?primary=viewed&secondary=piad",
        "/bitmapist/trends?expr=piad",
        "/bitmapist/lifecycle?expr=piad",
        "/bitmapist/stickiness?expr=piad",
        "/bitmapist/funnel?step=viewed&step=piad",
    ],
)
def test_every_answer_page_shows_its_warnings(app: Flask, path: str) -> None:
    page = app.test_client().get(path)
    assert page.status_code == 200
    assert 'id="answer-warnings"' in page.text
    assert "no data for event &#39;piad&#39;" in page.text


def test_marking_goes_on_while_heavy_requests_are_refused() -> None:
    # The heavy requests are refused before any bitmap is read, so a marker in the same
    # process keeps marking: every mark lands, and storage saw no read at all.
    repository = FetchCounting()
    app = Flask("pipeline-marking")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL="memory://")
    FlaskBitmapist(app, clock=FixedClock(NOW), repository_factory=lambda _: repository)
    marks = 2000
    started = threading.Event()
    slowest: list[float] = []

    def marker() -> None:
        with app.app_context():
            started.set()
            for user in range(marks):
                before = datetime.now(timezone.utc)
                mark_event("tick", user)
                slowest.append((datetime.now(timezone.utc) - before).total_seconds())

    thread = threading.Thread(target=marker)
    thread.start()
    try:
        started.wait(5)
        client = app.test_client()
        statuses = [
            client.get(f"/bitmapist/api/{kind}?{urlencode(pairs)}").status_code
            for kind, pairs in HEAVY * 3
        ]
    finally:
        thread.join(30)
    assert not thread.is_alive()
    assert statuses == [400] * 9
    assert repository.fetches == 0
    with app.app_context():
        day = current_state().answers.answer("trend", {"expr": "tick", "periods": 1})
    assert day.result.series[0].counts == (marks,)
    assert max(slowest) < 1.0  # a generous bound: refusals never hold marking up


@pytest.mark.parametrize(
    "args",
    [
        ["cohort", "viewed", "paid", "--rows", "2"],
        ["trend", "paid", "--periods", "3"],
        ["lifecycle", "paid", "--periods", "3"],
        ["stickiness", "paid", "--periods", "3"],
        ["funnel", "viewed", "paid", "--periods", "3"],
    ],
)
def test_every_answer_command_names_the_apps_zone(args: list[str]) -> None:
    app = Flask("pipeline-zone")
    app.config.update(
        TESTING=True, BITMAPIST_REDIS_URL="memory://", BITMAPIST_TIMEZONE="America/Los_Angeles"
    )
    FlaskBitmapist(app, clock=FixedClock(NOW))
    result = app.test_cli_runner().invoke(args=["bitmapist", *args])
    assert result.exit_code == 0, result.output
    assert "now 2026-11-27T05:45:00-08:00 (America/Los_Angeles)" in result.stdout
    assert "UTC" not in result.stdout


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_cohort_typo_warns_on_the_cli_stderr_and_in_the_api(app: Flask, fmt: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["bitmapist", "cohort", "viewed", "piad", "--rows", "3", "--format", fmt]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == "warning: no data for event 'piad'\n"
    api = app.test_client().get("/bitmapist/api/cohort?primary=viewed&secondary=piad&rows=3")
    assert api.get_json()["warnings"] == ["no data for event 'piad'"]
