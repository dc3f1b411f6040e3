"""get_stickiness and get_funnel: the Python API of stickiness and funnels, in an app context."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta

import pytest

import flask_bitmapist
from flask_bitmapist import (
    BitmapistState,
    InvalidAnswerSpec,
    InvalidMoment,
    get_cohort,
    get_funnel,
    get_stickiness,
    mark_event,
)
from flask_bitmapist.domain import And, EventRef, Not
from tests.unit.flask.support import NOW


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


@pytest.fixture
def marked(state: BitmapistState) -> BitmapistState:
    # User 1 pays on three days, user 2 on one; user 3 views after paying.
    for n in (1, 2, 5):
        mark_event("paid", 1, now=days_ago(n))
    mark_event("paid", 2, now=days_ago(3))
    mark_event("viewed", 1, now=days_ago(6))
    mark_event("viewed", 2, now=days_ago(3))
    mark_event("paid", 3, now=days_ago(4))
    mark_event("viewed", 3, now=days_ago(2))
    return state


def test_get_stickiness_counts_users_by_periods_matched(marked: BitmapistState) -> None:
    answer = get_stickiness("paid", "days", periods=7)

    assert answer.counts == (2, 0, 1, 0, 0, 0, 0)  # users 2 and 3 once, user 1 thrice
    assert answer.total == 3
    assert len(answer.dates) == 7 and answer.dates[-1].date() == NOW.date()


def test_get_stickiness_takes_expressions_as_text_or_objects(marked: BitmapistState) -> None:
    text = get_stickiness("paid & ~viewed", periods=7)
    tree = get_stickiness(And((EventRef("paid"), Not(EventRef("viewed")))), periods=7)

    # User 2 paid and viewed on the same day: that day does not count for them.
    assert text.counts == tree.counts == (1, 0, 1, 0, 0, 0, 0)
    assert text.total == 2


def test_get_funnel_follows_the_order_of_the_steps(marked: BitmapistState) -> None:
    funnel = get_funnel(["viewed", "paid"], periods=7)

    # User 1 viewed, then paid; user 2 did both on one day; user 3 paid before viewing.
    assert funnel.counts == (3, 2)
    assert funnel.dropped == (1,)
    assert funnel.from_previous == funnel.from_first == (100.0, 100 * 2 / 3)


def test_get_funnel_with_a_shorter_window_and_a_pinned_now(marked: BitmapistState) -> None:
    funnel = get_funnel(["viewed", "paid"], "days", periods=2, now=days_ago(2).replace(tzinfo=None))

    # Days 3 and 2 ago: users 2 and 3 viewed; only user 2 paid then (the same day).
    assert funnel.counts == (2, 1)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: get_stickiness("paid &"), "expr"),
        (lambda: get_stickiness("paid", periods=0), "periods"),
        (lambda: get_stickiness("paid", "fortnights"), "time_group"),
        (lambda: get_funnel(["paid"]), "step"),
        (lambda: get_funnel("paid viewed"), "step"),
        (lambda: get_funnel(["paid", "viewed"], periods=1001), "periods"),
    ],
)
def test_bad_input_raises_naming_the_field(state: BitmapistState, call: object, field: str) -> None:
    with pytest.raises(InvalidAnswerSpec) as info:
        call()  # type: ignore[operator]
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_a_now_that_is_not_a_datetime_is_refused(state: BitmapistState) -> None:
    with pytest.raises(InvalidMoment, match="'today'"):
        get_funnel(["paid", "viewed"], now="today")  # type: ignore[call-overload]


def test_the_functions_are_exported_lazily() -> None:
    assert flask_bitmapist.get_stickiness is get_stickiness
    assert {"get_stickiness", "get_funnel", "InvalidAnswerSpec"} <= set(flask_bitmapist.__all__)
    code = (
        "import sys, flask_bitmapist; assert 'flask' not in sys.modules; "
        "flask_bitmapist.get_funnel; assert 'flask' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_get_cohort_first_time_leaves_out_earlier_payers(state: BitmapistState) -> None:
    mark_event("paid", 1, now=datetime(2025, 6, 1))  # first paid last year
    for user in (1, 2):
        mark_event("paid", user, now=days_ago(2))
        mark_event("paid", user, now=days_ago(1))

    _, _, plain = get_cohort("paid", "paid", num_rows=3, num_cols=2, with_replacement=True)
    cells, dates, first = get_cohort(
        "paid", "paid", num_rows=3, num_cols=2, with_replacement=True, first_time=True
    )

    assert plain == [2, 2, 0]
    assert first == [1, 0, 0]  # only user 2's first payment is in the window
    assert cells == [[1, 1], [None, None], [None, None]]
    assert dates[-1].date() == NOW.date()
