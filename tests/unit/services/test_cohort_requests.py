"""0.1's with_replacement as a mode, and spec errors in each front end's own words."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import CohortMode, EventRef, InvalidCohortSpec
from flask_bitmapist.services.cohort_requests import (
    create_cohort_spec,
    legacy_mode,
    rename_field,
    with_replacement,
)

NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("mode", "replacement", "expected"),
    [
        (None, False, CohortMode.FIRST_RETURN),
        (None, True, CohortMode.RECURRING),
        ("cumulative", True, "cumulative"),
        (CohortMode.FIRST_RETURN, True, CohortMode.FIRST_RETURN),
    ],
)
def test_a_mode_wins_over_with_replacement(
    mode: str | CohortMode | None, replacement: bool, expected: object
) -> None:
    assert legacy_mode(mode, with_replacement=replacement) == expected


@pytest.mark.parametrize("mode", list(CohortMode))
def test_with_replacement_reads_back_the_mode_it_chose(mode: CohortMode) -> None:
    flag = with_replacement(mode)
    assert flag is (mode is CohortMode.RECURRING)
    if mode is not CohortMode.CUMULATIVE:
        assert legacy_mode(None, with_replacement=flag) is mode


def test_a_renamed_field_leads_the_message() -> None:
    renamed = rename_field(
        InvalidCohortSpec("rows must be between 1 and 365, got 0", field="rows"),
        {"rows": "num_rows"},
    )
    assert renamed.field == "num_rows"
    assert str(renamed) == "num_rows must be between 1 and 365, got 0"


def test_a_message_not_led_by_its_field_gets_the_name_in_front() -> None:
    renamed = rename_field(InvalidCohortSpec("a cohort of 9 cells", field="cols"), {})
    assert (renamed.field, str(renamed)) == ("cols", "cols: a cohort of 9 cells")


def test_create_cohort_spec_names_fields_as_the_front_end_does() -> None:
    with pytest.raises(InvalidCohortSpec) as caught:
        create_cohort_spec(
            EventRef("a"),
            EventRef("b"),
            now=NOW,
            time_group="days",
            rows=10,
            cols=10,
            mode="first_return",
            max_cells=50,
            field_names={"rows": "--rows", "cols": "--cols"},
        )
    assert caught.value.field == "--rows"
    assert str(caught.value).startswith("--rows: a cohort of 10 rows x 10 columns")
    spec = create_cohort_spec(
        EventRef("a"),
        EventRef("b"),
        now=NOW,
        time_group="weeks",
        rows=2,
        cols=3,
        mode=legacy_mode(None, with_replacement=True),
        max_cells=50,
        field_names={},
    )
    assert (spec.rows, spec.cols, spec.mode) == (2, 3, CohortMode.RECURRING)
