"""Enums named by value: CohortMode and LifecycleStatus parse the same lenient way."""

from __future__ import annotations

import pytest

from flask_bitmapist.domain.choices import parse_choice
from flask_bitmapist.domain.cohort import CohortMode
from flask_bitmapist.domain.errors import InvalidAnswerSpec, InvalidCohortSpec
from flask_bitmapist.domain.lifecycle import LifecycleStatus


@pytest.mark.parametrize(
    ("text", "member"),
    [
        (" First-Return ", CohortMode.FIRST_RETURN),
        ("CUMULATIVE", CohortMode.CUMULATIVE),
        (CohortMode.RECURRING, CohortMode.RECURRING),
        (" Dormant", LifecycleStatus.DORMANT),
        (LifecycleStatus.NEW, LifecycleStatus.NEW),
    ],
)
def test_a_member_is_found_by_its_value_in_any_case(
    text: object, member: CohortMode | LifecycleStatus
) -> None:
    kind = type(member)
    assert parse_choice(kind, text, field="x", error=InvalidAnswerSpec) is member
    assert kind.parse(text) is member  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["sometimes", "", 3, None, LifecycleStatus.NEW])
def test_anything_else_is_refused_naming_the_field_and_the_choices(value: object) -> None:
    with pytest.raises(InvalidCohortSpec) as caught:
        parse_choice(CohortMode, value, field="mode", error=InvalidCohortSpec)
    assert caught.value.field == "mode"
    assert str(caught.value) == (
        f"unknown mode {value!r}; expected one of first_return, recurring, cumulative"
    )


def test_the_enums_raise_their_own_errors() -> None:
    with pytest.raises(InvalidCohortSpec, match="unknown mode 3; expected one of") as mode:
        CohortMode.parse(3)  # type: ignore[arg-type]
    assert mode.value.field == "mode"
    with pytest.raises(InvalidAnswerSpec, match="'re-turning'; expected one of new, ") as status:
        LifecycleStatus.parse("re-turning")
    assert status.value.field == "status"
