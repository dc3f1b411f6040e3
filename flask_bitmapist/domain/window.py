"""The window every answer beyond the cohort table covers (see docs/answers.md), and the
checks their specs share.

A window is the ``size`` periods of a time group ending with the one that contains
``now``, oldest first: a 30-day stickiness or funnel looks at the 30 days up to today.
Its periods are those of the zone ``now`` carries.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Final, TypeVar

import attrs

from flask_bitmapist.domain.errors import FieldError, InvalidAnswerSpec, InvalidExpression
from flask_bitmapist.domain.expressions import Expression, check_positive
from flask_bitmapist.domain.periods import MIN_YEAR, Period, TimeGroup, localize, span_in_calendar

__all__ = [
    "MAX_HOURS",
    "MAX_PERIODS",
    "CalendarEdge",
    "ExpressionSpec",
    "Window",
    "WindowedSpec",
    "bounded_int",
    "calendar_edge",
    "checked_expression",
    "index_in",
]

#: The longest window, in periods of any group but hours.
MAX_PERIODS: Final = 1000
#: The longest window of hours: a year of them.
MAX_HOURS: Final = 8760

_Spec = TypeVar("_Spec", bound="ExpressionSpec")


def bounded_int(
    field: str, value: object, upper: int, *, error: FieldError = InvalidAnswerSpec
) -> int:
    """``value`` if it is an int in 1..``upper``, else ``error`` (by default
    :class:`InvalidAnswerSpec`) naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{field} must be an int, got {value!r}", field=field)
    if not 1 <= value <= upper:
        raise error(f"{field} must be between 1 and {upper}, got {value!r}", field=field)
    return value


def checked_expression(value: object, field: str = "expr") -> Expression:
    """``value`` if it is an expression that means something on its own (not a lone
    negation), else :class:`InvalidAnswerSpec` naming ``field``."""
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
    """``size`` periods of ``time_group`` ending with the one containing ``now``.

    >>> w = Window.create(time_group="weeks", periods=2, now=datetime(2027, 1, 1))
    >>> [p.key_suffix for p in w.periods()]
    ['W2026-52', 'W2026-53']
    """

    time_group: TimeGroup
    size: int
    now: datetime

    @classmethod
    def create(
        cls,
        *,
        time_group: str | TimeGroup,
        periods: int,
        now: datetime,
        before: int = 0,
    ) -> Window:
        """Validate the fields; ``before`` more periods ahead of the window must exist in
        the calendar too (the answer reads them). Errors name the field."""
        try:
            group = TimeGroup.parse(time_group)
        except ValueError as exc:
            raise InvalidAnswerSpec(str(exc), field="time_group") from exc
        upper = MAX_HOURS if group is TimeGroup.HOUR else MAX_PERIODS
        size = bounded_int("periods", periods, upper)
        try:
            # Kept in the zone ``now`` carries: the window's periods are that zone's.
            moment = localize(now, None)
        except TypeError as exc:
            raise InvalidAnswerSpec(str(exc), field="now") from exc
        window = cls(group, size, moment)
        edge = calendar_edge(window.last, size, before=before)
        if edge is not None:
            raise InvalidAnswerSpec(edge.message, field=edge.field)
        return window

    @classmethod
    def create_capped(cls, *, time_group: str | TimeGroup, periods: int, now: datetime) -> Window:
        """:meth:`create`, with at most :data:`MAX_PERIODS` periods whatever the group,
        hours included (only a trend may take a year of hours). ``periods`` is checked
        first."""
        return cls.create(
            time_group=time_group,
            periods=bounded_int("periods", periods, MAX_PERIODS),
            now=now,
        )

    @property
    def last(self) -> Period:
        """The period containing ``now``: nothing after it has happened yet."""
        return Period.containing(self.time_group, self.now)

    def periods(self, before: int = 0) -> tuple[Period, ...]:
        """The window's periods, oldest first, after the ``before`` periods preceding it
        (remembered for the last few windows: a breakdown asks once per group)."""
        # Keyed by the zone too: a window's ``now`` equals the same instant in any zone,
        # whose periods differ.
        return _window_periods(self, self.now.tzinfo, before)

    def dates(self) -> tuple[datetime, ...]:
        """The start of each of the window's periods."""
        return tuple(period.start for period in self.periods())


@functools.lru_cache(maxsize=64)
def _window_periods(window: Window, zone: tzinfo | None, before: int) -> tuple[Period, ...]:
    last = window.last
    return tuple(last.shift(i - window.size - before + 1) for i in range(window.size + before))


@attrs.frozen
class CalendarEdge:
    """Why a span of periods is outside the calendar, and the field to change."""

    field: str
    message: str


def calendar_edge(
    last: Period, count: int, *, before: int = 0, count_field: str = "periods"
) -> CalendarEdge | None:
    """None when the ``count`` periods ending with ``last``, and the ``before`` periods
    ahead of them that the answer reads too, lie in the calendar
    (:func:`~flask_bitmapist.domain.periods.span_in_calendar`); else which field takes
    them out of it: ``now`` when a window of one period would be out too,
    ``count_field`` (``periods``, a cohort's ``rows``) when their number is what takes
    them out. Every answer's spec asks this once, before anything is read, so that the
    edge is an error naming its field in every answer.

    >>> calendar_edge(Period.containing(TimeGroup.WEEK, datetime(1000, 1, 2)), 1).field
    'now'
    """
    if not span_in_calendar(last, 1 + before):
        return CalendarEdge(
            "now",
            f"now is too close to the calendar's start: {last}, which contains it, or a "
            f"period the answer reads before it, starts before year {MIN_YEAR}",
        )
    if not span_in_calendar(last, count + before):
        return CalendarEdge(
            count_field,
            f"{count} {last.group.plural} up to {last} reach back before year {MIN_YEAR}, the "
            f"calendar's start: ask for fewer {count_field}",
        )
    return None


def index_in(field: str, index: object, items: Sequence[object]) -> int:
    """``index`` if it is an int position in ``items``, else :class:`InvalidAnswerSpec`."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise InvalidAnswerSpec(f"{field} must be an int, got {index!r}", field=field)
    if not 0 <= index < len(items):
        raise InvalidAnswerSpec(f"{field} {index!r} is outside 0..{len(items) - 1}", field=field)
    return index


class WindowedSpec:
    """What every answer's spec (trend, lifecycle, stickiness, funnel) says of its window,
    read through from its ``window`` field."""

    __slots__ = ()
    window: Window

    @property
    def time_group(self) -> TimeGroup:
        """The group of the window's periods."""
        return self.window.time_group

    @property
    def periods(self) -> int:
        """How many periods the window has (N)."""
        return self.window.size

    @property
    def now(self) -> datetime:
        """The moment the window ends at (its last period contains it)."""
        return self.window.now


@attrs.frozen
class ExpressionSpec(WindowedSpec):
    """A request for one expression over a window (lifecycle, stickiness): each kind says
    how its expression is checked (:meth:`checked`) and its window built
    (:meth:`window_of`); :meth:`create` does both."""

    expression: Expression
    window: Window

    @classmethod
    def create(
        cls: type[_Spec],
        expression: Expression,
        *,
        now: datetime,
        time_group: str | TimeGroup = TimeGroup.DAY,
        periods: int = 30,
    ) -> _Spec:
        """Validate every field; errors are :class:`InvalidAnswerSpec` naming the field
        (``expr``, ``time_group``, ``periods``, ``now``)."""
        return cls(cls.checked(expression), cls.window_of(time_group, periods, now))

    @classmethod
    def checked(cls, expression: Expression) -> Expression:
        """The expression, if this kind can answer it (else :class:`InvalidAnswerSpec`
        naming ``expr``)."""
        return checked_expression(expression, "expr")

    @classmethod
    def window_of(cls, time_group: str | TimeGroup, periods: int, now: datetime) -> Window:
        """The window of ``periods`` periods of ``time_group`` ending with ``now``'s."""
        return Window.create(time_group=time_group, periods=periods, now=now)
