"""What an answer page shows before anyone asks: defaults chosen from the stored data.

Every dashboard page opens with an answer (see docs/answers.md, "The first screen"):

- the most active events: each event's users in this month and the last, one bitmap
  per event and month, of the :data:`MAX_CANDIDATES` most recently active events (the
  events page's bounded listing, :func:`~flask_bitmapist.services.event_listing.page_events`);
- the first event: of the :data:`TOP_EVENTS` most active, the most common one that users
  do once (in last week's bitmaps, its users over its user-days is at least
  :data:`ONCE_RATIO`: a sign-up, not a login); the most active event when none is;
- the activity: the most active event other than the first;
- a funnel: the first event, then the other active events, most users first (fewer users
  reach a later step).

At most ``2 * MAX_CANDIDATES + 8 * TOP_EVENTS`` bitmaps are counted, in two batched calls
(on Redis, ``BITCOUNT``: numbers come back, not bitmaps), after one bounded listing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import attrs

from flask_bitmapist.domain import CohortEngine, EventRef, InvalidEventName, Period, TimeGroup
from flask_bitmapist.services.event_listing import page_events

__all__ = ["MAX_CANDIDATES", "ONCE_RATIO", "TOP_EVENTS", "Defaults", "choose_defaults"]

#: Events counted to find the most active ones (the most recently active this many).
MAX_CANDIDATES: Final = 50
#: Events looked at for the first event, the trend and the funnel.
TOP_EVENTS: Final = 4
#: Users over user-days at or above which an event counts as done once.
ONCE_RATIO: Final = 0.9
_TREND_SERIES: Final = 3
_DAYS_PER_WEEK: Final = 7


@attrs.frozen
class Defaults:
    """The events a first screen shows: ``active`` (most active first), ``first`` (what
    users do first) and ``activity`` (what they keep doing); empty without data."""

    active: tuple[str, ...] = ()
    first: str = ""
    activity: str = ""

    @property
    def funnel(self) -> tuple[str, ...]:
        """The funnel's steps: the first event, then the other active ones."""
        if not self.first:
            return ()
        return (self.first, *(name for name in self.active if name != self.first))

    def partner(self, name: str) -> str:
        """What to hold ``name``'s users against in a cohort: the activity, or (``name``
        being the activity) the most active other event; ``name`` when there is none."""
        others = [self.activity, *self.active]
        return next((other for other in others if other and other != name), name)

    def example(self, op: str = "|") -> str:
        """An expression joining the two most active events with ``op`` (``&``, ``|``,
        ``& ~``), for a form's placeholder: it names only stored events ("" without)."""
        names = [_expr(name) for name in self.active[:2]]
        if len(names) < 2:
            return names[0] if names else ""
        return f"{names[0]} {op}{'' if op.endswith('~') else ' '}{names[1]}"

    def fields(self, kind: str) -> dict[str, object]:
        """The request fields of ``kind``'s default answer, as its form reads them from a
        query string (event names written as expressions); ``{}`` without data."""
        if not self.active:
            return {}
        exprs = [_expr(name) for name in self.active]
        activity = _expr(self.activity)
        fields: dict[str, dict[str, object]] = {
            "trend": {"expr": exprs[:_TREND_SERIES], "time_group": "day", "periods": "30"},
            "lifecycle": {"expr": [activity], "time_group": "day", "periods": "30"},
            "stickiness": {"expr": activity, "time_group": "week", "periods": "4"},
            "funnel": {"step": [_expr(name) for name in self.funnel], "time_group": "day"},
            "cohort": {
                "primary": self.first,
                "secondary": self.activity,
                "time_group": "day",
                "rows": "14",
                "cols": "14",
                "mode": "recurring",
                "as_percent": "1",
            },
        }
        return fields[kind]


def choose_defaults(engine: CohortEngine, now: datetime) -> Defaults:
    """The events the first screens show, chosen from what ``engine`` stores as of
    ``now`` (see the module's docstring for the rules and what they read)."""
    names = sorted(page_events(engine.repository, per_page=MAX_CANDIDATES).names)
    month = Period.containing(TimeGroup.MONTH, now)
    counts = engine.counts(names, [month, month.shift(-1)])
    recent = {name: counts[(name, month)] + counts[(name, month.shift(-1))] for name in names}
    usable = [name for name in names if recent[name] > 0 and _written(name)]
    active = tuple(sorted(usable, key=lambda name: (-recent[name], name))[:TOP_EVENTS])
    if not active:
        return Defaults()
    first = _first_event(engine, active, now)
    others = [name for name in active if name != first]
    return Defaults(active=active, first=first, activity=others[0] if others else first)


def _first_event(engine: CohortEngine, active: tuple[str, ...], now: datetime) -> str:
    """Of ``active`` (most active first), the first done once in last week; else the
    most active."""
    week = Period.containing(TimeGroup.WEEK, now).shift(-1)
    first_day = Period.containing(TimeGroup.DAY, week.start)
    days = [first_day.shift(k) for k in range(_DAYS_PER_WEEK)]
    counts = engine.counts(active, [week, *days])
    for name in active:
        users = counts[(name, week)]
        user_days = sum(counts[(name, day)] for day in days)
        if users and users >= ONCE_RATIO * user_days:
            return name
    return active[0]


def _written(name: str) -> bool:
    """Whether ``name`` can be written as an expression (a stored name might not)."""
    try:
        EventRef(name)
    except InvalidEventName:
        return False
    return True


def _expr(name: str) -> str:
    return str(EventRef(name))
