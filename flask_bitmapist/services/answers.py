"""Trend and lifecycle requests from what front ends receive: text or expression objects.

The Python functions, the JSON/CSV API, the dashboard pages and the CLI all build their
specs here, so an expression, a bound or a bad field reads the same everywhere. Every
problem is an :class:`~flask_bitmapist.domain.InvalidAnswerSpec` naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_bitmapist.domain import (
    MAX_SERIES,
    Expression,
    InvalidAnswerSpec,
    InvalidExpression,
    LifecycleSpec,
    TimeGroup,
    TrendSpec,
    parse_expression,
)

__all__ = ["as_expression", "as_expressions", "lifecycle_spec", "trend_spec"]

ExpressionLike = str | Expression


def as_expression(value: object, field: str = "expr") -> Expression:
    """An expression object, or one parsed from text (``a & (b | c) & ~d``)."""
    if isinstance(value, Expression):
        return value
    if isinstance(value, str):
        try:
            return parse_expression(value)
        except InvalidExpression as exc:
            raise InvalidAnswerSpec(f"{field}: {exc}", field=field) from None
    raise InvalidAnswerSpec(
        f"{field} must be a text expression or an expression object, got {value!r}", field=field
    )


def as_expressions(value: object, field: str = "expr") -> list[Expression]:
    """One expression (text or object) or a list of them, as a list of expressions."""
    if isinstance(value, str | Expression):
        return [as_expression(value, field)]
    if isinstance(value, Sequence):
        if len(value) > MAX_SERIES:
            # Refused before parsing: a request cannot make us parse thousands of them.
            raise InvalidAnswerSpec(
                f"a trend has 1 to {MAX_SERIES} expressions, got {len(value)}", field=field
            )
        return [as_expression(item, field) for item in value]
    raise InvalidAnswerSpec(
        f"{field} must be an expression or a list of expressions, got {value!r}", field=field
    )


def trend_spec(
    expressions: ExpressionLike | Sequence[ExpressionLike],
    *,
    now: datetime,
    time_group: str | TimeGroup = TimeGroup.DAY,
    periods: int = 30,
    rolling: int = 1,
) -> TrendSpec:
    """A validated trend request; one expression or up to ten (text or objects).

    >>> spec = trend_spec(["active", "paid & ~refunded"], now=datetime(2026, 11, 27),
    ...                   periods=7, rolling=7)
    >>> [str(e) for e in spec.expressions], spec.rolling
    (['active', 'paid & ~refunded'], 7)
    """
    return TrendSpec.create(
        as_expressions(expressions),
        now=now,
        time_group=time_group,
        periods=periods,
        rolling=rolling,
    )


def lifecycle_spec(
    expression: ExpressionLike,
    *,
    now: datetime,
    time_group: str | TimeGroup = TimeGroup.DAY,
    periods: int = 30,
) -> LifecycleSpec:
    """A validated lifecycle request: an event or an OR of events (text or object)."""
    return LifecycleSpec.create(
        as_expression(expression), now=now, time_group=time_group, periods=periods
    )
