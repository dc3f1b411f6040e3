"""First-ever matches: the users whose first match of an expression fell in each period.

For a period P of a window, the users whose first-ever match fell in P are the users
matching in P minus every user who matched at any earlier moment the storage holds
(see docs/answers.md). "Earlier" is read as the fewest stored bitmaps that cover
everything before P's start, finest last:

- every earlier whole month, by its month key (a month key stands in for its days);
- the days of P's month before P's start, by their day keys;
- for hours, the hours of P's day before P's start, by their hour keys.

How far back "everything the storage holds" goes is not a cutoff picked here: the
repository lists the months each event has a key for
(:meth:`~flask_bitmapist.domain.repository.BitmapRepository.stored_months`), and every
one of them before P's month is read. A month without a key holds nobody, so nothing is
missed and nothing is read twice. The repository names those months by label (a key says
``2026-11``, not when November began): they are read here as months of P's own calendar,
so that in Los Angeles November's key is November there, not a UTC November that began
eight hours earlier and so would count as history of P.

A union over days equals the union over months only for an event or an OR of events: a
user who did A on the 1st and B on the 2nd matches ``A & B`` in the month's keys but on no
day. So only those expressions have a first-ever match; others are refused with
:class:`~flask_bitmapist.domain.errors.InvalidExpression`.

Hour keys exist only for marks tracked hourly: for hourly periods, a user whose earlier
marks that day were not tracked hourly is not seen in the earlier hours.

Two steps, so that an engine reads storage once for everything its answer needs:
:meth:`FirstEver.plan` says which bitmaps to read, :meth:`FirstEver.users` computes from
them. :func:`first_ever_users` does both against a repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, tzinfo

import attrs
import numpy as np

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.errors import InvalidExpression
from flask_bitmapist.domain.events import BitmapId
from flask_bitmapist.domain.expressions import EventRef, Expression, Or
from flask_bitmapist.domain.periods import Period, TimeGroup
from flask_bitmapist.domain.repository import BitmapRepository

__all__ = ["FirstEver", "first_ever_events", "first_ever_users"]


def first_ever_events(expression: Expression) -> tuple[str, ...]:
    """The events of ``expression`` if it is an event or an OR of events, sorted; else raise
    :class:`InvalidExpression` saying why.

    >>> first_ever_events(Or((EventRef("b"), EventRef("a"))))
    ('a', 'b')
    """
    if isinstance(expression, EventRef):
        return (expression.name,)
    if isinstance(expression, Or) and all(
        isinstance(term, EventRef | Or) and first_ever_events(term) for term in expression.terms
    ):
        return tuple(sorted(expression.events()))
    raise InvalidExpression(
        f"'{expression}' has no first-ever match: only an event or an OR of events "
        "(a | b) does, because a union over days equals the union over months only for those",
        text=str(expression),
    )


@attrs.frozen
class _Step:
    """What covers everything before one period's start, as the news since the previous
    (earlier) start: its month, the days of that month not yet covered, and the hours of
    its day not yet covered."""

    month: Period
    days: tuple[Period, ...]
    hours: tuple[Period, ...]


def _steps(starts: Iterable[datetime]) -> Iterator[_Step]:
    """For ascending ``starts``, the stored periods before each that come after its month's
    start: the days of its month before it, then the hours of its day before it.

    Walked once for all starts, so a year of hours costs a year of steps, not a month of
    days and a day of hours for each of them.
    """
    month: Period | None = None
    next_day: Period | None = None
    hour_day: Period | None = None
    next_hour: Period | None = None
    for start in starts:
        here = Period.containing(TimeGroup.MONTH, start)
        if here != month or next_day is None:
            month, next_day = here, Period.containing(TimeGroup.DAY, here.start)
        days: list[Period] = []
        while next_day.end <= start:
            days.append(next_day)
            next_day = next_day.shift(1)
        hours: list[Period] = []
        if next_day.start < start:  # ``start`` is inside a day: an hour
            if next_day != hour_day or next_hour is None:
                hour_day = next_day
                next_hour = Period.containing(TimeGroup.HOUR, next_day.start)
            while next_hour.end <= start:
                hours.append(next_hour)
                next_hour = next_hour.shift(1)
        else:
            hour_day, next_hour = None, None
        yield _Step(here, tuple(days), tuple(hours))


@attrs.frozen
class FirstEver:
    """What to read, and how to compute, the first-ever matches of an event or an OR of
    events in each of a list of periods.

    >>> from datetime import date, datetime
    >>> day = Period.containing(TimeGroup.DAY, datetime(2026, 11, 27))
    >>> plan = FirstEver.plan(
    ...     EventRef("signup"), TimeGroup.DAY, [day], stored_months={"signup": [date(2026, 9, 1)]}
    ... )
    >>> [str(i.period) for i in plan.bitmap_ids()][:3]
    ['month 2026-9', 'day 2026-11-1', 'day 2026-11-2']
    >>> len(plan.bitmap_ids())  # September, November 1-26, and November 27 itself
    28

    Then ``plan.users(dict(zip(ids, repository.fetch(ids))))`` gives one user set per
    period, in the order of ``periods`` (see :func:`first_ever_users`).
    """

    events: tuple[str, ...]
    periods: tuple[Period, ...]
    #: Per event, the stored months earlier than the last period's month, oldest first.
    months: Mapping[str, tuple[Period, ...]]
    #: The periods' indexes, oldest first, and for each what covers the time before it
    #: beyond the months (walked once, when planned).
    order: tuple[int, ...] = attrs.field(repr=False, default=())
    steps: tuple[_Step, ...] = attrs.field(repr=False, default=())

    @classmethod
    def plan(
        cls,
        expression: Expression,
        time_group: TimeGroup,
        periods: Sequence[Period],
        stored_months: Mapping[str, Iterable[date | Period]],
    ) -> FirstEver:
        """Plan the first-ever matches of ``expression`` in each of ``periods`` (any order,
        all of ``time_group``, all in one zone), given the months each event has stored
        bitmaps for (what :meth:`BitmapRepository.stored_months` answers; an event left out
        has none).

        Each stored month is a label, the date of its first day, read as that month of the
        periods' calendar; a month :class:`Period` (as repositories written before labels
        answered) is read by its label too, whatever zone it was built in.

        Raises :class:`InvalidExpression` unless ``expression`` is an event or an OR of
        events, and ``ValueError`` for periods of another group or zone.
        """
        events = first_ever_events(expression)
        periods = tuple(periods)
        for period in periods:
            if period.group is not time_group:
                raise ValueError(f"{period} is not a period of {time_group.plural}")
        months: dict[str, tuple[Period, ...]] = {}
        if periods:
            zone = periods[0].zone
            for period in periods:
                if period.zone != zone:
                    raise ValueError(f"{period} is not in the zone of {periods[0]}")
            last = max(Period.containing(TimeGroup.MONTH, p.start).label for p in periods)
            for event in events:
                labels = {_month_label(month) for month in stored_months.get(event, ())}
                months[event] = tuple(
                    _local_month(label, zone) for label in sorted(labels) if label < last
                )
        order = tuple(sorted(range(len(periods)), key=lambda i: periods[i].start))
        steps = tuple(_steps(periods[i].start for i in order))
        return cls(events, periods, months, order, steps)

    def bitmap_ids(self) -> tuple[BitmapId, ...]:
        """Every bitmap :meth:`users` needs, each once, in a stable order."""
        wanted: dict[BitmapId, None] = {}
        for event in self.events:
            for month in self.months.get(event, ()):
                wanted[BitmapId(event, month)] = None
        for index, step in zip(self.order, self.steps, strict=True):
            for part in (*step.days, *step.hours, *self.periods[index].stored_parts()):
                for event in self.events:
                    wanted[BitmapId(event, part)] = None
        return tuple(wanted)

    def users(self, bitmaps: Mapping[BitmapId, Bitmap]) -> tuple[Bitmap, ...]:
        """The users whose first-ever match fell in each period, in the order of
        ``periods``, from the bitmaps of :meth:`bitmap_ids` (a missing one raises
        ``KeyError``)."""

        def union(parts: Iterable[Period]) -> Bitmap:
            return Bitmap.union(bitmaps[BitmapId(e, p)] for p in parts for e in self.events)

        # One mutable set of everyone seen so far, grown as the periods advance (oldest
        # first): the months before each period's month, the days of its month before it,
        # the hours of its day before it. Every bitmap read is ORed in once, in place, and
        # each lies wholly before every later period too, so nothing is ever taken out.
        months = sorted(
            ((m, e) for e, ms in self.months.items() for m in ms), key=lambda item: item[0].start
        )
        width = max((bitmap.words.size for bitmap in bitmaps.values()), default=0)
        seen = np.zeros(width, dtype=np.uint64)

        def add(bitmap: Bitmap) -> None:
            words = bitmap.words
            np.bitwise_or(seen[: words.size], words, out=seen[: words.size])

        taken = 0
        result: dict[int, Bitmap] = {}
        for index, step in zip(self.order, self.steps, strict=True):
            while taken < len(months) and months[taken][0].start < step.month.start:
                month, event = months[taken]
                add(bitmaps[BitmapId(event, month)])
                taken += 1
            for part in (*step.days, *step.hours):
                for event in self.events:
                    add(bitmaps[BitmapId(event, part)])
            words = union(self.periods[index].stored_parts()).words
            result[index] = Bitmap(np.bitwise_and(words, np.invert(seen[: words.size])))
        return tuple(result[i] for i in range(len(self.periods)))


def _month_label(month: date | Period) -> datetime:
    """The naive first day of a stored month, from its label or its :class:`Period`."""
    if isinstance(month, Period):
        if month.group is not TimeGroup.MONTH:
            raise ValueError(f"stored_months lists {month}, which is not a month")
        return month.label
    if not isinstance(month, date):
        raise TypeError(f"stored_months lists {month!r}, which is not a month's date")
    return datetime(month.year, month.month, 1)


def _local_month(label: datetime, zone: tzinfo) -> Period:
    """The month of ``zone``'s calendar that a stored month's label names."""
    return Period.at(TimeGroup.MONTH, label, zone)


def first_ever_users(
    repository: BitmapRepository,
    expression: Expression,
    time_group: TimeGroup,
    periods: Sequence[Period],
    *,
    max_user_id: int | None = None,
) -> tuple[Bitmap, ...]:
    """The users whose first-ever match of ``expression`` fell in each of ``periods``:
    the repository lists the events' months, then is read once (with ``max_user_id``, no
    bitmap past that user's byte).

    Engines that need other bitmaps too should call :meth:`FirstEver.plan`, add
    :meth:`FirstEver.bitmap_ids` to their own single read, and call :meth:`FirstEver.users`.
    """
    plan = FirstEver.plan(
        expression, time_group, periods, repository.stored_months(first_ever_events(expression))
    )
    ids = plan.bitmap_ids()
    if max_user_id is None:
        stored = repository.fetch(ids)
    else:
        stored = repository.fetch(ids, max_bytes=max_user_id // 8 + 1) if ids else []
    return plan.users(dict(zip(ids, stored, strict=True)))
