"""The retention chart's geometry: one line per row, a bold average, readable axes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import Cohort, CohortSpec, EventRef
from flask_bitmapist.flask.dashboard.chart import HEIGHT, RetentionChart, nice_ceiling

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
