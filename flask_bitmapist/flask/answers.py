"""Trends, lifecycles, stickiness and funnels in an app context (see docs/answers.md;
first-time cohort rows are ``get_cohort(..., first_time=True)``).

Each function asks the app's answer pipeline
(:class:`~flask_bitmapist.services.answers.Answers`) for its kind: one read of the current
app's storage, within its read budget. They raise
:class:`~flask_bitmapist.exceptions.StorageUnavailable` when storage cannot be read, and
for bad input (or a request past the read budget) an
:class:`~flask_bitmapist.exceptions.InvalidAnswerSpec` or
:class:`~flask_bitmapist.exceptions.InvalidRequest` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, overload

from flask_bitmapist.domain import (
    Expression,
    Funnel,
    Lifecycle,
    Stickiness,
    TimeGroup,
    Trend,
)
from flask_bitmapist.flask.state import current_state

__all__ = ["get_funnel", "get_lifecycle", "get_stickiness", "get_trend"]


@overload
def get_trend(
    expression: str | Expression | Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    rolling: int = 1,
    now: datetime | None = None,
    segment: str | None = None,
    compare: str | None = None,
    breakdown: None = None,
) -> Trend: ...


@overload
def get_trend(
    expression: str | Expression | Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    rolling: int = 1,
    now: datetime | None = None,
    segment: str | None = None,
    compare: str | None = None,
    *,
    breakdown: str,
) -> dict[str | None, Trend]: ...


def get_trend(
    expression: str | Expression | Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    rolling: int = 1,
    now: datetime | None = None,
    segment: str | None = None,
    compare: str | None = None,
    breakdown: str | None = None,
) -> Trend | dict[str | None, Trend]:
    """How many users matched ``expression`` in each of the ``periods`` periods of
    ``time_group`` ending with the one containing ``now`` (default: the current time).

    ``expression`` is text (``"user:paid & ~user:refunded"``), an expression object, or a
    list of up to 10 of them: one series each. With ``rolling=w`` each count is the users
    who matched in any of the ``w`` periods ending with that one (``rolling=7`` on days is
    weekly actives drawn daily). ``trend.dates`` holds the periods' starts (in the app's zone),
    ``trend.series[i].counts`` one count per period, oldest first::

        trend = get_trend(["user:active", "user:paid"], periods=30, rolling=7)

    Every function here takes ``segment``: the answer on that segment's users only
    (docs/segments.md). ``compare="previous"`` (here, in :func:`get_stickiness` and in
    :func:`get_funnel`) sets the answer's ``previous``: the same answer over the
    ``periods`` periods just before the window. With ``breakdown="plan"`` each returns
    the answer once per value of that property, largest group first, as an ordered
    ``{value: answer}`` whose last key, None, holds everyone else.
    """
    answer: Trend | dict[str | None, Trend] = _answer(
        "trend",
        now,
        expr=expression,
        time_group=time_group,
        periods=periods,
        rolling=rolling,
        segment=segment,
        compare=compare,
        breakdown=breakdown,
    )
    return answer


@overload
def get_lifecycle(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    segment: str | None = None,
    breakdown: None = None,
) -> Lifecycle: ...


@overload
def get_lifecycle(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    segment: str | None = None,
    *,
    breakdown: str,
) -> dict[str | None, Lifecycle]: ...


def get_lifecycle(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    segment: str | None = None,
    breakdown: str | None = None,
) -> Lifecycle | dict[str | None, Lifecycle]:
    """For each of the ``periods`` periods ending with now's, how many users matching
    ``expression`` (an event or an OR of events) were new (first match ever), returning
    (there the period before too), resurrecting (back after a break) and dormant (there
    the period before, not in this one)::

        lifecycle = get_lifecycle("user:active", "weeks", periods=12)
        lifecycle.new, lifecycle.returning, lifecycle.resurrecting, lifecycle.dormant
    """
    answer: Lifecycle | dict[str | None, Lifecycle] = _answer(
        "lifecycle",
        now,
        expr=expression,
        time_group=time_group,
        periods=periods,
        segment=segment,
        breakdown=breakdown,
    )
    return answer


@overload
def get_stickiness(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    segment: str | None = None,
    compare: str | None = None,
    breakdown: None = None,
) -> Stickiness: ...


@overload
def get_stickiness(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    segment: str | None = None,
    compare: str | None = None,
    *,
    breakdown: str,
) -> dict[str | None, Stickiness]: ...


def get_stickiness(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    segment: str | None = None,
    compare: str | None = None,
    breakdown: str | None = None,
) -> Stickiness | dict[str | None, Stickiness]:
    """How many users matched ``expression`` in exactly 1, 2, … N of the ``periods``
    periods of ``time_group`` ending with the one containing ``now`` (default: the current
    time).

    ``expression`` is an event name or a text expression (``"user:paid | user:refunded"``).
    The answer's ``counts[k - 1]`` is the number of users seen in exactly ``k`` periods,
    ``dates`` the periods' starts, ``total`` everyone seen at least once. Bad input raises
    :class:`~flask_bitmapist.exceptions.InvalidAnswerSpec` naming the field.
    """
    answer: Stickiness | dict[str | None, Stickiness] = _answer(
        "stickiness",
        now,
        expr=expression,
        time_group=time_group,
        periods=periods,
        segment=segment,
        compare=compare,
        breakdown=breakdown,
    )
    return answer


@overload
def get_funnel(
    steps: Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    segment: str | None = None,
    compare: str | None = None,
    breakdown: None = None,
) -> Funnel: ...


@overload
def get_funnel(
    steps: Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    segment: str | None = None,
    compare: str | None = None,
    *,
    breakdown: str,
) -> dict[str | None, Funnel]: ...


def get_funnel(
    steps: Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    segment: str | None = None,
    compare: str | None = None,
    breakdown: str | None = None,
) -> Funnel | dict[str | None, Funnel]:
    """How many users went through ``steps`` (2 to 10 event names or text expressions) in
    order, within the ``periods`` periods of ``time_group`` ending with the one containing
    ``now`` (default: the current time).

    A user reaches step 1 in the first period of the window where they match it, and step
    k in the first period at or after the one where they reached step k - 1. Steps done in
    the same period count as done in order: bitmaps do not order events within a period.
    ``counts[k]`` is the number of users who reached step ``k + 1``; ``from_previous``,
    ``from_first`` and ``dropped`` are derived from it.
    """
    answer: Funnel | dict[str | None, Funnel] = _answer(
        "funnel",
        now,
        step=steps,
        time_group=time_group,
        periods=periods,
        segment=segment,
        compare=compare,
        breakdown=breakdown,
    )
    return answer


def _answer(kind: str, now: datetime | None, **fields: object) -> Any:
    """The current app's answer of ``kind`` (the domain's result: no room for warnings,
    so the event listing that finds them is skipped); ``now`` in the app's zone; a
    ``segment`` (``"plan=pro & ~beta_testers"``, see docs/segments.md) restricts every user
    set of the answer to its users."""
    state = current_state()
    given = {**fields, "now": state.moment(now)}
    if fields.get("breakdown") is not None:
        return state.answers.breakdown(kind, given, warn=False).results
    return state.answers.answer(kind, given, warn=False).result
