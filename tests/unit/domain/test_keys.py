"""Reading key names back: every key this package writes parses to the bitmap it holds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from flask_bitmapist.domain import BitmapId, Period, TimeGroup
from flask_bitmapist.domain.keys import parse_key

ZONES = [timezone.utc, ZoneInfo("Europe/Paris"), ZoneInfo("America/Los_Angeles")]
STORED = [TimeGroup.HOUR, TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH]


@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2080, 12, 31)),
    group=st.sampled_from(STORED),
    zone=st.sampled_from(ZONES),
    event=st.sampled_from(["user:paid", "song played", "a_b_c", "x"]),
)
def test_a_written_key_parses_to_its_bitmap(
    moment: datetime, group: TimeGroup, zone: ZoneInfo, event: str
) -> None:
    period = Period.containing(group, moment.replace(tzinfo=timezone.utc), zone)
    key = f"trackist_{event}_{period.key_suffix}"
    parsed = parse_key(key, "trackist_", zone)
    assert parsed == BitmapId(event, period)
    assert parsed is not None and parsed.period is not None
    assert parsed.period.start == period.start
    assert parsed.period.end - parsed.period.start == period.end - period.start


def test_keys_of_other_shapes_are_none() -> None:
    for key in (
        "trackist_user:paid",
        "trackist_user:paid_2026-13",
        "trackist_user:paid_2026-2-30",
        "trackist_user:paid_W2026-54",
        "trackist_user:paid_2026-11-27-24",
        "trackist_bitop_and_a_b",
        "trackist__2026-11",
        "other_user:paid_2026-11",
        "trackist_user\tpaid_2026-11",
        "trackist_user:paid_0999-1",
    ):
        assert parse_key(key, "trackist_", timezone.utc) is None, key
    assert parse_key("trackist_user:paid_u", "trackist_", timezone.utc) == BitmapId(
        "user:paid", None
    )
    day = parse_key("trackist_user:paid_2026-11-07", "trackist_", timezone.utc)
    assert day is not None and day.period is not None
    assert day.period.start == datetime(2026, 11, 7, tzinfo=timezone.utc)
    assert day.period.end - day.period.start == timedelta(days=1)
