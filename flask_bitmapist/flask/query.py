"""Reading the data back, with 0.1's API: user sets, event periods, chains and cohorts.

Everything here reads the current app's storage (so needs an app context) and raises
:class:`~flask_bitmapist.exceptions.StorageUnavailable` when it cannot be read.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from flask_bitmapist.domain import (
    Bitmap,
    Cohort,
    CohortMode,
    CohortSpec,
    EventRef,
    IdMapper,
    InvalidUserId,
    InvalidUserIdType,
    Period,
    TimeGroup,
    parse_chain,
    validate_stored_event_name,
)
from flask_bitmapist.exceptions import InvalidPeriod
from flask_bitmapist.flask.answers import ask, by_property
from flask_bitmapist.flask.state import current_state
from flask_bitmapist.services.cohort_requests import legacy_mode

__all__ = [
    "BitOpAnd",
    "BitOpOr",
    "BitOpXor",
    "DayEvents",
    "Events",
    "HourEvents",
    "MonthEvents",
    "UserSet",
    "WeekEvents",
    "YearEvents",
    "chain_events",
    "get_cohort",
    "get_event_data",
    "get_event_names",
]

ChainItem = Mapping[str, object]
#: 0.1's cohort: ``(cohort, dates, totals)`` (see :func:`get_cohort`).
LegacyCohort = tuple[list[list[int | None]], list[datetime], list[int]]
#: Bitmap ints turned back into the app's ids per storage call while iterating a mapped set.
_UNMAP_BATCH = 5_000


def _bitmap_of(users: object) -> Bitmap:
    if isinstance(users, UserSet):
        return users.bitmap
    if isinstance(users, Bitmap):
        return users
    raise TypeError(f"expected a user set (UserSet or Bitmap), got {users!r}")


class UserSet:
    """An immutable set of user ids, as 0.1's bitmapist collections were used.

    ``len``, ``in``, iteration in ascending id order, ``list()``, ``& | ^ -`` (with another
    user set; the result is a new ``UserSet``), ``==``; plus bitmapist's
    ``has_events_marked()``, ``get_count()`` and ``get_uuids()``.

    >>> evens, small = UserSet.of([0, 2, 4, 6]), UserSet.of([1, 2, 3, 4])
    >>> list(evens & small), len(evens | small), 6 in evens - small
    ([2, 4], 6, True)

    With ``BITMAPIST_MAP_IDS`` the sets the package returns know the app's id map: ``in``
    takes the app's ids (str, UUID, int), and iteration gives them back with the type they
    had when first marked, in the order they were first seen (ascending bitmap int). A bit
    written around the map (e.g. by bitmapist directly) comes back as its bare int. ``len``
    and the set operations work on the bitmaps and cost no lookup.
    """

    __slots__ = ("_bitmap", "_id_mapper")

    def __init__(self, bitmap: Bitmap | None = None, *, id_mapper: IdMapper | None = None) -> None:
        """Wrap a domain :class:`~flask_bitmapist.domain.Bitmap` (None: the empty set);
        ``id_mapper`` turns its ints back into the app's ids (None: they are the ids)."""
        self._bitmap = Bitmap() if bitmap is None else bitmap
        self._id_mapper = id_mapper

    @classmethod
    def of(cls, user_ids: Iterable[int]) -> UserSet:
        """The set of the given user ids."""
        return UserSet(Bitmap.from_ids(user_ids))

    @property
    def bitmap(self) -> Bitmap:
        """The domain bitmap behind the set (bitmap ints, mapped or not)."""
        return self._bitmap

    @property
    def id_mapper(self) -> IdMapper | None:
        """The id map that iteration and ``in`` go through, or None."""
        return self._id_mapper

    def __len__(self) -> int:
        return len(self._bitmap)

    def __bool__(self) -> bool:
        return bool(self._bitmap)

    def __contains__(self, user_id: object) -> bool:
        if self._id_mapper is None:
            return user_id in self._bitmap
        try:
            [number] = self._id_mapper.find([user_id])  # type: ignore[list-item]
        except (InvalidUserId, InvalidUserIdType):
            return False  # like `"x" in {1, 2}`: not a member, not an error
        return number is not None and number in self._bitmap

    # Any, not int: with mapped ids the items are the app's ids (str, UUID or int).
    def __iter__(self) -> Iterator[Any]:
        if self._id_mapper is None:
            return iter(self._bitmap)
        return self._originals(self._id_mapper)

    def _originals(self, id_mapper: IdMapper) -> Iterator[Any]:
        numbers = iter(self._bitmap)
        while batch := list(itertools.islice(numbers, _UNMAP_BATCH)):
            originals = id_mapper.originals(batch)
            yield from (n if o is None else o for n, o in zip(batch, originals, strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UserSet | Bitmap):
            return self._bitmap == _bitmap_of(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._bitmap)

    def _combine(self, other: object, op: Callable[[Bitmap, Bitmap], Bitmap]) -> UserSet:
        id_mapper = self._id_mapper or (other.id_mapper if isinstance(other, UserSet) else None)
        return UserSet(op(self._bitmap, _bitmap_of(other)), id_mapper=id_mapper)

    def __and__(self, other: UserSet | Bitmap) -> UserSet:
        return self._combine(other, Bitmap.__and__)

    def __or__(self, other: UserSet | Bitmap) -> UserSet:
        return self._combine(other, Bitmap.__or__)

    def __xor__(self, other: UserSet | Bitmap) -> UserSet:
        return self._combine(other, Bitmap.__xor__)

    def __sub__(self, other: UserSet | Bitmap) -> UserSet:
        return self._combine(other, Bitmap.__sub__)

    def has_events_marked(self) -> bool:
        """bitmapist: whether the set has any user."""
        return bool(self._bitmap)

    def get_count(self) -> int:
        """bitmapist: the number of users (``len``)."""
        return len(self._bitmap)

    def get_uuids(self) -> Iterator[Any]:
        """bitmapist: the user ids, ascending (mapped ids: as iteration gives them)."""
        return iter(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._bitmap!r})"


# -- one event in one period (bitmapist's event classes) ------------------------------------


def _calendar(now: datetime) -> dict[str, int]:
    return {"year": now.year, "month": now.month, "day": now.day, "hour": now.hour}


def _iso_calendar(now: datetime) -> dict[str, int]:
    year, week, _ = now.isocalendar()
    return {"year": year, "week": week}


def _fill(
    parts: dict[str, int | None], current: Callable[[datetime], dict[str, int]]
) -> dict[str, int]:
    """The period's components, the missing ones taken from the current time."""
    if any(value is None for value in parts.values()):
        now = current(current_state().now())
        parts = {name: now[name] if value is None else value for name, value in parts.items()}
    checked: dict[str, int] = {}
    for name, value in parts.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidPeriod(f"{name} must be an int, got {value!r}")
        checked[name] = value
    return checked


def _start(label: str, build: Callable[[], datetime]) -> datetime:
    """The naive local time a period begins at (in the app's zone, when read)."""
    try:
        return build()
    except (ValueError, OverflowError) as exc:
        raise InvalidPeriod(f"{label} does not exist: {exc}") from None


class Events(UserSet):
    """The users who did one event in one period; read from the current app when created.

    Subclasses take bitmapist's arguments: :class:`MonthEvents` ``(event, year, month)``,
    :class:`WeekEvents` ``(event, iso_year, iso_week)``, :class:`DayEvents`,
    :class:`HourEvents`, :class:`YearEvents`; a component left out (None) is taken from
    the current time. Periods are those of the app's calendar (``BITMAPIST_TIMEZONE``).
    The set is a snapshot: marks made later are not in it.
    """

    __slots__ = ("_event_name", "_period")

    #: The time group of the subclass.
    group: ClassVar[TimeGroup]

    def _load(self, event_name: object, period: Period) -> None:
        self._event_name = validate_stored_event_name(event_name)
        self._period = period
        state = current_state()
        bitmap = state.engine.users(EventRef(self._event_name), self._period)
        super().__init__(bitmap, id_mapper=state.id_mapper)

    @classmethod
    def from_date(cls, event_name: str, moment: datetime | None = None) -> Events:
        """The set for the period of this class's group containing ``moment`` (default: now).

        A naive ``moment`` is local time in the app's zone; an aware one is converted.
        """
        # state.moment refuses a non-datetime with InvalidMoment, as every other read does.
        state = current_state()
        events = cls.__new__(cls)
        events._load(event_name, Period.containing(cls.group, state.moment(moment), state.zone))
        return events

    def _load_at(self, event_name: str, label: datetime) -> None:
        """Read the period of the class's group that begins at local time ``label``."""
        self._load(event_name, Period.at(self.group, label, current_state().zone))

    @property
    def event_name(self) -> str:
        """The event's name."""
        return self._event_name

    @property
    def period(self) -> Period:
        """The period the set is for."""
        return self._period

    def period_start(self) -> datetime:
        """bitmapist: the first moment of the period (aware, in the app's zone)."""
        return self._period.start

    def period_end(self) -> datetime:
        """The first moment after the period (aware, in the app's zone)."""
        return self._period.end

    def next(self) -> Events:
        """bitmapist: the same event in the next period, read now."""
        return self._shifted(1)

    def prev(self) -> Events:
        """bitmapist: the same event in the previous period, read now."""
        return self._shifted(-1)

    def _shifted(self, periods: int) -> Events:
        """The same event ``periods`` periods later (earlier when negative), read now."""
        events = type(self).__new__(type(self))
        events._load(self._event_name, self._period.shift(periods))
        return events

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._event_name!r}, {self._period}, {self.bitmap!r})"


class YearEvents(Events):
    """``YearEvents(event, year)``: the users who did ``event`` in any month of ``year``."""

    __slots__ = ()
    group = TimeGroup.YEAR

    def __init__(self, event_name: str, year: int | None = None) -> None:
        """Read the set for ``year`` (default: this year)."""
        p = _fill({"year": year}, _calendar)
        self._load_at(event_name, _start(f"year {p['year']}", lambda: datetime(p["year"], 1, 1)))


class MonthEvents(Events):
    """``MonthEvents(event, year, month)``: ``user_id in MonthEvents("user:paid", 2026, 11)``."""

    __slots__ = ()
    group = TimeGroup.MONTH

    def __init__(self, event_name: str, year: int | None = None, month: int | None = None) -> None:
        """Read the set for that month (parts left out: the current ones)."""
        p = _fill({"year": year, "month": month}, _calendar)
        label = f"month {p['year']}-{p['month']}"
        self._load_at(event_name, _start(label, lambda: datetime(p["year"], p["month"], 1)))


class WeekEvents(Events):
    """``WeekEvents(event, iso_year, iso_week)``: ISO weeks, starting on Monday.

    The year is the ISO year: 2027-01-01 is in ``WeekEvents(event, 2026, 53)``.
    """

    __slots__ = ()
    group = TimeGroup.WEEK

    def __init__(self, event_name: str, year: int | None = None, week: int | None = None) -> None:
        """Read the set for ISO week ``week`` of ISO year ``year`` (left out: the current)."""
        p = _fill({"year": year, "week": week}, _iso_calendar)
        label = f"ISO week {p['year']}-W{p['week']}"
        self._load_at(
            event_name, _start(label, lambda: datetime.fromisocalendar(p["year"], p["week"], 1))
        )


class DayEvents(Events):
    """``DayEvents(event, year, month, day)`` (days of the app's calendar)."""

    __slots__ = ()
    group = TimeGroup.DAY

    def __init__(
        self,
        event_name: str,
        year: int | None = None,
        month: int | None = None,
        day: int | None = None,
    ) -> None:
        """Read the set for that day (parts left out: today's)."""
        p = _fill({"year": year, "month": month, "day": day}, _calendar)
        label = f"day {p['year']}-{p['month']}-{p['day']}"
        self._load_at(event_name, _start(label, lambda: datetime(p["year"], p["month"], p["day"])))


class HourEvents(Events):
    """``HourEvents(event, year, month, day, hour)`` (local hours; needs hourly tracking)."""

    __slots__ = ()
    group = TimeGroup.HOUR

    def __init__(
        self,
        event_name: str,
        year: int | None = None,
        month: int | None = None,
        day: int | None = None,
        hour: int | None = None,
    ) -> None:
        """Read the set for that hour (parts left out: the current ones)."""
        p = _fill({"year": year, "month": month, "day": day, "hour": hour}, _calendar)
        label = f"hour {p['year']}-{p['month']}-{p['day']} {p['hour']}:00"
        self._load_at(
            event_name,
            _start(label, lambda: datetime(p["year"], p["month"], p["day"], p["hour"])),
        )


_EVENTS_BY_GROUP: dict[TimeGroup, type[Events]] = {
    cls.group: cls for cls in (HourEvents, DayEvents, WeekEvents, MonthEvents, YearEvents)
}


# -- set operations (bitmapist's BitOp classes) ----------------------------------------------


class _BitOp(UserSet):
    __slots__ = ()
    _operation: ClassVar[Callable[[Bitmap, Bitmap], Bitmap]]

    def __init__(self, *user_sets: UserSet | Bitmap) -> None:
        if not user_sets:
            raise TypeError(f"{type(self).__name__} needs at least one user set")
        bitmaps = [_bitmap_of(users) for users in user_sets]
        mappers = [u.id_mapper for u in user_sets if isinstance(u, UserSet) and u.id_mapper]
        super().__init__(
            functools.reduce(type(self)._operation, bitmaps),
            id_mapper=mappers[0] if mappers else None,
        )


class BitOpAnd(_BitOp):
    """The users in every one of the given sets: ``BitOpAnd(paid, MonthEvents(...))``."""

    __slots__ = ()
    _operation = Bitmap.__and__


class BitOpOr(_BitOp):
    """The users in any of the given sets."""

    __slots__ = ()
    _operation = Bitmap.__or__


class BitOpXor(_BitOp):
    """The users in an odd number of the given sets (for two: in exactly one)."""

    __slots__ = ()
    _operation = Bitmap.__xor__


# -- 0.1's functions ----------------------------------------------------------------------


def get_event_data(
    event_name: str, time_group: str | TimeGroup = "days", now: datetime | None = None
) -> Events:
    """The users who did ``event_name`` in the ``time_group`` period containing ``now``.

    ``time_group``: ``hour(s)``, ``day(s)`` (default), ``week(s)``, ``month(s)``, ``year(s)``;
    ``now`` defaults to the current time; a naive ``now`` is local time in the app's zone
    (``BITMAPIST_TIMEZONE``), an aware one is converted. The result is a user set
    (see :class:`UserSet`)::

        popcorn = get_event_data("user:spilled_popcorn")
        user_ids = list(popcorn | get_event_data("user:spilled_cheesepuffs"))
    """
    return _EVENTS_BY_GROUP[TimeGroup.parse(time_group)].from_date(event_name, now)


def get_event_names(prefix: str = "") -> list[str]:
    """The names of every event with data in storage (starting with ``prefix``), sorted."""
    names = current_state().repository.event_names()
    return sorted(name for name in names if name.startswith(prefix))


def chain_events(
    base_event_name: str,
    events_to_chain: Sequence[ChainItem] | None,
    now: datetime | None,
    time_group: str | TimeGroup = "days",
) -> UserSet:
    """The users matching 0.1's chain in the ``time_group`` period containing ``now``.

    ``events_to_chain`` is a list of ``{"name": ..., "op": "and" | "or"}``; each OR binds
    to its immediate predecessor: ``a and b or c`` is ``a & (b | c)``, and an OR right
    after the base joins it (``a or b and c`` is ``(a | b) & c``), whether or not the base
    event has data. The list is not modified.
    """
    state = current_state()
    expression = parse_chain(base_event_name, events_to_chain or ())
    group = TimeGroup.parse(time_group)
    period = Period.containing(group, state.moment(now), state.zone)
    return UserSet(state.engine.users(expression, period), id_mapper=state.id_mapper)


@by_property
def get_cohort(
    primary_event_name: str,
    secondary_event_name: str,
    additional_events: Sequence[ChainItem] | None = None,
    time_group: str | TimeGroup = "days",
    num_rows: int = 10,
    num_cols: int = 10,
    with_replacement: bool = False,
    now: datetime | None = None,
    mode: str | CohortMode | None = None,
    first_time: bool = False,
    segment: str | None = None,
    breakdown: None = None,
) -> LegacyCohort:
    """0.1's cohort: ``(cohort, dates, totals)``.

    Rows are the ``num_rows`` periods of ``time_group`` ending with the one containing
    ``now`` (default: the current time), oldest first; ``dates`` holds their starts
    (midnight, Monday, the 1st, January 1st, or the hour). ``totals[i]`` counts the users
    who did ``primary_event_name`` in row ``i``'s period. ``cohort[i][j]`` counts those of
    them who matched the secondary chain (``secondary_event_name`` and
    ``additional_events``, as in :func:`chain_events`) ``j`` periods later; it is None
    when that period is after ``now``'s, and the whole row is None when ``totals[i]`` is 0.

    What a cell counts depends on ``mode`` (see
    :class:`~flask_bitmapist.domain.CohortMode`): by default, as in 0.1, a user counts only
    in the first column where they match (``first_return``); ``with_replacement=True`` is
    ``recurring``: every column where they match; ``mode`` (``"first_return"``,
    ``"recurring"``, ``"cumulative"``) overrides ``with_replacement``.

    With ``first_time=True`` row ``i`` holds only the users who did ``primary_event_name``
    for the first time ever in its period: everyone who did it at any earlier moment the
    storage holds (years back too) is left out, so returning customers do not hide what
    new ones do. Cells count as the mode says.

    With ``segment`` (``"plan=pro & ~beta_testers"``, see docs/segments.md) rows and cells
    count only that segment's users (first-ever history too). With ``breakdown="plan"``
    the answer is an ordered ``{value: (cohort, dates, totals)}``, one cohort per value of
    that property held by the most users, largest first, whose last key, None, holds
    everyone else (as :func:`~flask_bitmapist.get_trend` does; see docs/segments.md).

    Periods are those of the app's calendar (``BITMAPIST_TIMEZONE``, UTC by default).
    ``dates`` are naive local datetimes, as in 0.1, unless ``now`` is timezone-aware: then
    they are aware, in the app's zone. Arguments are never modified. Bad input raises a
    ``ValueError`` naming it; the size is bounded by ``BITMAPIST_MAX_COHORT_CELLS``.
    """
    state = current_state()
    chosen = legacy_mode(mode, with_replacement=with_replacement)
    moment = state.moment(now)
    spec = CohortSpec.create(
        EventRef(primary_event_name),
        parse_chain(secondary_event_name, additional_events or ()),
        now=moment,
        time_group=time_group,
        rows=num_rows,
        cols=num_cols,
        mode=chosen,
        max_cells=state.settings.max_cohort_cells,
        zone=state.zone,
        first_time=first_time,
    )
    naive = now is None or now.tzinfo is None

    def legacy(cohort: Cohort) -> LegacyCohort:
        dates = [d.replace(tzinfo=None) if naive else d for d in cohort.dates]
        return cohort.as_lists(), dates, list(cohort.totals)

    answer: LegacyCohort = ask(
        "cohort", spec=spec, segment=segment, breakdown=breakdown, shown=legacy
    )
    return answer
