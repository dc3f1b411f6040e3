"""Trend, lifecycle, stickiness and funnel requests from what front ends receive: text or
expression objects.

The Python functions, the JSON/CSV API, the dashboard pages and the CLI all build their
specs here, so an expression, a bound or a bad field reads the same everywhere. Every
problem is an :class:`~flask_bitmapist.domain.InvalidAnswerSpec` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from flask_bitmapist.domain import (
    DEFAULT_MAX_EXPRESSION_TERMS,
    MAX_SERIES,
    MAX_STEPS,
    MIN_STEPS,
    Expression,
    FunnelSpec,
    InvalidAnswerSpec,
    InvalidExpression,
    LifecycleSpec,
    StickinessSpec,
    TimeGroup,
    TrendSpec,
    parse_expression,
)

if TYPE_CHECKING:
    from typing_extensions import Required, Unpack

__all__ = [
    "as_expression",
    "as_expressions",
    "funnel_spec",
    "lifecycle_spec",
    "stickiness_spec",
    "trend_spec",
]

ExpressionLike = str | Expression


class WindowFields(TypedDict, total=False):
    """What every windowed request takes: ``now`` (required), ``time_group`` (days by
    default) and ``periods`` (30 by default). Each function here also takes ``max_terms``,
    the most events an expression may name (``BITMAPIST_MAX_EXPRESSION_TERMS``)."""

    now: Required[datetime]
    time_group: str | TimeGroup
    periods: int


def as_expression(
    value: object, field: str = "expr", *, max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS
) -> Expression:
    """An expression object, or one parsed from text (``a & (b | c) & ~d``) of at most
    ``max_terms`` events (``BITMAPIST_MAX_EXPRESSION_TERMS``)."""
    if isinstance(value, Expression):
        return value
    if isinstance(value, str):
        if not value.strip():
            raise InvalidAnswerSpec(
                f"{field} is required: an event name or an expression", field=field
            )
        try:
            return parse_expression(value, max_terms=max_terms)
        except InvalidExpression as exc:
            raise InvalidAnswerSpec(f"{field}: {exc}", field=field) from None
    raise InvalidAnswerSpec(
        f"{field} must be a text expression or an expression object, got {value!r}", field=field
    )


def as_expressions(
    value: object, field: str = "expr", *, max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS
) -> list[Expression]:
    """One expression (text or object) or a list of them, as a list of expressions."""
    if isinstance(value, str | Expression):
        return [as_expression(value, field, max_terms=max_terms)]
    if isinstance(value, Sequence):
        if len(value) > MAX_SERIES:
            # Refused before parsing: a request cannot make us parse thousands of them.
            raise InvalidAnswerSpec(
                f"a trend has 1 to {MAX_SERIES} expressions, got {len(value)}", field=field
            )
        return [as_expression(item, field, max_terms=max_terms) for item in value]
    raise InvalidAnswerSpec(
        f"{field} must be an expression or a list of expressions, got {value!r}", field=field
    )


def trend_spec(
    expressions: ExpressionLike | Sequence[ExpressionLike],
    *,
    rolling: int = 1,
    max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
    **window: Unpack[WindowFields],
) -> TrendSpec:
    """A validated trend request; one expression or up to ten (text or objects).

    >>> spec = trend_spec(["active", "paid & ~refunded"], now=datetime(2026, 11, 27),
    ...                   periods=7, rolling=7)
    >>> [str(e) for e in spec.expressions], spec.rolling
    (['active', 'paid & ~refunded'], 7)
    """
    return TrendSpec.create(
        as_expressions(expressions, max_terms=max_terms), rolling=rolling, **window
    )


def lifecycle_spec(
    expression: ExpressionLike,
    *,
    max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
    **window: Unpack[WindowFields],
) -> LifecycleSpec:
    """A validated lifecycle request: an event or an OR of events (text or object)."""
    return LifecycleSpec.create(as_expression(expression, max_terms=max_terms), **window)


def stickiness_spec(
    expression: ExpressionLike,
    *,
    max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
    **window: Unpack[WindowFields],
) -> StickinessSpec:
    """A validated stickiness request: one expression (text or object) and the window."""
    return StickinessSpec.create(as_expression(expression, max_terms=max_terms), **window)


def funnel_spec(
    steps: Sequence[ExpressionLike],
    *,
    max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
    **window: Unpack[WindowFields],
) -> FunnelSpec:
    """A validated funnel request: 2 to 10 steps in order (text or objects), the window.

    A step that does not parse names itself (``step 3: ...``); the field is ``step``.
    """
    if isinstance(steps, str) or not isinstance(steps, Sequence):
        raise InvalidAnswerSpec(
            f"steps must be a list of {MIN_STEPS} to {MAX_STEPS} expressions, got {steps!r}",
            field="step",
        )
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        # Refused before parsing: a request cannot make us parse thousands of them.
        raise InvalidAnswerSpec(
            f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, got {len(steps)}", field="step"
        )
    return FunnelSpec.create(
        [_step(k, step, max_terms) for k, step in enumerate(steps, start=1)], **window
    )


def _step(k: int, step: object, max_terms: int) -> Expression:
    try:
        return as_expression(step, "step", max_terms=max_terms)
    except InvalidAnswerSpec as exc:
        # Say which step ("step 2: ..."); the field stays the request's key.
        raise InvalidAnswerSpec(str(exc).replace("step", f"step {k}", 1), field="step") from None
