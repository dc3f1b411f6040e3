"""Reading the cohort form (query string) and 0.1's JSON body into a CohortSpec."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qsl

import pytest
from werkzeug.datastructures import MultiDict

from flask_bitmapist.domain import And, CohortMode, EventRef, Or, TimeGroup
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.flask.dashboard.forms import (
    CohortForm,
    Page,
    parse_cell,
    parse_legacy_body,
)

NOW = datetime(2026, 11, 27, 15, tzinfo=timezone.utc)


def form(*pairs: tuple[str, str]) -> CohortForm:
    return CohortForm.from_args(MultiDict(list(pairs)))


def field_of(excinfo: pytest.ExceptionInfo[InvalidRequest]) -> str:
    return excinfo.value.field


BASE = (("primary", "signed_up"), ("secondary", "paid"))


def test_a_full_form_becomes_a_spec() -> None:
    spec = form(
        *BASE,
        ("additional", "returned"),
        ("op", "and"),
        ("additional", "refunded"),
        ("op", "or"),
        ("time_group", "weeks"),
        ("rows", "6"),
        ("cols", "4"),
        ("mode", "recurring"),
    ).to_spec(now=NOW, max_cells=100)

    assert spec.primary == EventRef("signed_up")
    # 0.1's chain: OR binds to the event just before it.
    assert spec.secondary == And(
        (EventRef("paid"), Or((EventRef("returned"), EventRef("refunded"))))
    )
    assert (spec.time_group, spec.rows, spec.cols) == (TimeGroup.WEEK, 6, 4)
    assert spec.mode is CohortMode.RECURRING
    assert spec.now == NOW


def test_defaults_are_ten_days_by_ten_first_return_in_counts() -> None:
    f = form(*BASE)
    spec = f.to_spec(now=NOW, max_cells=100)

    assert (spec.time_group, spec.rows, spec.cols) == (TimeGroup.DAY, 10, 10)
    assert spec.mode is CohortMode.FIRST_RETURN
    assert f.percent is False


def test_blank_condition_rows_are_ignored() -> None:
    f = form(*BASE, ("additional", ""), ("op", "and"))

    assert f.additional == ()
    assert f.to_spec(now=NOW, max_cells=100).secondary == EventRef("paid")


def test_expressions_replace_the_chosen_events() -> None:
    spec = form(
        ("primary", "ignored"),
        ("primary_expression", "signed_up & ~spam"),
        ("secondary_expression", "paid | trial"),
    ).to_spec(now=NOW, max_cells=100)

    assert spec.primary.events() == {"signed_up", "spam"}
    assert spec.secondary == Or((EventRef("paid"), EventRef("trial")))


def test_now_pins_the_cohort_to_a_moment() -> None:
    spec = form(*BASE, ("now", "2025-01-02T03:00")).to_spec(now=NOW, max_cells=100)

    assert spec.now == datetime(2025, 1, 2, 3, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["2025-01-02T03:00Z", "2025-01-02T04:00+01:00", "1735786800"])
def test_now_reads_the_timestamps_the_cli_reads(text: str) -> None:
    # The same parser as `flask bitmapist cohort --now` and `import`, on every Python.
    spec = form(*BASE, ("now", text)).to_spec(now=NOW, max_cells=100)

    assert spec.now == datetime(2025, 1, 2, 3, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("pairs", "field", "words"),
    [
        ((("secondary", "paid"),), "primary", "primary is required"),
        ((("primary", "signed_up"),), "secondary", "secondary is required"),
        ((*BASE, ("time_group", "fortnight")), "time_group", "unknown time group 'fortnight'"),
        ((*BASE, ("rows", "abc")), "rows", "rows must be a whole number, got 'abc'"),
        ((*BASE, ("cols", "2.5")), "cols", "cols must be a whole number"),
        ((*BASE, ("rows", "-3")), "rows", "whole number"),
        ((*BASE, ("rows", "9" * 5000)), "rows", "whole number"),
        ((*BASE, ("rows", "0")), "rows", "between 1 and 1000"),
        ((*BASE, ("cols", "1000000")), "cols", "between 1 and 1000"),
        ((*BASE, ("rows", "200"), ("cols", "200")), "rows", "at most 100 are allowed"),
        ((*BASE, ("mode", "sometimes")), "mode", "unknown mode 'sometimes'"),
        ((*BASE, ("as_percent", "maybe")), "as_percent", "true or false"),
        ((*BASE, ("now", "yesterday")), "now", "ISO 8601"),
        ((*BASE, ("additional", "x"), ("op", "xor")), "op", "'and' or 'or'"),
        ((*BASE, ("additional", "x")), "op", "'and' or 'or'"),
        ((*BASE, ("additional", "bitop_x"), ("op", "and")), "additional[0]", "bitop_"),
        ((("primary", "a\tb"), ("secondary", "paid")), "primary", "whitespace"),
        ((*BASE, ("secondary_expression", "paid & (")), "secondary_expression", "position"),
        ((*BASE, ("secondary_expression", "~paid")), "secondary_expression", "lone negation"),
        ((*BASE, ("primary_expression", "a |")), "primary_expression", "position"),
    ],
)
def test_every_bad_field_is_named(
    pairs: tuple[tuple[str, str], ...], field: str, words: str
) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        form(*pairs).to_spec(now=NOW, max_cells=100)

    assert field_of(excinfo) == field
    assert words in str(excinfo.value)


def test_query_round_trips_the_form_for_bookmarks() -> None:
    f = form(
        *BASE,
        ("additional", "refunded"),
        ("op", "or"),
        ("time_group", "hour"),
        ("as_percent", "1"),
        ("now", "2026-11-27T10:00"),
    )

    again = CohortForm.from_args(MultiDict(parse_qsl(f.query())))

    assert again == f
    assert dict(parse_qsl(f.query(as_percent="0")))["as_percent"] == "0"


def test_a_request_without_cohort_fields_is_an_empty_form() -> None:
    assert not CohortForm.is_submitted(MultiDict([("q", "x")]))
    assert CohortForm.is_submitted(MultiDict([("primary", "")]))


# -- 0.1's JSON body ---------------------------------------------------------------------


def test_legacy_body_reads_0_1_fields_and_defaults() -> None:
    spec, as_percent = parse_legacy_body(
        {"primary_event": "signed_up", "secondary_event": "paid"}, now=NOW, max_cells=1000
    )

    assert (spec.time_group, spec.rows, spec.cols) == (TimeGroup.DAY, 20, 10)
    assert spec.mode is CohortMode.FIRST_RETURN
    assert as_percent is False


def test_legacy_body_with_replacement_means_recurring_and_numbers_may_be_strings() -> None:
    spec, as_percent = parse_legacy_body(
        {
            "primary_event": "signed_up",
            "secondary_event": "paid",
            "additional_events": [{"name": "refunded", "op": "or"}],
            "time_group": "months",
            "num_rows": "4",
            "num_cols": 3,
            "as_percent": True,
            "with_replacement": True,
        },
        now=NOW,
        max_cells=1000,
    )

    assert spec.secondary == Or((EventRef("paid"), EventRef("refunded")))
    assert (spec.time_group, spec.rows, spec.cols) == (TimeGroup.MONTH, 4, 3)
    assert spec.mode is CohortMode.RECURRING
    assert as_percent is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([1, 2], "body"),
        ({"secondary_event": "paid"}, "primary_event"),
        ({"primary_event": "a"}, "secondary_event"),
        ({"primary_event": 5, "secondary_event": "b"}, "primary_event"),
        ({"primary_event": "a", "secondary_event": "b", "num_rows": "x"}, "num_rows"),
        ({"primary_event": "a", "secondary_event": "b", "num_rows": True}, "num_rows"),
        ({"primary_event": "a", "secondary_event": "b", "num_cols": 5000}, "num_cols"),
        ({"primary_event": "a", "secondary_event": "b", "num_cols": 1.5}, "num_cols"),
        ({"primary_event": "a", "secondary_event": "b", "time_group": "eons"}, "time_group"),
        ({"primary_event": "a", "secondary_event": "b", "time_group": 7}, "time_group"),
        (
            {"primary_event": "a", "secondary_event": "b", "additional_events": "c"},
            "additional_events",
        ),
        (
            {"primary_event": "a", "secondary_event": "b", "additional_events": [{"name": "c"}, 3]},
            "additional_events[1]",
        ),
        (
            {
                "primary_event": "a",
                "secondary_event": "b",
                "additional_events": [{"name": "c", "op": "nand"}],
            },
            "additional_events[0]",
        ),
        ({"primary_event": "a", "secondary_event": "b", "as_percent": "sure"}, "as_percent"),
        ({"primary_event": "a", "secondary_event": "b", "with_replacement": 2}, "with_replacement"),
        ({"primary_event": "a", "secondary_event": "b", "mode": "never"}, "mode"),
    ],
)
def test_legacy_body_errors_name_0_1_fields(body: object, field: str) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        parse_legacy_body(body, now=NOW, max_cells=1000)

    assert field_of(excinfo) == field


def test_legacy_cell_limit_names_num_rows_or_num_cols() -> None:
    body = {"primary_event": "a", "secondary_event": "b", "num_rows": 40, "num_cols": 30}

    with pytest.raises(InvalidRequest, match="1200 cells; at most 1000") as excinfo:
        parse_legacy_body(body, now=NOW, max_cells=1000)

    assert field_of(excinfo) == "num_rows"


# -- drill-down paging -------------------------------------------------------------------


def test_page_defaults_to_the_first_hundred() -> None:
    page = Page.from_args({})
    assert (page.number, page.size, page.offset) == (1, 100, 0)
    assert Page.from_args({"page": "3", "per_page": "20"}).offset == 40


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "1001"}, "per_page"),
    ],
)
def test_bad_paging_is_named(args: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        Page.from_args(args)
    assert field_of(excinfo) == field


def test_a_cell_needs_a_row_and_a_column() -> None:
    assert parse_cell({"row": "2", "col": "0"}) == (2, 0)
    with pytest.raises(InvalidRequest) as excinfo:
        parse_cell({"row": "2"})
    assert field_of(excinfo) == "col"
