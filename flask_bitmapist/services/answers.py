"""Building stickiness and funnel requests from what a user typed, for every front end.

The Python API, the JSON/CSV API and the CLI all take text expressions (a plain event
name is one) and turn them into validated specs here, so a bad step reads the same
everywhere: an :class:`~flask_bitmapist.domain.InvalidAnswerSpec` naming the field
(``expr``, ``step``, ``time_group``, ``periods``, ``now``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_bitmapist.domain import (
    DEFAULT_MAX_EXPRESSION_TERMS,
    MAX_STEPS,
    MIN_STEPS,
    Expression,
    FunnelSpec,
    InvalidAnswerSpec,
    InvalidExpression,
    StickinessSpec,
    TimeGroup,
    parse_expression,
)

__all__ = ["funnel_spec", "parse_answer_expression", "stickiness_spec"]


def parse_answer_expression(
    field: str, value: str | Expression, *, max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS
) -> Expression:
    """``value`` parsed as a text expression of at most ``max_terms`` events (an expression
    object passes through); errors are :class:`InvalidAnswerSpec` naming ``field``."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        raise InvalidAnswerSpec(f"{field} is required: an event name or an expression", field=field)
    try:
        return parse_expression(value, max_terms=max_terms)
    except InvalidExpression as exc:
        raise InvalidAnswerSpec(f"{field}: {exc}", field=field) from None


def stickiness_spec(
    expression: str | Expression,
    *,
    now: datetime,
    time_group: str | TimeGroup = TimeGroup.DAY,
    periods: int = 30,
    max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
) -> StickinessSpec:
    """A :class:`StickinessSpec` from a text expression and the window."""
    return StickinessSpec.create(
        parse_answer_expression("expr", expression, max_terms=max_terms),
        now=now,
        time_group=time_group,
        periods=periods,
    )


def funnel_spec(
    steps: Sequence[str | Expression],
    *,
    now: datetime,
    time_group: str | TimeGroup = TimeGroup.DAY,
    periods: int = 30,
    max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
) -> FunnelSpec:
    """A :class:`FunnelSpec` from 2 to 10 text expressions, in order, and the window."""
    if isinstance(steps, str) or not isinstance(steps, Sequence):
        raise InvalidAnswerSpec(
            f"steps must be a list of {MIN_STEPS} to {MAX_STEPS} expressions, got {steps!r}",
            field="step",
        )
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise InvalidAnswerSpec(
            f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, got {len(steps)}", field="step"
        )
    parsed = [_step(index, step, max_terms) for index, step in enumerate(steps, start=1)]
    return FunnelSpec.create(parsed, now=now, time_group=time_group, periods=periods)


def _step(index: int, step: str | Expression, max_terms: int) -> Expression:
    try:
        return parse_answer_expression("step", step, max_terms=max_terms)
    except InvalidAnswerSpec as exc:
        # Say which step: "step 2: ..." while the field stays the request's key.
        raise InvalidAnswerSpec(
            str(exc).replace("step", f"step {index}", 1), field="step"
        ) from None
