"""Trends and lifecycles as DESIGN's dicts and as CSV; specs built from text."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import (
    InvalidAnswerSpec,
    Lifecycle,
    LifecycleSpec,
    Trend,
    TrendSeries,
    TrendSpec,
    parse_expression,
)
from flask_bitmapist.services.answers import lifecycle_spec, trend_spec
from flask_bitmapist.services.reports import (
    lifecycle_to_csv,
    lifecycle_to_dict,
    trend_to_csv,
    trend_to_dict,
)

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)


def hourly_trend() -> Trend:
    spec = TrendSpec.create(
        [parse_expression("a"), parse_expression("a & ~b")], now=NOW, time_group="hours", periods=2
    )
    series = (
        TrendSeries(spec.expressions[0], (3, 4)),
        TrendSeries(spec.expressions[1], (1, 0)),
    )
    return Trend(spec, spec.window.dates(), series)


def test_a_trend_is_dates_and_series_and_nothing_else() -> None:
    assert trend_to_dict(hourly_trend()) == {
        "dates": ["2026-11-27T14:00:00+00:00", "2026-11-27T15:00:00+00:00"],
        "series": [{"expr": "a", "counts": [3, 4]}, {"expr": "a & ~b", "counts": [1, 0]}],
    }
    # The caller's spelling of each expression is echoed when given.
    labels = ["a", "a and not b"]
    assert [s["expr"] for s in trend_to_dict(hourly_trend(), labels)["series"]] == labels
    with pytest.raises(ValueError, match="1 labels for 2 series"):
        trend_to_dict(hourly_trend(), ["a"])


def test_a_trend_as_csv() -> None:
    rows = list(csv.reader(io.StringIO(trend_to_csv(hourly_trend()))))
    assert rows == [
        ["date", "a", "a & ~b"],
        ["2026-11-27T14:00:00+00:00", "3", "1"],
        ["2026-11-27T15:00:00+00:00", "4", "0"],
    ]


def test_a_lifecycle_is_its_dates_and_four_lists() -> None:
    spec = LifecycleSpec.create(parse_expression("a"), now=NOW, periods=2)
    lifecycle = Lifecycle(spec, spec.window.dates(), (1, 2), (3, 4), (5, 6), (7, 8))
    assert lifecycle_to_dict(lifecycle) == {
        "dates": ["2026-11-26T00:00:00+00:00", "2026-11-27T00:00:00+00:00"],
        "new": [1, 2],
        "returning": [3, 4],
        "resurrecting": [5, 6],
        "dormant": [7, 8],
    }
    assert list(csv.reader(io.StringIO(lifecycle_to_csv(lifecycle)))) == [
        ["date", "new", "returning", "resurrecting", "dormant"],
        ["2026-11-26T00:00:00+00:00", "1", "3", "5", "7"],
        ["2026-11-27T00:00:00+00:00", "2", "4", "6", "8"],
    ]


def test_specs_take_text_or_expression_objects() -> None:
    spec = trend_spec(["a | b", parse_expression("c")], now=NOW, periods=3)
    assert [str(e) for e in spec.expressions] == ["a | b", "c"]
    assert trend_spec("a", now=NOW).expressions == (parse_expression("a"),)
    assert str(lifecycle_spec("a | b", now=NOW).expression) == "a | b"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a &", "expr: expected an event name"),
        (42, "expr must be an expression or a list of expressions, got 42"),
        ([42], "expr must be a text expression or an expression object, got 42"),
        (["a"] * 5000, "1 to 10 expressions, got 5000"),
    ],
)
def test_bad_expressions_name_the_field(value: object, message: str) -> None:
    with pytest.raises(InvalidAnswerSpec, match=message) as caught:
        trend_spec(value, now=NOW)  # type: ignore[arg-type]
    assert caught.value.field == "expr"
