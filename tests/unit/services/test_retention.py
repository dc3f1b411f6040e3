"""check_window_kept: which windows a retention policy refuses, and how it names them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from flask_bitmapist.domain import (
    CohortSpec,
    EventRef,
    LifecycleSpec,
    PeriodsExpired,
    RetentionPolicy,
    StickinessSpec,
    TrendSpec,
)
from flask_bitmapist.services.retention import check_window_kept

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)
POLICY = RetentionPolicy.create({"hours": 2, "days": 10, "months": 400})


def test_a_window_inside_the_policy_is_returned_as_is() -> None:
    spec = StickinessSpec.create(EventRef("a"), now=NOW, periods=11)  # back to 17 Nov
    assert check_window_kept(spec, POLICY, NOW) is spec
    weeks = StickinessSpec.create(EventRef("a"), now=NOW, time_group="weeks", periods=500)
    assert check_window_kept(weeks, POLICY, NOW) is weeks  # weeks are kept forever


def test_one_day_too_many_is_refused_naming_periods_and_the_oldest_day_kept() -> None:
    spec = StickinessSpec.create(EventRef("a"), now=NOW, periods=12)
    with pytest.raises(PeriodsExpired) as caught:
        check_window_kept(spec, POLICY, NOW)
    assert (caught.value.field, caught.value.days_kept) == ("periods", 10)
    assert "the oldest day still stored is 2026-11-17" in str(caught.value)


def test_reads_before_the_window_count() -> None:
    trend = TrendSpec.create([EventRef("a")], now=NOW, periods=5, rolling=8)  # 12 days
    lifecycle = LifecycleSpec.create(EventRef("a"), now=NOW, periods=11)  # 12 days
    with pytest.raises(PeriodsExpired):
        check_window_kept(trend, POLICY, NOW)
    with pytest.raises(PeriodsExpired):
        check_window_kept(lifecycle, POLICY, NOW)


def test_a_window_ending_before_the_oldest_kept_period_names_now() -> None:
    spec = StickinessSpec.create(EventRef("a"), now=NOW - timedelta(days=30), periods=2)
    with pytest.raises(PeriodsExpired) as caught:
        check_window_kept(spec, POLICY, NOW)
    assert caught.value.field == "now" and "a later now" in str(caught.value)


def test_a_cohort_names_rows_and_years_are_judged_on_their_months() -> None:
    cohort = CohortSpec.create(EventRef("a"), EventRef("b"), now=NOW, rows=12, cols=1)
    with pytest.raises(PeriodsExpired) as caught:
        check_window_kept(cohort, POLICY, NOW)
    assert caught.value.field == "rows"
    years = StickinessSpec.create(EventRef("a"), now=NOW, time_group="years", periods=2)
    with pytest.raises(PeriodsExpired) as caught:
        check_window_kept(years, POLICY, NOW)  # January 2025 ended over 400 days ago
    assert caught.value.days_kept == 400 and "months are kept 400 days" in str(caught.value)


def test_the_clock_decides_not_the_requested_now() -> None:
    spec = StickinessSpec.create(EventRef("a"), now=NOW, periods=10)
    with pytest.raises(PeriodsExpired):
        check_window_kept(spec, POLICY, NOW + timedelta(days=2))
    hours = StickinessSpec.create(EventRef("a"), now=NOW, time_group="hours", periods=3)
    assert check_window_kept(hours, POLICY, NOW) is hours
    with pytest.raises(PeriodsExpired) as caught:
        check_window_kept(hours, POLICY, NOW + timedelta(days=2))
    assert caught.value.days_kept == 2
