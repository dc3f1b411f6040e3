"""Trends and lifecycles in an app context (DESIGN section 10, items 2 and 3).

Both read the current app's storage once per answer and raise
:class:`~flask_bitmapist.exceptions.StorageUnavailable` when it cannot be read; bad input
raises :class:`~flask_bitmapist.exceptions.InvalidAnswerSpec` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_bitmapist.domain import (
    Expression,
    Lifecycle,
    LifecycleEngine,
    TimeGroup,
    Trend,
    TrendEngine,
)
from flask_bitmapist.flask.state import current_state
from flask_bitmapist.services.answers import lifecycle_spec, trend_spec

__all__ = ["get_lifecycle", "get_trend"]


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
        now=state.now() if now is None else now,
        time_group=time_group,
        periods=periods,
        rolling=rolling,
    )
    return TrendEngine(state.repository).compute(spec)


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
        now=state.now() if now is None else now,
        time_group=time_group,
        periods=periods,
    )
    return LifecycleEngine(state.repository).compute(spec)
