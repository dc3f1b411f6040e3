"""The window every answer beyond the cohort table covers (DESIGN section 10).

A window is the ``size`` periods of a time group ending with the one that contains
``now``, oldest first: a 30-day stickiness or funnel looks at the 30 days up to today.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from flask_bitmapist.domain.errors import InvalidAnswerSpec, InvalidExpression
from flask_bitmapist.domain.expressions import Expression, check_positive
from flask_bitmapist.domain.periods import Period, TimeGroup, localize

__all__ = ["MAX_PERIODS", "Window", "checked_expression"]

#: The most periods one answer covers: a thousand days is close to three years.
MAX_PERIODS = 1000


def checked_expression(value: object, field: str = "expr") -> Expression:
    """``value`` when it is a positive expression, else :class:`InvalidAnswerSpec` naming
    ``field``."""
    if not isinstance(value, Expression):
        raise InvalidAnswerSpec(
            f"{field} must be an expression (parse_expression), got {value!r}", field=field
        )
    try:
        return check_positive(value)
    except InvalidExpression as exc:
        raise InvalidAnswerSpec(f"{field}: {exc}", field=field) from exc


@attrs.frozen
class Window:
    """The ``size`` periods of ``time_group`` ending with the one containing ``now``."""

    time_group: TimeGroup
    size: int
    now: datetime

    @classmethod
    def create(cls, *, time_group: str | TimeGroup, periods: int, now: datetime) -> Window:
        """Validate the three; errors are :class:`InvalidAnswerSpec` naming the field
        (``time_group``, ``periods``, ``now``)."""
        try:
            group = TimeGroup.parse(time_group)
        except ValueError as exc:
            raise InvalidAnswerSpec(str(exc), field="time_group") from exc
        if isinstance(periods, bool) or not isinstance(periods, int):
            raise InvalidAnswerSpec(f"periods must be an int, got {periods!r}", field="periods")
        if not 1 <= periods <= MAX_PERIODS:
            raise InvalidAnswerSpec(
                f"periods must be between 1 and {MAX_PERIODS}, got {periods!r}", field="periods"
            )
        try:
            # Kept in the zone ``now`` carries: the window's periods are that zone's.
            moment = localize(now, None)
        except TypeError as exc:
            raise InvalidAnswerSpec(str(exc), field="now") from exc
        return cls(group, periods, moment)

    @property
    def last(self) -> Period:
        """The period containing ``now``: nothing after it has happened yet."""
        return Period.containing(self.time_group, self.now)

    def periods(self) -> tuple[Period, ...]:
        """The window's periods, oldest first."""
        last = self.last
        return tuple(last.shift(i - self.size + 1) for i in range(self.size))

    def dates(self) -> tuple[datetime, ...]:
        """The start of each period, oldest first."""
        return tuple(p.start for p in self.periods())
