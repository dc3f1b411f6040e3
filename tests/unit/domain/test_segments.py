"""Segment expressions and the names of properties and saved cohorts."""

from __future__ import annotations

import re

import pytest

from flask_bitmapist.domain import (
    Bitmap,
    InvalidExpression,
    InvalidSegmentName,
    PropertyAssignment,
    PropertyValue,
    SavedCohort,
    Segment,
    UserSetId,
    validate_cohort_name,
    validate_property_name,
    validate_property_value,
)


def test_terms_are_property_values_or_saved_cohorts() -> None:
    segment = Segment.parse('plan=pro & ~beta_testers | (channel=a=b & "and")')
    assert segment.terms() == {
        PropertyValue("plan", "pro"),
        SavedCohort("beta_testers"),
        PropertyValue("channel", "a=b"),  # split at the first '='
        SavedCohort("and"),
    }


def test_a_segment_evaluates_with_the_precedence_of_events() -> None:
    sets: dict[UserSetId, Bitmap] = {
        PropertyValue("plan", "pro"): Bitmap.from_ids([1, 2, 3]),
        PropertyValue("plan", "free"): Bitmap.from_ids([4]),
        SavedCohort("beta"): Bitmap.from_ids([2, 4]),
    }
    assert list(Segment.parse("plan=pro & ~beta | plan=free").evaluate(sets)) == [1, 3, 4]
    assert list(Segment.parse("plan=pro & ~(beta | plan=free)").evaluate(sets)) == [1, 3]


def test_a_segment_reads_back_from_its_text() -> None:
    segment = Segment.parse("plan=pro and not beta")
    assert str(segment) == "plan=pro & ~beta"
    assert Segment.parse(str(segment)) == segment


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("~beta", "lone negation", 0),
        ("plan=pro |", "expected a term or '('", 10),
        ("beta & plan=", "names no value after '='", 7),
        ("=pro", "names no property before '='", 0),
        ("beta & pl{an}=pro", "property name 'pl{an}' contains '{'", 7),
        ("a & b & c", "at most 2 terms", 8),
    ],
)
def test_a_malformed_segment_names_the_position(text: str, message: str, position: int) -> None:
    with pytest.raises(InvalidExpression, match=re.escape(message)) as info:
        Segment.parse(text, max_terms=2)
    assert info.value.position == position
    assert info.value.text == text


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (validate_property_name, "my plan", "property name 'my plan' contains ' '"),
        (validate_property_name, "a=b", "'=' and '{' and '}' are not allowed"),
        (validate_property_name, "", "property name must not be empty"),
        (validate_property_value, "x" * 201, "property value 'xxx"),
        (validate_property_value, 3, "property value must be a str, got 3"),
        (validate_cohort_name, "bitop_x", "must not start with 'bitop_'"),
        (validate_cohort_name, "a=b", "saved cohort name 'a=b' contains '='"),
    ],
)
def test_names_follow_the_rules_of_event_names(check: object, value: object, message: str) -> None:
    with pytest.raises(InvalidSegmentName, match=re.escape(message)):
        check(value)  # type: ignore[operator]


def test_values_may_hold_what_names_may_not() -> None:
    assert validate_property_value("a=b{c}") == "a=b{c}"
    assert validate_cohort_name("{team}") == "{team}"


def test_an_assignment_checks_its_id_name_and_value() -> None:
    assert PropertyAssignment.create(7, "plan", None) == PropertyAssignment(7, "plan", None)
    with pytest.raises(ValueError, match="out of range"):
        PropertyAssignment.create(2**30, "plan", "pro", max_user_id=1000)
    with pytest.raises(InvalidSegmentName):
        PropertyAssignment.create(1, "plan", "")
