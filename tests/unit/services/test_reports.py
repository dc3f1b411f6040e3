"""Cohorts as JSON-able dicts, CSV text and labels (shared by the dashboard and the CLI)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from flask_bitmapist.domain import Cohort, CohortMode, CohortSpec, EventRef, Period, TimeGroup
from flask_bitmapist.services.reports import (
    cohort_to_csv,
    cohort_to_dict,
    cohort_to_legacy_dict,
    column_label,
    period_iso,
    period_label,
    period_stamp,
)

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def three_day_cohort(mode: CohortMode = CohortMode.FIRST_RETURN) -> Cohort:
    """Rows 25, 26, 27 Nov; the middle row has no users; the future is None."""
    spec = CohortSpec.create(
        EventRef("signed_up"),
        EventRef("paid"),
        now=NOW,
        time_group="day",
        rows=3,
        cols=3,
        mode=mode,
    )
    return Cohort(
        spec,
        dates=(utc(2026, 11, 25), utc(2026, 11, 26), utc(2026, 11, 27)),
        totals=(8, 0, 4),
        cells=((2, 4, 1), (None, None, None), (3, None, None)),
    )


def test_dict_has_iso_dates_cells_totals_and_every_derived_row() -> None:
    data = cohort_to_dict(three_day_cohort())

    assert data["dates"] == [f"2026-11-{d}T00:00:00+00:00" for d in (25, 26, 27)]
    assert data["labels"] == ["25 Nov 2026", "26 Nov 2026", "27 Nov 2026"]
    assert data["columns"] == ["Day 0", "Day 1", "Day 2"]
    assert data["totals"] == [8, 0, 4]
    assert data["total"] == 12
    assert data["cells"] == [[2, 4, 1], [None, None, None], [3, None, None]]
    assert data["percentages"] == [[25.0, 50.0, 12.5], [None, None, None], [75.0, None, None]]
    assert data["column_totals"] == [5, 4, 1]
    assert data["averages"] == [2.5, 4.0, 1.0]
    assert data["average_percentages"] == [50.0, 50.0, 12.5]
    # (2 + 3) / (8 + 4), then 4 / 8 and 1 / 8: rows without a value carry no weight.
    assert data["weighted_averages"] == [pytest.approx(100 * 5 / 12), 50.0, 12.5]


def test_dict_echoes_the_spec_and_is_plain_json() -> None:
    data = cohort_to_dict(three_day_cohort(CohortMode.CUMULATIVE))

    assert data["spec"] == {
        "primary": "signed_up",
        "secondary": "paid",
        "events": ["paid", "signed_up"],
        "time_group": "day",
        "rows": 3,
        "cols": 3,
        "mode": "cumulative",
        "first_time": False,
        "now": "2026-11-27T15:30:00+00:00",
        "timezone": "UTC",
    }
    assert json.loads(json.dumps(data)) == data


def test_csv_lists_rows_then_average_weighted_average_and_total() -> None:
    text = cohort_to_csv(three_day_cohort())

    assert list(csv.reader(io.StringIO(text))) == [
        ["date", "users", "Day 0", "Day 1", "Day 2"],
        ["2026-11-25T00:00:00+00:00", "8", "2", "4", "1"],
        ["2026-11-26T00:00:00+00:00", "0", "", "", ""],
        ["2026-11-27T00:00:00+00:00", "4", "3", "", ""],
        ["average", "4.00", "2.50", "4.00", "1.00"],
        ["weighted average %", "", "41.67", "50.00", "12.50"],
        ["total", "12", "5", "4", "1"],
    ]


def test_csv_in_percent_shows_each_cell_as_a_share_of_its_row() -> None:
    rows = list(csv.reader(io.StringIO(cohort_to_csv(three_day_cohort(), as_percent=True))))

    assert rows[1] == ["2026-11-25T00:00:00+00:00", "8", "25.00", "50.00", "12.50"]
    assert rows[3] == ["2026-11-27T00:00:00+00:00", "4", "75.00", "", ""]
    assert rows[4] == ["average %", "4.00", "50.00", "50.00", "12.50"]
    assert rows[6] == ["total", "12", "5", "4", "1"]


def test_legacy_dict_matches_0_1_keys_with_fractions_when_as_percent() -> None:
    data = cohort_to_legacy_dict(three_day_cohort(), as_percent=True, time_group="days")

    assert data["cohort"] == [[0.25, 0.5, 0.125], [None, None, None], [0.75, None, None]]
    assert data["averages"] == [0.5, 0.5, 0.125]
    assert data["dates"] == ["25 Nov 2026", "26 Nov 2026", "27 Nov 2026"]
    assert data["row_totals"] == [8, 0, 4]
    assert data["col_totals"] == [5, 4, 1]
    assert data["total"] == 12
    assert data["time_group"] == "days"
    assert (data["as_percent"], data["num_rows"], data["num_cols"]) == (True, 3, 3)
    assert data["with_replacement"] is False


def test_legacy_dict_in_counts_keeps_counts_and_zero_for_empty_columns() -> None:
    spec = CohortSpec.create(EventRef("a"), EventRef("b"), now=NOW, rows=1, cols=2)
    cohort = Cohort(spec, (utc(2026, 11, 27),), (0,), ((None, None),))

    data = cohort_to_legacy_dict(cohort, as_percent=False)

    assert data["cohort"] == [[None, None]]
    assert data["averages"] == [0.0, 0.0]
    assert data["time_group"] == "days"


@pytest.mark.parametrize(
    ("group", "start", "iso", "label"),
    [
        (TimeGroup.HOUR, utc(2026, 11, 27, 13), "2026-11-27T13:00:00+00:00", "27 Nov 2026 13:00"),
        (TimeGroup.DAY, utc(2026, 11, 27), "2026-11-27T00:00:00+00:00", "27 Nov 2026"),
        (TimeGroup.WEEK, utc(2026, 12, 28), "2026-12-28T00:00:00+00:00", "W53 · 28 Dec 2026"),
        (TimeGroup.MONTH, utc(2026, 11, 1), "2026-11-01T00:00:00+00:00", "Nov 2026"),
        (TimeGroup.YEAR, utc(2026, 1, 1), "2026-01-01T00:00:00+00:00", "2026"),
        (
            TimeGroup.DAY,
            datetime(2026, 11, 27, tzinfo=ZoneInfo("Asia/Kathmandu")),
            "2026-11-27T00:00:00+05:45",
            "27 Nov 2026",
        ),
    ],
)
def test_periods_have_an_iso_form_and_a_label(
    group: TimeGroup, start: datetime, iso: str, label: str
) -> None:
    assert period_iso(group, start) == iso
    assert period_label(group, start) == label


@pytest.mark.parametrize(
    ("group", "moment", "stamp"),
    [
        (TimeGroup.HOUR, datetime(2026, 11, 27, 13, 5), "2026-11-27T1300"),
        (TimeGroup.DAY, datetime(2026, 11, 27, 13, 5), "2026-11-27"),
        (TimeGroup.WEEK, datetime(2026, 11, 27, 13, 5), "2026-11-23"),
    ],
)
def test_a_period_stamp_names_the_local_start_for_file_names(
    group: TimeGroup, moment: datetime, stamp: str
) -> None:
    zone = ZoneInfo("America/Los_Angeles")
    assert period_stamp(Period.containing(group, moment, zone)) == stamp


def test_columns_are_named_by_group_and_offset() -> None:
    assert [column_label(TimeGroup.WEEK, j) for j in range(3)] == ["Week 0", "Week 1", "Week 2"]
