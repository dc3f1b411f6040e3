"""DESIGN section 12 in the domain: bounded expressions, moments inside the calendar,
names that show what they are, derived cohort tables computed once."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    DEFAULT_MAX_EXPRESSION_TERMS,
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    MAX_YEAR,
    MIN_YEAR,
    Cohort,
    CohortSpec,
    EventRef,
    InvalidCohortSpec,
    InvalidEventName,
    InvalidExpression,
    InvalidMoment,
    Mark,
    MomentOutOfRange,
    Not,
    Period,
    TimeGroup,
    as_utc,
    parse_chain,
    parse_expression,
    validate_event_name,
    validate_stored_event_name,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 27, 13, tzinfo=UTC)

# -- moments (issue 11, item 4) ----------------------------------------------------------

FAR_MOMENTS = [
    datetime(1, 1, 1),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
    datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    datetime.fromtimestamp(-62135596800, tz=UTC),
    datetime(999, 12, 31, 23, 59),
    datetime(9001, 1, 1),
]


@pytest.mark.parametrize("moment", FAR_MOMENTS, ids=str)
def test_a_moment_far_outside_the_calendar_is_refused_by_name(moment: datetime) -> None:
    with pytest.raises(MomentOutOfRange, match=f"only years {MIN_YEAR} to {MAX_YEAR}"):
        as_utc(moment)


def test_an_out_of_range_moment_is_both_invalid_moment_and_value_error() -> None:
    assert issubclass(MomentOutOfRange, InvalidMoment)
    assert issubclass(MomentOutOfRange, ValueError)


@pytest.mark.parametrize("moment", FAR_MOMENTS, ids=str)
def test_marks_and_cohorts_refuse_far_moments_without_overflow(moment: datetime) -> None:
    with pytest.raises(MomentOutOfRange):
        Mark.create("e", 1, moment)
    with pytest.raises(InvalidCohortSpec) as caught:
        CohortSpec.create(EventRef("a"), EventRef("b"), now=moment)
    assert caught.value.field == "now"


@pytest.mark.parametrize("group", list(TimeGroup))
def test_the_widest_cohort_at_the_end_of_the_range_stays_in_the_calendar(
    group: TimeGroup,
) -> None:
    # 1000 rows back from the last moment allowed, and one period past it.
    now = datetime(MAX_YEAR, 12, 31, 23, tzinfo=UTC)
    spec = CohortSpec.create(
        EventRef("a"), EventRef("b"), now=now, time_group=group, rows=1000, cols=1
    )
    periods = spec.row_periods()
    assert len(periods) == 1000
    assert periods[-1].end > periods[0].start
    if group.is_stored:
        assert all(p.key_suffix for p in periods)


@pytest.mark.parametrize("group", list(TimeGroup))
def test_rows_reaching_back_past_the_start_of_the_range_are_refused_naming_rows(
    group: TimeGroup,
) -> None:
    now = datetime(MIN_YEAR, 1, 8, tzinfo=UTC)
    with pytest.raises(InvalidCohortSpec, match=f"before year {MIN_YEAR}") as caught:
        CohortSpec.create(
            EventRef("a"), EventRef("b"), now=now, time_group=group, rows=1000, cols=1
        )
    assert caught.value.field == "rows"
    assert CohortSpec.create(
        EventRef("a"), EventRef("b"), now=now, time_group=group, rows=1, cols=1
    )


def test_a_week_that_begins_before_the_range_is_refused_naming_now() -> None:
    # ISO week 1 of year 1000 begins on Monday 30 December 999.
    with pytest.raises(InvalidCohortSpec, match="W1000-1") as caught:
        CohortSpec.create(
            EventRef("a"), EventRef("b"), now=datetime(MIN_YEAR, 1, 2), time_group="weeks", rows=1
        )
    assert caught.value.field == "now"


# -- expressions (items 4 and 5) ---------------------------------------------------------


def test_parentheses_nested_past_the_limit_are_an_error_naming_it() -> None:
    text = "(" * 250 + "a" + ")" * 250
    with pytest.raises(InvalidExpression, match=f"at most {MAX_EXPRESSION_DEPTH} levels"):
        parse_expression(text)


def test_nesting_up_to_the_limit_parses() -> None:
    depth = MAX_EXPRESSION_DEPTH
    assert str(parse_expression("(" * depth + "a & b" + ")" * depth)) == "a & b"


def test_a_long_run_of_negations_needs_no_recursion() -> None:
    run = 10_001  # odd: one negation is left
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        assert parse_expression("b & " + "~" * run + "a") == parse_expression("b & ~a")
        assert parse_expression("b & " + "~" * (run + 1) + "a") == parse_expression("b & a")
    finally:
        sys.setrecursionlimit(limit)


def test_100k_negations_are_refused_by_length_not_by_recursion() -> None:
    with pytest.raises(InvalidExpression, match=f"at most {MAX_EXPRESSION_LENGTH}"):
        parse_expression("~" * 100_000 + "a")


def test_more_terms_than_allowed_are_refused_naming_the_setting() -> None:
    text = " | ".join(f"e{i}" for i in range(DEFAULT_MAX_EXPRESSION_TERMS + 1))
    with pytest.raises(InvalidExpression, match="BITMAPIST_MAX_EXPRESSION_TERMS"):
        parse_expression(text)
    assert len(parse_expression(text, max_terms=1000).events()) == DEFAULT_MAX_EXPRESSION_TERMS + 1


def test_a_chain_of_10000_events_is_refused_before_any_is_read() -> None:
    chain = [{"name": f"e{i}", "op": "and"} for i in range(10_000)]
    with pytest.raises(InvalidExpression, match="at most 100 terms"):
        parse_chain("s", chain)
    limit = DEFAULT_MAX_EXPRESSION_TERMS
    assert len(parse_chain("s", chain[: limit - 1]).events()) == limit


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=60))
def test_nesting_and_negation_never_escape_as_recursion_error(depth: int, nots: int) -> None:
    text = "(" * depth + "b & " + "~" * nots + "a" + ")" * depth
    try:
        expr = parse_expression(text)
    except InvalidExpression:
        assert depth > MAX_EXPRESSION_DEPTH
    else:
        assert depth <= MAX_EXPRESSION_DEPTH
        negated = nots % 2 == 1
        assert expr == parse_expression("b & ~a" if negated else "b & a")
        assert isinstance(expr.terms[1], Not) is negated  # type: ignore[union-attr]


# -- names (item 10) ---------------------------------------------------------------------

INVISIBLE = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
]
BIDI = [c for c in INVISIBLE if c not in "\u200b\u200c\u200d\u2060\ufeff"]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_names_written_refuse_bidirectional_and_zero_width_characters(char: str) -> None:
    with pytest.raises(InvalidEventName, match="position 4; bidirectional controls"):
        validate_event_name(f"user{char}paid")
    with pytest.raises(InvalidEventName):
        Mark.create(f"user{char}paid", 1, NOW)


@pytest.mark.parametrize("char", ["\ud800", "\udfff", "\udc80"], ids=ascii)
def test_names_refuse_lone_surrogates_when_written_and_read(char: str) -> None:
    with pytest.raises(InvalidEventName, match="lone surrogates"):
        validate_event_name(f"a{char}")
    with pytest.raises(InvalidEventName, match="lone surrogates"):
        validate_stored_event_name(f"a{char}")


@pytest.mark.parametrize("char", BIDI, ids=lambda c: f"U+{ord(c):04X}")
def test_names_read_refuse_bidirectional_controls_which_cannot_be_shown_safely(
    char: str,
) -> None:
    with pytest.raises(InvalidEventName, match="bidirectional controls are not allowed"):
        validate_stored_event_name(f"song{char}played")


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"], ids=ascii)
def test_names_read_keep_zero_width_characters_and_spaces_as_bitmapist_wrote_them(
    char: str,
) -> None:
    assert validate_stored_event_name(f"song {char}played") == f"song {char}played"


def test_ordinary_unicode_names_stay_valid() -> None:
    for name in ("café:ordered", "注文", "user:paid", "emoji:🎉", "עברית", "عربي"):
        assert validate_event_name(name) == name


# -- derived cohort tables (item 3) ------------------------------------------------------


def test_every_derived_table_is_computed_once_per_cohort() -> None:
    spec = CohortSpec.create(EventRef("a"), EventRef("b"), now=NOW, rows=3, cols=3)
    cells = ((4, 2, 1), (5, 0, None), (None, None, None))
    cohort = Cohort(spec, tuple(p.start for p in spec.row_periods()), (8, 10, 0), cells)
    for name in (
        "percentages",
        "column_totals",
        "averages",
        "average_percentages",
        "weighted_averages",
    ):
        assert getattr(cohort, name) is getattr(cohort, name), name
    assert cohort.percentages == ((50.0, 25.0, 12.5), (50.0, 0.0, None), (None, None, None))
    assert cohort.column_totals == (9, 2, 1)
    assert cohort.weighted_averages == (9 / 18 * 100, 2 / 18 * 100, 1 / 8 * 100)
    assert cohort == Cohort(spec, cohort.dates, cohort.totals, cells)


def test_period_shift_stays_exact_for_the_range_bounds() -> None:
    first = Period.containing(TimeGroup.YEAR, datetime(MIN_YEAR, 6, 1))
    assert first.shift(-999).start.year == 1
