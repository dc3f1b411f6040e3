"""Trend specs refuse what is out of bounds, naming the field; worked examples."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

import flask_bitmapist.domain.trend as trend_module
from flask_bitmapist.domain import (
    Bitmap,
    EventRef,
    InvalidAnswerSpec,
    Mark,
    Not,
    TimeGroup,
    TrendEngine,
    TrendSpec,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository

NOW = datetime(2027, 1, 2, 12)
A = parse_expression("a")


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"periods": 0}, "periods", "periods must be between 1 and 1000, got 0"),
        ({"periods": 1001}, "periods", "between 1 and 1000, got 1001"),
        ({"periods": 8761, "time_group": "hours"}, "periods", "between 1 and 8760, got 8761"),
        ({"periods": "30"}, "periods", "periods must be an int, got '30'"),
        ({"rolling": 367}, "rolling", "rolling must be between 1 and 366, got 367"),
        ({"rolling": True}, "rolling", "rolling must be an int, got True"),
        ({"time_group": "fortnights"}, "time_group", "unknown time group 'fortnights'"),
        ({"now": "yesterday"}, "now", "expected a datetime, got 'yesterday'"),
        (
            {"periods": 1000, "time_group": "years", "now": datetime(900, 1, 1)},
            "now",
            "outside the calendar in UTC: only years 1000 to 9000",
        ),
    ],
)
def test_out_of_bounds_fields_are_refused_by_name(
    kwargs: dict[str, object], field: str, message: str
) -> None:
    arguments: dict[str, object] = {"now": NOW, **kwargs}
    with pytest.raises(InvalidAnswerSpec, match=message) as caught:
        TrendSpec.create([A], **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_hours_may_span_a_year_and_rolling_a_year_of_days() -> None:
    assert TrendSpec.create([A], now=NOW, time_group="hours", periods=8760).window.size == 8760
    assert TrendSpec.create([A], now=NOW, rolling=366).rolling == 366


@pytest.mark.parametrize(
    ("expressions", "message"),
    [
        ([], "a trend has 1 to 10 expressions, got 0"),
        ([A] * 11, "a trend has 1 to 10 expressions, got 11"),
        (A, "must be a list of expressions"),
        (["a"], "expr must be an expression"),
        ([Not(EventRef("a"))], "lone negation"),
    ],
)
def test_series_must_be_one_to_ten_expressions(expressions: object, message: str) -> None:
    with pytest.raises(InvalidAnswerSpec, match=message) as caught:
        TrendSpec.create(expressions, now=NOW)  # type: ignore[arg-type]
    assert caught.value.field == "expr"


def test_a_rolling_week_across_new_year_counts_each_user_once() -> None:
    repository = InMemoryRepository()
    repository.mark(
        [
            Mark.create("a", 1, datetime(2026, 12, 27)),
            Mark.create("a", 1, datetime(2026, 12, 30)),
            Mark.create("a", 2, datetime(2027, 1, 1)),
            Mark.create("b", 2, datetime(2027, 1, 1)),
        ]
    )
    spec = TrendSpec.create(
        [parse_expression("a"), parse_expression("a & ~b")], now=NOW, periods=3, rolling=7
    )
    trend = TrendEngine(repository).compute(spec)
    assert [d.date().isoformat() for d in trend.dates] == ["2026-12-31", "2027-01-01", "2027-01-02"]
    assert trend.series[0].counts == (1, 2, 2)
    # a & ~b is taken day by day: user 2 did both on their only day.
    assert trend.series[1].counts == (1, 1, 1)


def test_weekly_trends_use_iso_weeks_across_new_year() -> None:
    repository = InMemoryRepository()
    repository.mark([Mark.create("a", 7, datetime(2027, 1, 1)), Mark.create("a", 8, NOW)])
    spec = TrendSpec.create([A], now=NOW, time_group=TimeGroup.WEEK, periods=2)
    trend = TrendEngine(repository).compute(spec)
    assert [d.date().isoformat() for d in trend.dates] == ["2026-12-21", "2026-12-28"]
    assert trend.series[0].counts == (0, 2)
    assert list(TrendEngine(repository).users(spec, 0, 1)) == [7, 8]


@pytest.mark.parametrize(("series", "index", "field"), [(1, 0, "series"), (0, 3, "index")])
def test_drilling_down_outside_the_trend_names_the_field(
    series: int, index: int, field: str
) -> None:
    spec = TrendSpec.create([A], now=NOW, periods=3)
    with pytest.raises(InvalidAnswerSpec, match=f"{field} {max(series, index)} is outside") as c:
        TrendEngine(InMemoryRepository()).users(spec, series, index)
    assert c.value.field == field


@pytest.mark.parametrize("slice_bytes", [1, 3000, 64 * 2**20])
def test_rolling_counts_agree_however_the_users_are_sliced(
    monkeypatch: pytest.MonkeyPatch, slice_bytes: int
) -> None:
    # Slices bound memory on big sets; the counts must not depend on where they fall.
    monkeypatch.setattr(trend_module, "_SLICE_BYTES", slice_bytes)
    rng = random.Random(slice_bytes)
    for _ in range(50):
        n, w = rng.randint(1, 25), rng.randint(1, 12)
        sets = [set(rng.sample(range(5000), rng.randint(0, 60))) for _ in range(n + w - 1)]
        expected = tuple(len(set().union(*sets[k : k + w])) for k in range(n))
        assert trend_module._rolling_counts([Bitmap.from_ids(s) for s in sets], w) == expected
