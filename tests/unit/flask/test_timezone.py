"""BITMAPIST_TIMEZONE: the app's calendar for marks, reads, input and output."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from flask_bitmapist import (
    DayEvents,
    FlaskBitmapist,
    InvalidConfiguration,
    current_state,
    get_cohort,
    get_event_data,
    get_lifecycle,
    get_trend,
    mark,
    mark_event,
)
from flask_bitmapist.domain import UTC, EventRef, Mark, Period, TimeGroup
from flask_bitmapist.services.event_files import EventFileReader, import_rows
from tests.unit.flask.models import Base as MixinBase
from tests.unit.flask.models import User as MixinUser
from tests.unit.flask.support import FixedClock, RecordingRepository, add_login_views, make_app

LA = ZoneInfo("America/Los_Angeles")
HOUR = timedelta(hours=1)
#: 23:30 on 30 November 2026 in Los Angeles: the last half hour of a day, a week's Monday
#: and a month, while in UTC it is already 1 December.
LAST_HALF_HOUR = datetime(2026, 12, 1, 7, 30, tzinfo=timezone.utc)
LOCAL_KEYS = {"2026-11-30", "W2026-49", "2026-11", "2026-11-30-23"}
UTC_KEYS = {"2026-12-1", "W2026-49", "2026-12", "2026-12-1-7"}


def zoned_app(zone: str = "America/Los_Angeles") -> tuple[Flask, RecordingRepository]:
    """An app in ``zone`` on a recording in-process store, its clock at LAST_HALF_HOUR."""
    repository = RecordingRepository()
    app = make_app(BITMAPIST_TIMEZONE=zone, BITMAPIST_TRACK_HOURLY=True)
    FlaskBitmapist(
        app, clock=FixedClock(LAST_HALF_HOUR), repository_factory=lambda _settings: repository
    )
    return app, repository


def written_keys(repository: RecordingRepository) -> set[str]:
    return {
        target.key_suffix
        for _, marks in repository.writes
        for mark_ in marks
        for target in mark_.targets()
    }


# -- the setting ------------------------------------------------------------------------


def test_the_default_zone_is_utc() -> None:
    app = make_app()
    FlaskBitmapist(app)
    with app.app_context():
        assert current_state().zone is UTC
        assert current_state().settings.timezone_name == "UTC"
    assert app.config["BITMAPIST_TIMEZONE"] == "UTC"


def test_an_iana_name_sets_the_zone() -> None:
    app, _ = zoned_app("Asia/Kathmandu")
    with app.app_context():
        assert current_state().zone is ZoneInfo("Asia/Kathmandu")
        assert current_state().now().isoformat() == "2026-12-01T13:15:00+05:45"


def test_a_zoneinfo_object_is_accepted_too() -> None:
    app = make_app(BITMAPIST_TIMEZONE=ZoneInfo("Europe/Paris"))
    FlaskBitmapist(app)
    with app.app_context():
        assert current_state().settings.timezone_name == "Europe/Paris"


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "", "../etc/passwd", "PST8PDT ", 5, None])
def test_a_bad_zone_is_refused_at_init_app_naming_the_key(bad: object) -> None:
    app = make_app(BITMAPIST_TIMEZONE=bad)
    with pytest.raises(InvalidConfiguration) as caught:
        FlaskBitmapist(app)
    assert caught.value.key == "BITMAPIST_TIMEZONE"
    assert "BITMAPIST_TIMEZONE" in str(caught.value)
    assert repr(bad) in str(caught.value)
    assert "bitmapist" not in app.extensions


# -- marking ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 30, 23, 30),  # naive: local time in the app's zone
        LAST_HALF_HOUR,  # aware UTC: converted
        datetime(2026, 12, 1, 2, 30, tzinfo=timezone(timedelta(hours=-5))),  # another offset
    ],
)
def test_a_mark_at_23_30_local_on_a_months_last_day_lands_in_that_local_day_week_and_month(
    moment: datetime,
) -> None:
    app, repository = zoned_app()
    with app.app_context():
        mark_event("user:paid", 7, now=moment)
        engine = current_state().engine
        for group, label in (
            (TimeGroup.DAY, datetime(2026, 11, 30)),
            (TimeGroup.WEEK, datetime(2026, 11, 30)),
            (TimeGroup.MONTH, datetime(2026, 11, 1)),
        ):
            local = Period.at(group, label, LA)
            assert list(engine.users(EventRef("user:paid"), local)) == [7]
            assert list(engine.users(EventRef("user:paid"), local.shift(1))) == []
        # The app's "today" is its local 30 November; an hour later it is 1 December.
        assert list(get_event_data("user:paid", "days")) == [7]
        assert list(get_event_data("user:paid", "days", LAST_HALF_HOUR + HOUR)) == []
        assert list(DayEvents("user:paid", 2026, 11, 30)) == [7]
    assert written_keys(repository) == LOCAL_KEYS


def test_the_same_moment_in_a_utc_app_lands_in_the_utc_periods() -> None:
    app, repository = zoned_app("UTC")
    with app.app_context():
        mark_event("user:paid", 7, now=LAST_HALF_HOUR)
    assert written_keys(repository) == UTC_KEYS


def test_the_decorator_and_the_login_hook_mark_the_local_now() -> None:
    app, repository = zoned_app()
    add_login_views(app)

    @app.route("/buy")
    @mark("user:bought", 3)
    def buy() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/buy").text == "ok"
    assert client.post("/login/4").text == "welcome"
    assert written_keys(repository) == LOCAL_KEYS
    with app.app_context():
        assert list(get_event_data("user:logged_in", "months", datetime(2026, 11, 2))) == [4]


def test_an_imported_row_without_an_offset_is_local_time() -> None:
    app, repository = zoned_app()
    rows = b"user_id,event,timestamp\n1,user:paid,2026-11-30 23:30\n2,user:paid,1796110200\n"
    with app.app_context():
        state = current_state()
        reader = EventFileReader(io.BytesIO(rows), policy=state.marking)
        summary = import_rows(state.repository, reader, policy=state.marking)
    assert summary.bad_rows == []
    assert summary.rows == 2
    assert written_keys(repository) == LOCAL_KEYS


# -- reading ----------------------------------------------------------------------------


def test_the_default_now_is_the_local_time_and_a_naive_now_is_local() -> None:
    app, _ = zoned_app()
    with app.app_context():
        mark_event("user:paid", 1, now=datetime(2026, 11, 30, 8))
        mark_event("user:paid", 2, now=datetime(2026, 12, 1, 8))
        assert current_state().now().isoformat() == "2026-11-30T23:30:00-08:00"
        assert list(get_event_data("user:paid", "days")) == [1]
        assert list(get_event_data("user:paid", "days", datetime(2026, 12, 1, 0, 30))) == [2]
        assert list(get_event_data("user:paid", "months")) == [1]


def test_get_cohort_rows_are_local_days_dated_at_local_midnight() -> None:
    app, _ = zoned_app()
    with app.app_context():
        mark_event("user:created", 1, now=datetime(2026, 11, 29, 23, 59))
        mark_event("user:active", 1, now=datetime(2026, 11, 30, 0, 1))
        cohort, dates, totals = get_cohort("user:created", "user:active", num_rows=2, num_cols=2)
        assert dates == [datetime(2026, 11, 29), datetime(2026, 11, 30)]
        assert totals == [1, 0]
        assert cohort == [[0, 1], [None, None]]
        aware = get_cohort(
            "user:created", "user:active", num_rows=2, num_cols=2, now=LAST_HALF_HOUR
        )
        assert [d.isoformat() for d in aware[1]] == [
            "2026-11-29T00:00:00-08:00",
            "2026-11-30T00:00:00-08:00",
        ]


def test_a_zoned_trend_and_lifecycle_count_the_local_days() -> None:
    app, _ = zoned_app()
    with app.app_context():
        mark_event("a", 1)  # the clock: 23:30 on 30 November in Los Angeles (1 December UTC)
        mark_event("a", 2, now=datetime(2026, 11, 30, 0, 10))  # naive: local time
        mark_event("a", 3, now=datetime(2026, 11, 29, 23, 59))
        trend = get_trend("a", periods=2)
        lifecycle = get_lifecycle("a", periods=2)
    local_midnights = [datetime(2026, 11, 29, tzinfo=LA), datetime(2026, 11, 30, tzinfo=LA)]
    assert list(trend.dates) == local_midnights
    assert [d.utcoffset() for d in trend.dates] == [timedelta(hours=-8)] * 2
    assert list(trend.series[0].counts) == [1, 2]
    assert list(lifecycle.dates) == local_midnights
    assert (list(lifecycle.new), list(lifecycle.dormant)) == ([1, 2], [0, 1])
    client = app.test_client()
    api = client.get("/bitmapist/api/trend?expr=a&periods=2").get_json()
    assert api["dates"] == ["2026-11-29T00:00:00-08:00", "2026-11-30T00:00:00-08:00"]
    assert api["series"][0]["counts"] == [1, 2]
    pinned = client.get("/bitmapist/api/lifecycle?expr=a&periods=1&now=2026-11-30T00:30")
    assert pinned.get_json()["dates"] == ["2026-11-30T00:00:00-08:00"]
    page = client.get("/bitmapist/trends?expr=a&periods=2")
    assert page.status_code == 200
    assert "America/Los_Angeles" in page.text
    result = app.test_cli_runner().invoke(args=["bitmapist", "trend", "a", "--periods", "2"])
    assert result.exit_code == 0, result.output
    assert "now 2026-11-30T23:30:00-08:00 (America/Los_Angeles)" in result.output.splitlines()[0]


# -- output -----------------------------------------------------------------------------


def test_every_dashboard_page_shows_the_zone() -> None:
    app, _ = zoned_app()
    client = app.test_client()
    pages = [
        client.get("/bitmapist/"),
        client.get("/bitmapist/cohort"),
        client.get("/bitmapist/cohort?primary=user:created&secondary=user:active&rows=2"),
        client.get("/bitmapist/cohort?primary=user:created&secondary=user:active&rows=0"),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200, 400]
    for page in pages:
        assert 'id="zone"' in page.text
        assert "America/Los_Angeles" in page.text
    assert "2026-11-30 23:30 America/Los_Angeles" in pages[0].text
    assert "As of 2026-11-30 23:30 America/Los_Angeles." in pages[2].text


def test_the_api_dates_carry_the_offset_and_a_naive_now_is_local() -> None:
    app, _ = zoned_app()
    client = app.test_client()
    cohort = client.get(
        "/bitmapist/api/cohort?primary=a&secondary=b&rows=2&cols=1&now=2026-07-01T00:30"
    ).get_json()
    assert cohort["dates"] == ["2026-06-30T00:00:00-07:00", "2026-07-01T00:00:00-07:00"]
    assert cohort["spec"]["now"] == "2026-07-01T00:30:00-07:00"
    assert cohort["spec"]["timezone"] == "America/Los_Angeles"
    events = client.get("/bitmapist/api/events").get_json()
    assert events["now"] == "2026-11-30T23:30:00-08:00"
    assert events["periods"]["month"] == "2026-11-01T00:00:00-07:00"
    assert events["periods"]["day"] == "2026-11-30T00:00:00-08:00"


def test_the_cli_reads_now_as_local_time_and_names_the_zone() -> None:
    app, _ = zoned_app()
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["bitmapist", "cohort", "a", "b", "--rows", "2", "--now", "2026-07-01T00:30"]
    )
    assert result.exit_code == 0, result.output
    assert "now 2026-07-01T00:30:00-07:00 (America/Los_Angeles)" in result.stdout.splitlines()[2]
    assert "warning: no data for event 'a'" in result.stderr
    with app.app_context():
        mark_event("user:paid", 1)
    events = runner.invoke(args=["bitmapist", "events"])
    assert events.output.splitlines()[0] == "now 2026-11-30T23:30:00-08:00 (America/Los_Angeles)"


def test_a_mark_keeps_the_zone_it_was_made_in() -> None:
    made = Mark.create("x", 1, datetime(2026, 11, 30, 23, 30), zone=LA)
    assert made.moment.tzinfo is LA
    assert {t.key_suffix for t in made.targets()} == LOCAL_KEYS - {"2026-11-30-23"}


def test_the_mixin_marks_the_local_day_of_the_commit() -> None:
    app, repository = zoned_app()
    engine = create_engine("sqlite://")
    MixinBase.metadata.create_all(engine)
    with app.app_context(), Session(engine) as session:
        session.add(MixinUser(name="ada"))
        session.commit()
    engine.dispose()
    assert written_keys(repository) == LOCAL_KEYS


def test_a_now_the_zone_pushes_off_the_calendar_is_a_400_naming_it() -> None:
    app, _ = zoned_app()
    response = app.test_client().get(
        "/bitmapist/api/cohort?primary=a&secondary=b&now=9999-12-31T23:00"
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == "now"
    assert "9999-12-31T23:00" in response.get_json()["message"]


@pytest.mark.parametrize("command", [["cohort", "a", "b"], ["events"], ["demo-data", "--yes"]])
def test_a_cli_now_the_zone_pushes_off_the_calendar_is_a_usage_error(command: list[str]) -> None:
    app, repository = zoned_app()
    result = app.test_cli_runner().invoke(args=["bitmapist", *command, "--now", "9999-12-31T23:00"])
    assert result.exit_code == 2
    assert "Invalid value for '--now'" in result.output
    assert "outside the calendar in time zone America/Los_Angeles" in result.output
    assert repository.writes == []
