"""Cohort requests (validated, bounded) and what a computed table derives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from flask_bitmapist.domain import (
    DEFAULT_MAX_COHORT_CELLS,
    MAX_COLS,
    MAX_ROWS,
    BitmapistError,
    Cohort,
    CohortMode,
    CohortSpec,
    EventRef,
    Expression,
    InvalidCohortSpec,
    Not,
    TimeGroup,
    parse_expression,
)

UTC = timezone.utc
NOW = datetime(2026, 3, 1, 10, 30)
SIGNUP, ACTIVE = EventRef("signup"), EventRef("active")


def spec(**overrides: object) -> CohortSpec:
    arguments: dict[str, object] = {"now": NOW}
    arguments.update(overrides)
    return CohortSpec.create(SIGNUP, ACTIVE, **arguments)  # type: ignore[arg-type]


# -- CohortSpec -----------------------------------------------------------------------


def test_defaults_are_0_1s() -> None:
    made = spec()
    assert made.time_group is TimeGroup.DAY
    assert (made.rows, made.cols) == (10, 10)
    assert made.mode is CohortMode.FIRST_RETURN
    assert made.now == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    assert (made.primary, made.secondary) == (SIGNUP, ACTIVE)


def test_names_are_parsed() -> None:
    made = spec(time_group="weeks", mode="Cumulative", rows=3, cols=4)
    assert made.time_group is TimeGroup.WEEK
    assert made.mode is CohortMode.CUMULATIVE
    assert spec(mode="first-return").mode is CohortMode.FIRST_RETURN
    assert spec(mode=CohortMode.RECURRING).mode is CohortMode.RECURRING


def test_rows_are_the_periods_ending_with_now_oldest_first() -> None:
    days = spec(rows=3).row_periods()
    assert [p.key_suffix for p in days] == ["2026-2-27", "2026-2-28", "2026-3-1"]
    weeks = spec(time_group="week", rows=3, now=datetime(2027, 1, 5)).row_periods()
    assert [p.key_suffix for p in weeks] == ["W2026-52", "W2026-53", "W2027-1"]
    months = spec(time_group="month", rows=3, now=datetime(2027, 1, 5)).row_periods()
    assert [p.key_suffix for p in months] == ["2026-11", "2026-12", "2027-1"]
    assert spec(rows=3).last_period == days[-1]


def test_an_aware_now_is_taken_in_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    made = spec(rows=1, now=datetime(2026, 3, 1, 8, tzinfo=tokyo))
    assert made.row_periods()[0].key_suffix == "2026-2-28"


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"time_group": "fortnight"}, "time_group", "'fortnight'"),
        ({"time_group": 7}, "time_group", "7"),
        ({"rows": 0}, "rows", "0"),
        ({"rows": -3}, "rows", "-3"),
        ({"rows": MAX_ROWS + 1}, "rows", str(MAX_ROWS + 1)),
        ({"rows": True}, "rows", "True"),
        ({"rows": "5"}, "rows", "'5'"),
        ({"rows": 2.0}, "rows", "2.0"),
        ({"cols": 0}, "cols", "0"),
        ({"cols": MAX_COLS + 1}, "cols", str(MAX_COLS + 1)),
        ({"cols": None}, "cols", "None"),
        ({"mode": "sometimes"}, "mode", "'sometimes'"),
        ({"mode": 1}, "mode", "1"),
        ({"now": "2026-03-01"}, "now", "'2026-03-01'"),
        ({"now": None}, "now", "None"),
    ],
)
def test_each_bad_field_is_named(overrides: dict[str, object], field: str, fragment: str) -> None:
    with pytest.raises(InvalidCohortSpec) as caught:
        spec(**overrides)
    assert caught.value.field == field
    assert fragment in str(caught.value)


@pytest.mark.parametrize("field", ["primary", "secondary"])
def test_a_lone_negation_is_refused_as_a_cohort_expression(field: str) -> None:
    expressions: dict[str, Expression] = {
        "primary": SIGNUP,
        "secondary": ACTIVE,
        field: Not(EventRef("banned")),
    }
    with pytest.raises(InvalidCohortSpec, match="negation") as caught:
        CohortSpec.create(expressions["primary"], expressions["secondary"], now=NOW)
    assert caught.value.field == field


@pytest.mark.parametrize("field", ["primary", "secondary"])
def test_an_expression_must_be_an_expression_object(field: str) -> None:
    expressions: dict[str, Any] = {"primary": SIGNUP, "secondary": ACTIVE, field: "signup"}
    with pytest.raises(InvalidCohortSpec, match="'signup'") as caught:
        CohortSpec.create(expressions["primary"], expressions["secondary"], now=NOW)
    assert caught.value.field == field


def test_the_number_of_cells_is_bounded() -> None:
    assert DEFAULT_MAX_COHORT_CELLS == 20_000
    assert spec(rows=100, cols=200).cols == 200  # exactly at the bound
    with pytest.raises(InvalidCohortSpec) as caught:
        spec(rows=100, cols=201)
    assert caught.value.field == "cols"
    assert "20100" in str(caught.value)
    assert "20000" in str(caught.value)
    with pytest.raises(InvalidCohortSpec) as caught:
        spec(rows=300, cols=100)
    assert caught.value.field == "rows"


def test_the_bound_on_cells_is_configurable() -> None:
    assert spec(rows=5, cols=5, max_cells=25).rows == 5
    with pytest.raises(InvalidCohortSpec, match="at most 24"):
        spec(rows=5, cols=5, max_cells=24)
    assert spec(rows=MAX_ROWS, cols=1, max_cells=10**6).rows == MAX_ROWS


def test_invalid_cohort_spec_is_a_value_error_of_the_package() -> None:
    assert issubclass(InvalidCohortSpec, BitmapistError)
    assert issubclass(InvalidCohortSpec, ValueError)


# -- Cohort: derived values on a hand-made table ---------------------------------------

# Three daily rows ending on NOW's day, four columns. Row 1 had no primary users, so it is
# all None; cells beyond NOW's day are None; column 3 has no value at all.
TABLE = Cohort(
    spec=spec(rows=3, cols=4, mode="recurring"),
    dates=(
        datetime(2026, 2, 27, tzinfo=UTC),
        datetime(2026, 2, 28, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    ),
    totals=(10, 0, 4),
    cells=(
        (5, 2, 1, None),
        (None, None, None, None),
        (3, None, None, None),
    ),
)


def test_percentages_are_of_the_row_total() -> None:
    assert TABLE.percentages == (
        (50.0, 20.0, 10.0, None),
        (None, None, None, None),
        (75.0, None, None, None),
    )


def test_column_totals_sum_the_values() -> None:
    assert TABLE.column_totals == (8, 2, 1, 0)


def test_averages_are_over_the_cells_that_have_a_value() -> None:
    assert TABLE.averages == (4.0, 2.0, 1.0, None)
    assert TABLE.average_percentages == (62.5, 20.0, 10.0, None)


def test_weighted_averages_divide_by_the_totals_of_rows_with_a_value() -> None:
    weighted = TABLE.weighted_averages
    assert weighted[0] == pytest.approx(100 * 8 / 14)
    assert weighted[1:] == (20.0, 10.0, None)


def test_as_lists_is_0_1s_cohort() -> None:
    assert TABLE.as_lists() == [[5, 2, 1, None], [None, None, None, None], [3, None, None, None]]


def test_a_zero_cell_is_a_value_not_a_gap() -> None:
    table = Cohort(
        spec=spec(rows=2, cols=2),
        dates=(datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        totals=(4, 2),
        cells=((0, 1), (2, None)),
    )
    assert table.averages == (1.0, 1.0)
    assert table.weighted_averages[0] == pytest.approx(100 * 2 / 6)
    assert table.weighted_averages[1] == 25.0
    assert table.percentages == ((0.0, 25.0), (100.0, None))


def test_a_text_expression_can_be_a_cohort_side() -> None:
    made = CohortSpec.create(
        parse_expression("signup & ~banned"), parse_expression("paid | trial"), now=NOW
    )
    assert made.primary.events() == {"signup", "banned"}
