"""A brute-force model of cohorts (DESIGN section 6) over Python sets.

The engine is held against this in the property tests. It shares nothing with the
engine but the expression objects it reads: its own calendar flooring, a loop over every
mark for every question, set operations for every cell, exactly as the design states them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone, tzinfo

from flask_bitmapist.domain import And, EventRef, Expression, Not, Or, TimeGroup

UTC = timezone.utc

#: (event, user id, moment): one recorded action.
Action = tuple[str, int, datetime]
#: The users matching something in the period that starts at the given moment.
UsersIn = Callable[[datetime], set[int]]
Cells = tuple[tuple[int | None, ...], ...]


@functools.lru_cache(maxsize=65_536)
def clock_reached(zone: tzinfo, moment: datetime) -> datetime:
    """The latest local time the zone's clock has shown by ``moment`` (naive).

    That is the moment's own wall time, unless the clock was just put back: then it is the
    time shown just before the change (a clock change sets it back by hours: seven at
    most so far, Antarctica/Vostok's in 1994; a day is looked back over).
    """
    moment = moment.astimezone(UTC)  # steps and comparisons by the real clock
    reached = moment.astimezone(zone).replace(tzinfo=None)
    step = timedelta(minutes=30)
    later = moment
    while later > moment - timedelta(hours=24):
        earlier = later - step
        if earlier.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
            low, high = earlier, later  # the change lies in (low, high]
            while high - low > timedelta(microseconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == earlier.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            reached = max(reached, low.astimezone(zone).replace(tzinfo=None))
        later = earlier
    return reached


def floor(group: TimeGroup, moment: datetime, zone: tzinfo = UTC) -> datetime:
    """The start of the ``group`` period containing ``moment`` in ``zone``'s calendar.

    In UTC it is an aware datetime (naive ``moment`` means UTC). In another zone it is the
    naive local wall time the period begins at, which names its key (naive ``moment`` is
    a local wall time there, taken as it is): written with nothing but the wall clock, read
    as the latest time it has shown (:func:`clock_reached`).
    """
    if moment.tzinfo is None:
        # A naive time is a wall time already (row_starts steps back through them).
        m = moment
    elif zone is UTC:
        m = moment.astimezone(UTC)
    else:
        # The clock's reading, or the later one it showed just before being put back
        # across a period's start (Pacific/Chatham's 03:45 -> 02:45 each autumn).
        m = clock_reached(zone, moment)
    if group is TimeGroup.HOUR:
        start = datetime(m.year, m.month, m.day, m.hour)
    elif group is TimeGroup.DAY:
        start = datetime(m.year, m.month, m.day)
    elif group is TimeGroup.WEEK:
        start = datetime(m.year, m.month, m.day) - timedelta(days=m.weekday())
    elif group is TimeGroup.MONTH:
        start = datetime(m.year, m.month, 1)
    else:
        start = datetime(m.year, 1, 1)
    return start.replace(tzinfo=UTC) if zone is UTC else start


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def row_starts(group: TimeGroup, now: datetime, rows: int, zone: tzinfo = UTC) -> list[datetime]:
    """The starts of the ``rows`` periods ending with the one containing ``now``, oldest first."""
    starts = [floor(group, now, zone)]
    while len(starts) < rows:
        # The period just before is the one containing the instant before this start.
        starts.append(floor(group, starts[-1] - timedelta(microseconds=1), zone))
    return starts[::-1]


class SetModel:
    """Answers every question by looping over the recorded actions."""

    def __init__(self, actions: Iterable[Action], zone: tzinfo = UTC) -> None:
        self.actions = list(actions)
        self.zone = zone
        self._done: dict[TimeGroup, dict[tuple[str, datetime], set[int]]] = {}

    def did(self, event: str, group: TimeGroup, start: datetime) -> set[int]:
        """The users who did ``event`` in the ``group`` period starting at ``start``."""
        if group not in self._done:
            # One pass over the actions per group: who did what in which period.
            done: dict[tuple[str, datetime], set[int]] = {}
            for name, user, moment in self.actions:
                done.setdefault((name, floor(group, moment, self.zone)), set()).add(user)
            self._done[group] = done
        return set(self._done[group].get((event, start), set()))

    def first_ever(self, events: Iterable[str], group: TimeGroup, start: datetime) -> set[int]:
        """The users who did one of ``events`` in the ``group`` period starting at ``start``
        and none of them at any moment before ``start`` (DESIGN section 10, item 1)."""
        names = set(events)
        during: set[int] = set()
        for name in names:
            during |= self.did(name, group, start)
        before = {
            user
            for name, user, moment in self.actions
            if name in names and self.is_before(moment, start)
        }
        return during - before

    def is_before(self, moment: datetime, start: datetime) -> bool:
        """Whether ``moment`` lies before the period starting at ``start`` (as
        :func:`floor` gives it: aware in UTC, else the naive local time it begins at).

        In a zone, that is whether the clock had not yet shown ``start`` by ``moment``."""
        if start.tzinfo is not None:
            return _aware(moment) < start
        if moment.tzinfo is None:
            return moment < start
        return clock_reached(self.zone, moment) < start

    def evaluate(self, expr: Expression, group: TimeGroup, start: datetime) -> set[int]:
        """The users matching ``expr`` in one period (DESIGN section 5)."""
        if isinstance(expr, EventRef):
            return self.did(expr.name, group, start)
        if isinstance(expr, Or):
            found: set[int] = set()
            for term in expr.terms:
                found |= self.evaluate(term, group, start)
            return found
        if isinstance(expr, And):
            positive = [t for t in expr.terms if not isinstance(t, Not)]
            negated = [t.term for t in expr.terms if isinstance(t, Not)]
            found = self.evaluate(positive[0], group, start)
            for term in positive[1:]:
                found &= self.evaluate(term, group, start)
            for term in negated:
                found -= self.evaluate(term, group, start)
            return found
        raise AssertionError(f"a lone negation has no users: {expr}")

    def chain(
        self, secondary: str, steps: Sequence[tuple[str, str]], group: TimeGroup, start: datetime
    ) -> set[int]:
        """0.1's chain, read as the design states it: each OR joins its predecessor.

        ``steps`` is ``[(op, name), ...]``. Consecutive OR-joined events form one union,
        and the unions are intersected.
        """
        unions = [self.did(secondary, group, start)]
        for op, name in steps:
            users = self.did(name, group, start)
            if op.strip().lower() == "or":
                unions[-1] = unions[-1] | users
            else:
                unions.append(users)
        found = unions[0]
        for users in unions[1:]:
            found = found & users
        return found

    def users_of(self, expr: Expression, group: TimeGroup) -> UsersIn:
        """``expr`` as a function of the period start."""
        return lambda start: self.evaluate(expr, group, start)


def cohort(
    primary: UsersIn,
    secondary: UsersIn,
    group: TimeGroup,
    now: datetime,
    rows: int,
    cols: int,
    mode: str,
    zone: tzinfo = UTC,
) -> tuple[tuple[datetime, ...], tuple[int, ...], Cells]:
    """``(dates, totals, cells)`` of a cohort, cell by cell from DESIGN section 6."""
    starts = row_starts(group, now, rows, zone)
    p = [primary(start) for start in starts]
    s = [secondary(start) for start in starts]
    cells: list[tuple[int | None, ...]] = []
    for i in range(rows):
        row: list[int | None] = []
        for j in range(cols):
            k = i + j
            if not p[i] or k >= rows:  # an empty cohort, or a period after now's
                row.append(None)
            else:
                row.append(len(cell_users(p, s, i, j, mode)))
        cells.append(tuple(row))
    return tuple(starts), tuple(len(users) for users in p), tuple(cells)


def cell_users(p: Sequence[set[int]], s: Sequence[set[int]], i: int, j: int, mode: str) -> set[int]:
    """The users cell (i, j) counts, given P and S per row period."""
    k = i + j
    if mode == "recurring":
        return p[i] & s[k]
    if mode == "first_return":
        earlier: set[int] = set()
        for before in range(i, k):
            earlier |= s[before]
        return (p[i] & s[k]) - earlier
    if mode == "cumulative":
        later: set[int] = set()
        for after in range(k, len(s)):
            later |= s[after]
        return p[i] & later
    raise AssertionError(f"unknown mode {mode}")


def stickiness(
    users_in: UsersIn, group: TimeGroup, now: datetime, periods: int, zone: tzinfo = UTC
) -> list[int]:
    """``counts[k - 1]``: users in exactly k of the window's periods (DESIGN 10.4)."""
    seen: dict[int, int] = {}
    for start in row_starts(group, now, periods, zone):
        for user in users_in(start):
            seen[user] = seen.get(user, 0) + 1
    return [sum(1 for n in seen.values() if n == k) for k in range(1, periods + 1)]


def funnel_reached(
    steps: Sequence[UsersIn], group: TimeGroup, now: datetime, periods: int, zone: tzinfo = UTC
) -> list[set[int]]:
    """The users who reached each step, user by user as DESIGN 10.5 states it: step 1 in
    the first period of the window where they match it, step k in the first period at or
    after the one where they reached step k - 1."""
    starts = row_starts(group, now, periods, zone)
    matched = [[users_in(start) for start in starts] for users_in in steps]
    everyone: set[int] = set().union(*(s for per_step in matched for s in per_step))
    reached: list[set[int]] = [set() for _ in steps]
    for user in everyone:
        since = 0  # the period index the user reached the previous step in
        for k, per_period in enumerate(matched):
            when = next((t for t in range(since, len(starts)) if user in per_period[t]), None)
            if when is None:
                break
            reached[k].add(user)
            since = when
    return reached


def trend_users(
    model: SetModel, expr: Expression, group: TimeGroup, now: datetime, n: int, rolling: int
) -> list[set[int]]:
    """Per period of the window, the users matching ``expr`` in any of the ``rolling``
    periods ending with it (DESIGN section 10, item 2)."""
    starts = row_starts(group, now, n + rolling - 1, model.zone)
    matched = [model.evaluate(expr, group, start) for start in starts]
    found: list[set[int]] = []
    for k in range(n):
        users: set[int] = set()
        for j in range(k, k + rolling):
            users |= matched[j]
        found.append(users)
    return found


def lifecycle_users(
    model: SetModel, expr: Expression, group: TimeGroup, now: datetime, n: int
) -> dict[str, list[set[int]]]:
    """Per period of the window, the users of each lifecycle status (section 10, item 3)."""
    starts = row_starts(group, now, n + 1, model.zone)
    matched = [model.evaluate(expr, group, start) for start in starts]
    statuses: dict[str, list[set[int]]] = {
        "new": [],
        "returning": [],
        "resurrecting": [],
        "dormant": [],
    }
    for k in range(1, n + 1):
        new = model.first_ever(expr.events(), group, starts[k])
        current, previous = matched[k], matched[k - 1]
        statuses["new"].append(new)
        statuses["returning"].append(current & previous)
        statuses["resurrecting"].append(current - previous - new)
        statuses["dormant"].append(previous - current)
    return statuses
