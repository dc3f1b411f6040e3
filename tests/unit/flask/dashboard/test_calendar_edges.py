"""The calendar's edges (years 1000 and 9000) in every answer, time group and zone: an
answer there is a 200, or a 400 naming ``now`` or the number of periods, never a 500.

ISO week 1 of year 1000 begins on 30 December 999; a lifecycle reads the period before
its window, a first-time cohort the month its first row begins in: each once reached past
the calendar's start deep in a computation, as an uncaught MomentOutOfRange (issue 19).
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_bitmapist import FlaskBitmapist

GROUPS = ["hours", "days", "weeks", "months", "years"]
ZONES = ["UTC", "Asia/Tokyo", "America/Los_Angeles"]
#: Enough for every route to answer: each reads its own fields.
FIELDS = {
    "primary": "a",
    "secondary": "b",
    "expr": "a",
    "series": "0",
    "index": "0",
    "status": "new",
    "k": "1",
    "row": "0",
    "col": "0",
    "reached": "1",
    "cols": "1",
}
#: Routes that serve no answer, so take no ``now``.
NOT_ANSWERS = {
    "bitmapist.index",
    "bitmapist.api_events",
    "bitmapist.api_event_names",
    "bitmapist.static",
    "bitmapist.storage",
}


def zoned_app(zone: str) -> Flask:
    app = Flask(f"calendar-edges-{zone}")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL="memory://", BITMAPIST_TIMEZONE=zone)
    FlaskBitmapist(app)
    return app


def answer_routes(app: Flask) -> list[str]:
    """Every GET route of the blueprint that serves an answer, from the URL map."""
    found = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("bitmapist.")
        and rule.endpoint not in NOT_ANSWERS
        and "GET" in (rule.methods or ())
    )
    assert len(found) >= 16, found  # cohorts, trends, lifecycles, stickiness, funnels
    return found


def get(client: FlaskClient, route: str, **query: str) -> tuple[int, str | None, str]:
    """Status, the field a JSON error names, and the body's text."""
    with_steps = [*{**FIELDS, **query}.items(), ("step", "a"), ("step", "b")]
    response = client.get(route, query_string=with_steps)
    field = response.json.get("field") if response.is_json and response.json else None
    return response.status_code, field, response.get_data(as_text=True)


def variants(route: str) -> list[dict[str, str]]:
    """Ordinary and first-time rows for cohort routes; answers without rows take none."""
    return [{"first_time": "0"}, {"first_time": "1"}] if "cohort" in route else [{}]


@pytest.mark.parametrize("zone", ZONES)
def test_week_one_of_year_1000_is_a_400_naming_now_in_every_answer(zone: str) -> None:
    client = zoned_app(zone).test_client()
    for route in answer_routes(client.application):
        for extra in variants(route):
            status, field, body = get(
                client,
                route,
                time_group="weeks",
                now="1000-01-02T12:00",
                periods="1",
                rows="1",
                **extra,
            )
            assert status == 400, (route, extra, body[:200])
            assert "calendar" in body, (route, extra)
            if route.startswith("/bitmapist/api/"):
                assert field == "now", (route, extra, body)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("group", GROUPS)
def test_the_calendars_start_is_a_200_or_a_400_naming_now_or_the_periods(
    zone: str, group: str
) -> None:
    client = zoned_app(zone).test_client()
    for route in answer_routes(client.application):
        for extra in variants(route):
            for now, count in (("1000-01-02T12:00", "1"), ("1000-01-02T12:00", "40")):
                status, field, body = get(
                    client, route, time_group=group, now=now, periods=count, rows=count, **extra
                )
                what = (route, group, now, count, extra, body[:200])
                assert status in (200, 400), what
                if status == 400:
                    assert "calendar" in body, what
                    if route.startswith("/bitmapist/api/"):
                        assert field in ("now", "periods", "rows"), what
            # Forty periods of any group from 2 January 1000 reach back past the start.
            assert status == 400, (route, group, extra)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("group", GROUPS)
def test_the_calendars_end_is_answered(zone: str, group: str) -> None:
    client = zoned_app(zone).test_client()
    for route in answer_routes(client.application):
        for extra in variants(route):
            for now in ("9000-12-31T12:00", "8999-12-31T12:00"):
                status, _, body = get(
                    client, route, time_group=group, now=now, periods="3", rows="3", **extra
                )
                assert status == 200, (route, group, now, extra, body[:200])
            # The last minute of 9000 is in 9001 in UTC west of it: that now is refused.
            status, field, body = get(
                client, route, time_group=group, now="9000-12-31T23:59", periods="3", rows="3"
            )
            assert status == (200 if zone != "America/Los_Angeles" else 400), (route, body)
            assert field in (None, "now"), (route, body)


@pytest.mark.parametrize(
    "command",
    [
        ["lifecycle", "a"],
        ["trend", "a"],
        ["stickiness", "a"],
        ["funnel", "a", "b"],
        ["cohort", "a", "b"],
        ["cohort", "a", "b", "--first-time"],
    ],
)
@pytest.mark.parametrize("group", GROUPS)
def test_the_calendars_start_is_a_usage_error_in_the_cli(command: list[str], group: str) -> None:
    runner = zoned_app("UTC").test_cli_runner()
    count = ["--rows"] if command[0] == "cohort" else ["--periods"]
    cols = ["--cols", "1"] if command[0] == "cohort" else []
    for now, periods, options in (
        # 400 periods of any group reach back past the start (week 1 itself does).
        ("1000-01-02T12:00", "400", (count[0], "--now")),
        ("0999-12-31", "1", ("--now",)),
    ):
        args = ["bitmapist", *command, "--time-group", group, "--now", now, *count, periods, *cols]
        result = runner.invoke(args=args)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output, result.output
        assert any(option in result.output for option in options), result.output
    args = ["bitmapist", *command, "--time-group", "weeks", "--now", "1000-01-02T12:00"]
    result = runner.invoke(args=[*args, *count, "1", *cols])
    assert result.exit_code == 2 and "--now" in result.output, result.output
