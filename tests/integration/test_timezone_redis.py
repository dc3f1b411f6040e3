"""BITMAPIST_TIMEZONE on a real redis-server: the keys written are named by local periods,
an import and the cohort read them back (a UTC app's keys read by bitmapist itself:
tests/integration/bitmapist/test_timezone_utc_keys.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import redis
from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state, get_cohort, get_lifecycle, mark_event
from tests.integration.support import NEW_YEARS_EVE, keys, zoned_app
from tests.unit.flask.support import FixedClock

#: NEW_YEARS_EVE: 23:30 on 31 December 2026 in Los Angeles; 07:30 on 1 January 2027 in UTC.


def test_a_los_angeles_app_writes_its_local_periods_keys(redis_url: str) -> None:
    app = zoned_app(redis_url, "America/Los_Angeles")
    with app.app_context():
        mark_event("user:paid", 5)  # now: New Year's Eve, 23:30 local
        mark_event("user:paid", 6, now=datetime(2026, 11, 1, 1, 30))  # the repeated hour
        mark_event("user:paid", 6, now=datetime(2026, 11, 1, 9, 45, tzinfo=timezone.utc))
    assert keys(redis_url) == {
        "trackist_user:paid_2026-12-31",
        "trackist_user:paid_W2026-53",
        "trackist_user:paid_2026-12",
        "trackist_user:paid_2026-12-31-23",
        # 01:30 PDT and 01:45 PST, an hour apart: one hour key for the repeated hour.
        "trackist_user:paid_2026-11-1",
        "trackist_user:paid_W2026-44",
        "trackist_user:paid_2026-11",
        "trackist_user:paid_2026-11-1-1",
    }
    client = redis.Redis.from_url(redis_url)
    assert client.getbit("trackist_user:paid_2026-12-31", 5) == 1
    assert client.getbit("trackist_user:paid_2026-11-1-1", 6) == 1


def test_an_import_and_a_cohort_in_kolkata_use_its_half_hour_offset(redis_url: str) -> None:
    app = zoned_app(redis_url, "Asia/Kolkata")
    rows = "user_id,event,timestamp\n1,signup,2026-12-31 23:45\n1,active,2027-01-01T00:10\n"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["bitmapist", "import", "-"], input=rows)
    assert result.exit_code == 0, result.output
    written = keys(redis_url)
    # 00:10 in Kolkata on 1 January is 18:40 on 31 December in UTC.
    assert {"trackist_signup_2026-12-31", "trackist_active_2027-1-1"} <= written
    assert "trackist_active_2026-12-31" not in written
    with app.app_context():
        assert current_state().now().isoformat() == "2027-01-01T13:00:00+05:30"
        cohort, dates, totals = get_cohort(
            "signup", "active", num_rows=2, num_cols=2, with_replacement=True
        )
    assert dates == [datetime(2026, 12, 31), datetime(2027, 1, 1)]
    assert totals == [1, 0]
    assert cohort == [[0, 1], [None, None]]


def first_times_in(url: str, zone: str, **config: object) -> tuple[tuple[int, ...], list[int]]:
    """Lifecycle "new" and first-time cohort totals of two users' first days, Nov 10 and
    11 local time (naive moments are the app's zone's)."""
    app = Flask(f"first-times-{zone}")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL=url, BITMAPIST_TIMEZONE=zone, **config)
    FlaskBitmapist(app, clock=FixedClock(NEW_YEARS_EVE))
    now = datetime(2026, 11, 11, 13)
    with app.app_context():
        try:
            mark_event("act", 1, now=datetime(2026, 11, 10, 9))
            mark_event("act", 2, now=datetime(2026, 11, 11, 9))
            lifecycle = get_lifecycle("act", periods=3, now=now)
            _, _, totals = get_cohort(
                "act", "act", num_rows=2, num_cols=2, now=now, first_time=True
            )
        finally:
            close = getattr(current_state().repository, "close", None)
            if close is not None:
                close()
    return lifecycle.new, totals


ZONES = ["America/Los_Angeles", "America/New_York", "UTC", "Asia/Tokyo", "Pacific/Chatham"]


@pytest.mark.parametrize("zone", ZONES)
def test_first_times_west_of_utc_are_new_on_redis(redis_url: str, zone: str) -> None:
    # West of UTC, November's month key was read as a UTC November that began hours before
    # the local one: the users' own month counted as their earlier history (issue 19).
    assert first_times_in(redis_url, zone) == ((0, 1, 1), [1, 1])
    assert first_times_in("memory://", zone) == ((0, 1, 1), [1, 1])


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "America/New_York"])
def test_first_times_west_of_utc_are_new_on_a_cluster(redis_cluster_url: str, zone: str) -> None:
    assert first_times_in(redis_cluster_url, zone, BITMAPIST_REDIS_CLUSTER=True) == (
        (0, 1, 1),
        [1, 1],
    )
