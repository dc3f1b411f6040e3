"""``compare="previous"`` in the CSV rows and text tables of trends, stickiness and
funnels: the previous window's counts beside the answer's (a ``previous`` column after
each count column), and in tables the change too."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from flask_bitmapist.domain import PropertyAssignment
from flask_bitmapist.services.reports import CsvCell, format_change, insert_column
from tests.segment_answers_support import (
    NOW,
    REQUESTS,
    Marks,
    answers_over,
    marked,
    marks_strategy,
)

#: Each comparable request, the moment N periods before NOW, and the CSV columns (from 0)
#: that the comparison adds.
COMPARED: list[tuple[str, dict[str, Any], datetime, list[int]]] = [
    (
        "trend",
        {"expr": ["a", "a & ~b"], "periods": 10, "rolling": 3},
        NOW - timedelta(10),
        [1, 3, 5],
    ),
    ("stickiness", {"expr": "a | b", "periods": 14}, NOW - timedelta(days=14), [2]),
    ("funnel", {"step": ["a", "b"], "periods": 20}, NOW - timedelta(days=20), [3]),
]


def without(rows: list[list[Any]], columns: list[int]) -> list[list[Any]]:
    return [[cell for i, cell in enumerate(row) if i not in columns] for row in rows]


def column(rows: list[list[Any]], index: int) -> list[Any]:
    return [row[index] for row in rows]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marks=marks_strategy())
@pytest.mark.parametrize(("kind", "fields", "before", "added"), COMPARED)
def test_the_csv_adds_the_previous_windows_counts_beside_the_answers(
    kind: str, fields: dict[str, Any], before: datetime, added: list[int], marks: Marks
) -> None:
    answers = answers_over(marked(marks))
    got = answers.answer(kind, fields, compare="previous", warn=False)
    plain = answers.answer(kind, fields, warn=False)
    moved = answers.answer(kind, {**fields, "now": before}, warn=False)
    rows = [list(row) for row in got.kind.csv_rows(got.result, got.options)]
    plain_rows = [list(row) for row in plain.kind.csv_rows(plain.result, plain.options)]
    moved_rows = [list(row) for row in moved.kind.csv_rows(moved.result, moved.options)]

    assert without(rows, added) == plain_rows
    header, *body = rows
    if kind == "trend":
        assert [header[i] for i in added] == ["previous date", "a previous", "a & ~b previous"]
        assert column(body, 1) == column(moved_rows[1:], 0)  # the previous periods' dates
        assert column(body, 3) == column(moved_rows[1:], 1)
        assert column(body, 5) == column(moved_rows[1:], 2)
    else:
        assert header[added[0]] == "previous"
        # The column after each count: the previous window's counts (and its total).
        assert column(body, added[0]) == column(moved_rows[1:], added[0] - 1)
    assert got.csv().splitlines()[0] == ",".join(str(cell) for cell in header)


def test_a_breakdowns_csv_carries_the_previous_column_in_every_group() -> None:
    repository = marked([("a", 1, 2), ("a", 2, 8 * 24), ("b", 1, 1)])
    repository.set_properties([PropertyAssignment.create(1, "plan", "pro")])
    answers = answers_over(repository)
    fields = {"expr": "a", "periods": 7, "breakdown": "plan"}
    got = answers.breakdown("stickiness", fields, compare="previous", warn=False)
    header, *body = got.csv().splitlines()
    assert header == "plan,days,users,previous,percent"
    # pro (user 1, seen within the week) then everyone else (user 2, seen the week before).
    assert body[0] == "pro,1,1,0,100.00"
    assert [row.split(",")[:4] for row in body if row.split(",")[1] == "total"] == [
        ["pro", "total", "1", "0"],
        ["", "total", "0", "1"],
    ]


def test_tables_show_the_previous_count_and_the_change() -> None:
    # Within the last 7 days: users 1, 2, 3 viewed; the 7 days before: users 4 and 5.
    marks = [("a", uid, 24) for uid in (1, 2, 3)] + [("a", uid, 8 * 24) for uid in (4, 5)]
    answers = answers_over(marked(marks))
    stickiness = answers.answer("stickiness", {"expr": "a", "periods": 7}, compare="previous")
    lines = stickiness.table().splitlines()
    assert "previous: " in lines[1]
    assert lines[3].split() == ["days", "users", "previous", "change", "share"]
    assert lines[4].split() == ["1", "3", "2", "+1", "(+50.0%)", "100.0%"]
    assert lines[-1].split() == ["total", "3", "2", "+1", "(+50.0%)"]

    funnel = answers.answer("funnel", {"step": ["a", "a"], "periods": 7}, compare="previous")
    header = funnel.table().splitlines()[2]
    assert header.split()[:7] == ["step", "users", "who", "did", "users", "previous", "change"]

    trend = answers.answer("trend", {"expr": ["a"], "periods": 7}, compare="previous")
    table = trend.table().splitlines()
    assert "; previous: " in table[0]
    assert table[2].split() == ["a", "previous", "change"]
    # The window's days, oldest first: the last but one (yesterday) had 3 users, and the
    # same day a week earlier 2.
    assert table[-2].split()[-4:] == ["3", "2", "+1", "(+50.0%)"]

    plain = answers.answer("trend", {"expr": ["a"], "periods": 7}).table()
    assert "previous" not in plain and "change" not in plain


def test_a_change_is_signed_with_its_share_of_the_previous_count() -> None:
    assert format_change(1250, 1000) == "+250 (+25.0%)"
    assert format_change(3, 4) == "-1 (-25.0%)"
    assert format_change(5, 0) == "+5"
    assert format_change(7, 7) == "0"


def test_insert_column_puts_the_header_then_one_cell_per_row() -> None:
    table: list[list[CsvCell]] = [["k", "users"], [1, 5], [2, 0]]
    rows = insert_column(table, 2, "previous", [3, 1])
    assert rows == [["k", "users", "previous"], [1, 5, 3], [2, 0, 1]]
    with pytest.raises(ValueError, match="zip"):
        insert_column(table, 1, "previous", [])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marks=marks_strategy())
@pytest.mark.parametrize("compare", [None, "previous"])
@pytest.mark.parametrize(("kind", "fields"), [(k, f) for k, f, _ in REQUESTS])
def test_every_csv_cell_that_counts_users_drills_down_to_exactly_them(
    kind: str, fields: dict[str, Any], compare: str | None, marks: Marks
) -> None:
    answers = answers_over(marked(marks))
    if compare is not None and not answers.kind(kind).comparable:
        return  # lifecycles and cohorts have no comparison
    answer = answers.answer(kind, fields, compare=compare, warn=False)
    _, *body = answer.kind.csv_rows(answer.result, answer.options)
    linked = 0
    for r, line in enumerate(body):
        for c, cell in enumerate(line):
            drill = answer.kind.csv_cell_users(answer.result, r, c)
            if drill is None:
                continue
            linked += 1
            assert str(cell).isdigit()  # a count of users, never a date or a percentage
            assert len(answers.drill(kind, {**fields, **drill}).users) == int(str(cell))
    # Every count is linked; a cohort row without users has no cells to link.
    assert linked > 0 if kind != "cohort" else (linked > 0) == any(answer.result.totals)
