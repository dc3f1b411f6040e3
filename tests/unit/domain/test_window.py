"""Answer windows (domain/window.py)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask_bitmapist.domain.window import Window


def test_windows_at_one_instant_in_two_zones_have_each_zones_periods() -> None:
    # The two ``now`` are equal (one instant), so a cache keyed by the window alone would
    # hand the second the first one's periods.
    instant = datetime(2026, 11, 27, 3, tzinfo=timezone.utc)
    utc = Window.create(time_group="days", periods=2, now=instant)
    la = Window.create(
        time_group="days", periods=2, now=instant.astimezone(ZoneInfo("America/Los_Angeles"))
    )
    assert utc.now == la.now
    assert [p.key_suffix for p in utc.periods()] == ["2026-11-26", "2026-11-27"]
    assert [p.key_suffix for p in la.periods()] == ["2026-11-25", "2026-11-26"]
    assert [p.key_suffix for p in utc.periods()] == ["2026-11-26", "2026-11-27"]
