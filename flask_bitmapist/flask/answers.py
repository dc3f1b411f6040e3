"""Trends, lifecycles, stickiness and funnels in an app context (DESIGN section 10, items
2 to 5; first-time cohort rows are ``get_cohort(..., first_time=True)``).

Both read the current app's storage once per answer and raise
:class:`~flask_bitmapist.exceptions.StorageUnavailable` when it cannot be read; bad input
raises :class:`~flask_bitmapist.exceptions.InvalidAnswerSpec` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_bitmapist.domain import (
    Expression,
    Funnel,
    FunnelEngine,
    Lifecycle,
    LifecycleEngine,
    Stickiness,
    StickinessEngine,
    TimeGroup,
    Trend,
    TrendEngine,
)
from flask_bitmapist.flask.state import current_state
from flask_bitmapist.services.answers import (
    funnel_spec,
    lifecycle_spec,
    stickiness_spec,
    trend_spec,
)

__all__ = ["get_funnel", "get_lifecycle", "get_stickiness", "get_trend"]


def get_trend(
    expression: str | Expression | Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    rolling: int = 1,
    now: datetime | None = None,
) -> Trend:
    """How many users matched ``expression`` in each of the ``periods`` periods of
    ``time_group`` ending with the one containing ``now`` (default: the current time).

    ``expression`` is text (``"user:paid & ~user:refunded"``), an expression object, or a
    list of up to 10 of them: one series each. With ``rolling=w`` each count is the users
    who matched in any of the ``w`` periods ending with that one (``rolling=7`` on days is
    weekly actives drawn daily). ``trend.dates`` holds the periods' starts (UTC),
    ``trend.series[i].counts`` one count per period, oldest first::

        trend = get_trend(["user:active", "user:paid"], periods=30, rolling=7)
    """
    state = current_state()
    spec = trend_spec(
        expression,
        now=state.moment(now),
        time_group=time_group,
        periods=periods,
        rolling=rolling,
        max_terms=state.settings.max_expression_terms,
    )
    return TrendEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
        state.kept(spec)
    )


def get_lifecycle(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
) -> Lifecycle:
    """For each of the ``periods`` periods ending with now's, how many users matching
    ``expression`` (an event or an OR of events) were new (first match ever), returning
    (there the period before too), resurrecting (back after a break) and dormant (there
    the period before, not in this one)::

        lifecycle = get_lifecycle("user:active", "weeks", periods=12)
        lifecycle.new, lifecycle.returning, lifecycle.resurrecting, lifecycle.dormant
    """
    state = current_state()
    spec = lifecycle_spec(
        expression,
        now=state.moment(now),
        time_group=time_group,
        periods=periods,
        max_terms=state.settings.max_expression_terms,
    )
    return LifecycleEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
        state.kept(spec)
    )


def get_stickiness(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
) -> Stickiness:
    """How many users matched ``expression`` in exactly 1, 2, … N of the ``periods``
    periods of ``time_group`` ending with the one containing ``now`` (default: the current
    time).

    ``expression`` is an event name or a text expression (``"user:paid | user:refunded"``).
    The answer's ``counts[k - 1]`` is the number of users seen in exactly ``k`` periods,
    ``dates`` the periods' starts, ``total`` everyone seen at least once. Bad input raises
    :class:`~flask_bitmapist.exceptions.InvalidAnswerSpec` naming the field.
    """
    state = current_state()
    spec = stickiness_spec(
        expression,
        now=state.moment(now),
        time_group=time_group,
        periods=periods,
        max_terms=state.settings.max_expression_terms,
    )
    return StickinessEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
        state.kept(spec)
    )


def get_funnel(
    steps: Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
) -> Funnel:
    """How many users went through ``steps`` (2 to 10 event names or text expressions) in
    order, within the ``periods`` periods of ``time_group`` ending with the one containing
    ``now`` (default: the current time).

    A user reaches step 1 in the first period of the window where they match it, and step
    k in the first period at or after the one where they reached step k - 1. Steps done in
    the same period count as done in order: bitmaps do not order events within a period.
    ``counts[k]`` is the number of users who reached step ``k + 1``; ``from_previous``,
    ``from_first`` and ``dropped`` are derived from it.
    """
    state = current_state()
    spec = funnel_spec(
        steps,
        now=state.moment(now),
        time_group=time_group,
        periods=periods,
        max_terms=state.settings.max_expression_terms,
    )
    return FunnelEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
        state.kept(spec)
    )
