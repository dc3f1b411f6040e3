"""The retention policy: what it accepts, and when each period's bitmaps expire."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from flask_bitmapist.domain import (
    NO_RETENTION,
    InvalidRetention,
    Mark,
    Period,
    RetentionPolicy,
    TimeGroup,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 27, 13, 45, tzinfo=UTC)


def test_a_policy_names_days_kept_per_group_and_keeps_the_others_forever() -> None:
    policy = RetentionPolicy.create({"hours": 14, "days": 400, "month": 800})
    assert policy.days_kept(TimeGroup.HOUR) == 14
    assert policy.days_kept(TimeGroup.DAY) == 400
    assert policy.days_kept(TimeGroup.MONTH) == 800
    assert policy.days_kept(TimeGroup.WEEK) is None
    assert policy.describe() == "hours 14 days, days 400 days, months 800 days"
    assert not RetentionPolicy.create(None) and not RetentionPolicy.create({})
    assert RetentionPolicy.create({}) == NO_RETENTION


def test_a_period_expires_at_its_real_end_plus_the_days_kept_of_24_hours() -> None:
    policy = RetentionPolicy.create({"hours": 14, "days": 400})
    hour = Period.containing(TimeGroup.HOUR, NOW)
    assert policy.expiry(hour) == datetime(2026, 11, 27, 14, tzinfo=UTC) + timedelta(days=14)
    assert policy.expiry_ms(hour) == int(
        (datetime(2026, 12, 11, 14, tzinfo=UTC)).timestamp() * 1000
    )
    # A day with a clock change in Paris ends at its real moment (23:00 UTC the day
    # before summer time ends is not the end: the day is 25 hours long).
    paris = ZoneInfo("Europe/Paris")
    day = Period.containing(TimeGroup.DAY, datetime(2026, 10, 25, 12, tzinfo=paris))
    assert policy.expiry(day) == datetime(2026, 10, 25, 23, tzinfo=UTC) + timedelta(days=400)
    assert policy.expiry(None) is None  # lifetime flags never expire
    assert policy.expiry(Period.containing(TimeGroup.WEEK, NOW)) is None


def test_expired_is_judged_on_the_moment_given() -> None:
    policy = RetentionPolicy.create({"days": 10})
    day = Period.containing(TimeGroup.DAY, NOW)
    assert not policy.is_expired(day, NOW + timedelta(days=10))
    assert policy.is_expired(day, datetime(2026, 12, 8, tzinfo=UTC))
    year = Period.containing(TimeGroup.YEAR, NOW)
    assert not policy.is_expired(year, NOW + timedelta(days=3650))  # months kept forever


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"months": 30}, "months", "shorter than days (forever)"),
        ({"weeks": 3, "days": 10}, "weeks", "weeks 3 days, shorter than days (10 days)"),
        ({"years": 3}, "years", "years are not stored"),
        ({"fortnights": 3}, "fortnights", "no time group"),
        ({"days": 0}, "days", "got 0"),
        ({"days": True}, "days", "got True"),
        ({"hours": 1.5}, "hours", "got 1.5"),
        ({"hours": "14"}, "hours", "got '14'"),
        ({"days": 36_501}, "days", "got 36501"),
        ({"day": 3, "days": 4}, "days", "named twice"),
    ],
)
def test_a_bad_policy_is_refused_naming_its_key(
    given: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InvalidRetention) as caught:
        RetentionPolicy.create(given)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_mark_lists_its_targets_with_their_expiries() -> None:
    policy = RetentionPolicy.create({"hours": 14, "days": 400})
    mark = Mark.create("user:paid", 5, NOW, hourly=True, unique=True, retention=policy)
    expiries = {target.key_suffix: at for target, at in mark.expiries()}
    assert expiries == {
        "2026-11": None,
        "W2026-48": None,
        "2026-11-27": int(datetime(2028, 1, 2, tzinfo=UTC).timestamp() * 1000),
        "2026-11-27-13": int(datetime(2026, 12, 11, 14, tzinfo=UTC).timestamp() * 1000),
        "u": None,
    }
