"""Windows that reach periods BITMAPIST_RETENTION has expired are refused, naming the field
and the days kept, in every front end: the API (400), the CLI (usage error) and Python."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask

from flask_bitmapist import (
    FlaskBitmapist,
    InvalidAnswerSpec,
    InvalidCohortSpec,
    PeriodsExpired,
    get_cohort,
    get_funnel,
    get_lifecycle,
    get_stickiness,
    get_trend,
    mark_event,
)
from tests.unit.flask.support import NOW, FixedClock, make_app

POLICY = {"hours": 14, "days": 30}


@pytest.fixture
def app() -> Flask:
    app = make_app(BITMAPIST_RETENTION=POLICY, BITMAPIST_TRACK_HOURLY=True)
    FlaskBitmapist(app, clock=FixedClock(NOW))
    with app.app_context():
        mark_event("a", 1)
        mark_event("b", 1)
    return app


@pytest.mark.parametrize(
    "url",
    [
        "/bitmapist/api/stickiness?expr=a&periods=40",
        "/bitmapist/api/stickiness/users?expr=a&periods=40&k=1",
        "/bitmapist/api/funnel?step=a&step=b&periods=40",
        "/bitmapist/api/funnel/users?step=a&step=b&periods=40&reached=1",
        "/bitmapist/api/trend?expr=a&periods=26&rolling=7",
        "/bitmapist/api/lifecycle?expr=a&periods=31",
        "/bitmapist/api/trend?expr=a&time_group=hours&periods=400",
    ],
)
def test_an_api_window_past_the_policy_is_a_400_naming_periods_and_the_days_kept(
    app: Flask, url: str
) -> None:
    response = app.test_client().get(url)
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["field"] == "periods"
    kept = "hours are kept 14 days" if "hours" in url else "days are kept 30 days"
    assert kept in body["message"]


def test_a_window_inside_the_policy_is_answered(app: Flask) -> None:
    for url in (
        "/bitmapist/api/stickiness?expr=a&periods=30",
        "/bitmapist/api/trend?expr=a&periods=24&rolling=7",
        "/bitmapist/api/lifecycle?expr=a&periods=30",
        "/bitmapist/api/stickiness?expr=a&periods=31",
        "/bitmapist/api/trend?expr=a&periods=12&time_group=months",  # months kept forever
    ):
        assert app.test_client().get(url).status_code == 200, url


def test_a_cohort_past_the_policy_names_rows_and_a_now_long_gone_names_now(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/bitmapist/api/cohort?primary=a&secondary=b&rows=32&cols=1")
    assert response.status_code == 400
    assert response.get_json()["field"] == "rows"
    old = (NOW - timedelta(days=60)).strftime("%Y-%m-%d")
    response = client.get(f"/bitmapist/api/stickiness?expr=a&periods=3&now={old}")
    assert response.status_code == 400
    assert response.get_json()["field"] == "now"
    assert "a later now" in str(response.get_json())


def test_python_functions_raise_an_error_of_the_packages_family(app: Flask) -> None:
    with app.app_context():
        calls: list[Callable[[], object]] = [
            lambda: get_trend("a", periods=32),
            lambda: get_lifecycle("a", periods=31),
            lambda: get_stickiness("a", periods=32),
            lambda: get_funnel(["a", "b"], periods=32),
            lambda: get_cohort("a", "b", num_rows=32, num_cols=1, time_group="days"),
        ]
        for call in calls:
            with pytest.raises(PeriodsExpired) as caught:
                call()
            assert caught.value.days_kept == 30
            assert isinstance(caught.value, InvalidAnswerSpec | InvalidCohortSpec)
            assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "args",
    [
        ["trend", "a", "--periods", "32"],
        ["lifecycle", "a", "--periods", "31"],
        ["stickiness", "a", "--periods", "32"],
        ["funnel", "a", "b", "--periods", "32"],
        ["cohort", "a", "b", "--rows", "32", "--cols", "1"],
    ],
)
def test_cli_windows_past_the_policy_are_usage_errors(app: Flask, args: list[str]) -> None:
    result = app.test_cli_runner().invoke(args=["bitmapist", *args])
    assert result.exit_code == 2, result.output
    assert "kept 30 days" in result.output
