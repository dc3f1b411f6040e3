"""The charts' geometry: the retention chart's line per row, bold average and readable
axes; a trend broken down by a property (a line per group); stickiness and funnels with
the previous window."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import (
    Cohort,
    CohortSpec,
    EventRef,
    Funnel,
    FunnelSpec,
    Stickiness,
    StickinessSpec,
    Trend,
    TrendSpec,
    parse_expression,
)
from flask_bitmapist.domain.trend import TrendSeries
from flask_bitmapist.flask.dashboard.chart import (
    HEIGHT,
    FunnelChart,
    RetentionChart,
    StickinessChart,
    TrendChart,
    nice_ceiling,
)

NOW = datetime(2026, 11, 27, 15, tzinfo=timezone.utc)


def cohort() -> Cohort:
    spec = CohortSpec.create(EventRef("a"), EventRef("b"), now=NOW, rows=3, cols=3)
    dates = tuple(datetime(2026, 11, d, tzinfo=timezone.utc) for d in (25, 26, 27))
    return Cohort(spec, dates, (8, 0, 4), ((2, 4, 1), (None, None, None), (3, None, None)))


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1.0), (0.3, 0.5), (1, 1.0), (37, 50.0), (75, 100.0), (120, 200.0)]
)
def test_the_axis_ends_at_a_round_number(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_percent_chart_has_a_line_per_row_with_users_and_the_average() -> None:
    chart = RetentionChart.build(cohort(), as_percent=True)

    assert [line.label for line in chart.rows] == ["25 Nov 2026", "27 Nov 2026"]
    assert [p.value for p in chart.rows[0].points] == [25.0, 50.0, 12.5]
    assert [p.value for p in chart.rows[1].points] == [75.0]
    assert [p.value for p in chart.average.points] == [50.0, 50.0, 12.5]
    assert chart.average.points[0].text == "Average, Day 0: 50.00%"
    assert [label for _, label in chart.y_ticks] == ["0%", "20%", "40%", "60%", "80%"]


def test_values_map_onto_the_plot_top_to_bottom() -> None:
    chart = RetentionChart.build(cohort(), as_percent=True)
    first, second, third = chart.rows[0].points

    # 50% on an axis that ends at 80%.
    height = chart.plot_bottom - chart.plot_top
    assert second.y == pytest.approx(chart.plot_bottom - height * 50 / 80)
    assert first.x == chart.plot_left and third.x == chart.plot_right
    assert chart.plot_bottom < HEIGHT


def test_counts_chart_uses_users_and_the_simple_average() -> None:
    chart = RetentionChart.build(cohort(), as_percent=False)

    assert [p.value for p in chart.average.points] == [2.5, 4.0, 1.0]
    assert chart.unit == "users"
    assert [label for _, label in chart.y_ticks] == ["0", "1", "2", "3", "4"]


def test_user_axes_step_in_whole_numbers_and_percent_axes_may_step_by_halves() -> None:
    assert nice_ceiling(2.2, whole=True) == 5.0
    assert nice_ceiling(0.2, whole=True) == 1.0
    assert nice_ceiling(2.2) == 2.5
    spec = CohortSpec.create(EventRef("a"), EventRef("b"), now=NOW, rows=1, cols=2)
    ten_users = Cohort(spec, (NOW,), (40,), ((10, None),))
    ten_percent = Cohort(spec, (NOW,), (40,), ((4, None),))

    assert [t for _, t in RetentionChart.build(ten_users, as_percent=False).y_ticks] == [
        "0",
        "5",
        "10",
    ]
    assert [t for _, t in RetentionChart.build(ten_percent, as_percent=True).y_ticks] == [
        "0%",
        "2.5%",
        "5%",
        "7.5%",
        "10%",
    ]


# -- trends broken down, stickiness and funnels compared ---------------------------------


def trend(counts: list[tuple[int, ...]], previous: list[tuple[int, ...]] | None = None) -> Trend:
    expressions = [parse_expression(f"e{i}") for i in range(len(counts))]
    spec = TrendSpec.create(expressions, now=NOW, periods=len(counts[0]))
    dates = tuple(
        datetime(2026, 11, 28 - len(counts[0]) + k, tzinfo=timezone.utc)
        for k in range(len(counts[0]))
    )
    series = tuple(TrendSeries(e, c) for e, c in zip(expressions, counts, strict=True))
    before = trend(previous) if previous else None
    return Trend(spec, dates, series, before)


def test_a_broken_down_trend_draws_each_series_once_per_group() -> None:
    total = trend([(5, 7, 3), (2, 2, 2)])
    pro = trend([(4, 6, 1), (2, 0, 1)])
    rest = trend([(1, 1, 2), (0, 2, 1)])
    chart = TrendChart.build(
        total,
        ["paid", "came"],
        (True, True, False),
        breakdown="plan",
        groups=[("pro", pro), (None, rest)],
    )

    assert [line.label for line in chart.lines] == [
        "paid, plan = pro",
        "came, plan = pro",
        "paid, everyone else",
        "came, everyone else",
    ]
    assert [line.css_class for line in chart.lines] == ["line-0", "line-1", "line-2", "line-3"]
    assert [[p.count for p in line.points] for line in chart.lines] == [
        [4, 6, 1],
        [2, 0, 1],
        [1, 1, 2],
        [0, 2, 1],
    ]
    # Each point lists its users within its group: series, then group, then the index.
    assert [line.query for line in chart.lines] == [
        "series=0&group=pro",
        "series=1&group=pro",
        "series=0&group=",
        "series=1&group=",
    ]
    # The last period is not over: each group's line is dashed from its last point.
    assert all(line.dashed_points and not line.points[-1].complete for line in chart.lines)
    # The axis is the groups' (highest 6), not the total's (7 would need 8).
    assert [label for _, label in chart.y_ticks][-1] == "6"
    assert chart.lines[0].points[1].text == "paid, plan = pro, 26 Nov 2026: 6 users"


def test_a_broken_down_trend_with_a_comparison_draws_each_groups_previous_window() -> None:
    total = trend([(5, 7)], previous=[(3, 3)])
    pro = trend([(4, 6)], previous=[(1, 20)])
    chart = TrendChart.build(total, ["paid"], breakdown="plan", groups=[("pro", pro)])

    first, second = chart.lines
    assert (first.label, first.previous, first.css_class) == (
        "paid, plan = pro (previous)",
        True,
        "line-0 previous",
    )
    assert [p.count for p in first.points] == [1, 20]
    assert (second.label, second.previous, second.query) == (
        "paid, plan = pro",
        False,
        "series=0&group=pro",
    )
    assert [label for _, label in chart.y_ticks][-1] == "20"


def test_a_trend_without_groups_keeps_one_line_per_series() -> None:
    chart = TrendChart.build(trend([(5, 7), (1, 2)]), ["a", "b"])

    assert [(line.label, line.query) for line in chart.lines] == [
        ("a", "series=0"),
        ("b", "series=1"),
    ]


def stickiness(counts: tuple[int, ...], previous: tuple[int, ...] | None = None) -> Stickiness:
    spec = StickinessSpec.create(parse_expression("paid"), now=NOW, periods=len(counts))
    dates = tuple(datetime(2026, 11, 20 + k, tzinfo=timezone.utc) for k in range(len(counts)))
    before = Stickiness(spec, dates, previous) if previous else None
    return Stickiness(spec, dates, counts, before)


def test_stickiness_draws_the_previous_window_in_the_same_slots_on_one_axis() -> None:
    chart = StickinessChart.build(stickiness((10, 4, 1), previous=(6, 12, 0)))

    assert [(b.k, b.value) for b in chart.previous] == [(1, 6), (2, 12), (3, 0)]
    assert [b.x for b in chart.previous] == [b.x for b in chart.bars]
    assert [b.width for b in chart.previous] == [b.width for b in chart.bars]
    # 12 (previous) is the highest count: the axis reaches 15, not the current's 10.
    assert [label for _, label in chart.y_ticks][-1] == "15"
    tallest, height = chart.previous[1], chart.plot_bottom - chart.plot_top
    assert tallest.height == pytest.approx(height * 12 / 15)
    assert tallest.y == pytest.approx(chart.plot_bottom - height * 12 / 15)
    assert chart.previous[0].text == "Previous 3 days: 6 users in exactly 1 day"
    assert StickinessChart.build(stickiness((10, 4, 1))).previous == ()


def test_a_funnel_draws_the_previous_window_on_the_same_scale() -> None:
    spec = FunnelSpec.create([parse_expression("a"), parse_expression("b")], now=NOW, periods=7)
    chart = FunnelChart.build(Funnel(spec, (50, 20), Funnel(spec, (100, 10))))
    first, second = chart.steps
    full = chart.bar_right - chart.bar_left

    assert first.previous is not None and second.previous is not None
    # The larger first step (the previous window's 100) is the full width.
    assert first.previous.width == pytest.approx(full)
    assert first.bar.width == pytest.approx(full / 2)
    assert second.previous.width == pytest.approx(full / 10)
    assert first.previous.y == first.bar.y
    assert second.previous.text == "Step 2, previous 7 days: 10 users"
    alone = FunnelChart.build(Funnel(spec, (50, 20)))
    assert alone.steps[0].previous is None and alone.steps[0].bar.width == pytest.approx(full)
