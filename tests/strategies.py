"""The hypothesis strategies and scenario helpers the property tests share (as attrs keeps
its own in ``tests/strategies.py``): random actions, expressions, histories, zones."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import attrs
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    And,
    CohortEngine,
    CohortMode,
    EventRef,
    Expression,
    Mark,
    Not,
    Or,
    TimeGroup,
)
from flask_bitmapist.infra import InMemoryRepository
from tests.unit.domain.set_model import Action

UTC = timezone.utc

# A few events; two of them need quoting in the text form.
EVENTS = ("a", "b", "user:paid", "x&y", "or")


# Moments where calendars are tricky: new year (ISO week 53 and week 1), month ends,
# leap days, the non-leap 2100.
ANCHORS = (
    datetime(2026, 12, 31, 23, 30),
    datetime(2027, 1, 1, 0, 15),
    datetime(2027, 1, 4, 0, 0),
    datetime(2021, 1, 1, 12, 0),
    datetime(2021, 1, 4, 0, 30),
    datetime(2024, 2, 29, 23, 59),
    datetime(2024, 3, 1, 0, 0),
    datetime(2100, 3, 1, 1, 0),
    datetime(2026, 3, 31, 23, 0),
    datetime(2026, 4, 30, 22, 0),
    datetime(2026, 11, 27, 13, 45),
)


OFFSETS = (timedelta(0), timedelta(hours=9), timedelta(hours=-5), timedelta(hours=5, minutes=30))


# Roughly one period of each group, in seconds, to spread actions over the rows.
UNIT = {
    TimeGroup.HOUR: 3600,
    TimeGroup.DAY: 86_400,
    TimeGroup.WEEK: 7 * 86_400,
    TimeGroup.MONTH: 31 * 86_400,
    TimeGroup.YEAR: 366 * 86_400,
}


@attrs.frozen
class Scenario:
    """Random actions around a random ``now``, and the shape of a cohort over them."""

    group: TimeGroup
    now: datetime
    rows: int
    cols: int
    mode: CohortMode
    actions: tuple[Action, ...]


@st.composite
def group_and_now(draw: st.DrawFn) -> tuple[TimeGroup, datetime]:
    """A time group and an aware ``now``: an anchor at a calendar edge or any moment from
    2019 to 2031, at an offset east or west of UTC (the offset moves the instant, which is
    fine)."""
    group = draw(st.sampled_from(list(TimeGroup)))
    anchor = draw(
        st.one_of(
            st.sampled_from(ANCHORS),
            st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2031, 12, 31)),
        )
    )
    return group, anchor.replace(tzinfo=timezone(draw(st.sampled_from(OFFSETS))))


@st.composite
def scenarios(draw: st.DrawFn, events: tuple[str, ...] = EVENTS, crowd: int = 300) -> Scenario:
    """Actions of ``events`` by users up to ``crowd`` around a random ``now``."""
    group, now = draw(group_and_now())
    rows = draw(st.integers(min_value=1, max_value=7))
    cols = draw(st.integers(min_value=1, max_value=8))
    unit = UNIT[group]
    # Mostly within the rows, some a little before the first and after now's period.
    offsets = st.integers(min_value=-(rows + 1) * unit, max_value=2 * unit)
    # Mostly a small pool of users, so that events overlap and cells are not all 0.
    users = st.one_of(st.integers(min_value=0, max_value=10), st.integers(0, crowd))
    # Drawn count first: left to itself, hypothesis keeps lists short.
    count = draw(st.integers(min_value=0, max_value=150))
    actions = draw(
        st.lists(
            st.tuples(st.sampled_from(events), users, offsets).map(
                lambda t: (t[0], t[1], now + timedelta(seconds=t[2]))
            ),
            min_size=count,
            max_size=count,
        )
    )
    mode = draw(st.sampled_from(list(CohortMode)))
    return Scenario(group, now, rows, cols, mode, tuple(actions))


def positive_expressions() -> st.SearchStrategy[Expression]:
    """Random expression trees; a negation appears only as a term of an And that also has a
    positive term (the only place it means something)."""

    def extend(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
        @st.composite
        def and_(draw: st.DrawFn) -> Expression:
            positives = draw(st.lists(children, min_size=1, max_size=3))
            negated = [Not(term) for term in draw(st.lists(children, max_size=2))]
            terms = [*positives, *negated]
            if len(terms) == 1:
                return terms[0]
            return And(tuple(draw(st.permutations(terms))))

        ors = st.lists(children, min_size=2, max_size=3).map(lambda terms: Or(tuple(terms)))
        return st.one_of(ors, and_())

    leaves: st.SearchStrategy[Expression] = st.sampled_from(EVENTS).map(EventRef)
    return st.recursive(leaves, extend, max_leaves=7)


def engine_over(scenario: Scenario) -> CohortEngine:
    repository = InMemoryRepository()
    repository.mark(
        [Mark.create(event, user, moment, hourly=True) for event, user, moment in scenario.actions]
    )
    return CohortEngine(repository)


HISTORY_EVENTS = ("a", "b", "c")


def unions_of_events() -> st.SearchStrategy[Expression]:
    """An event, or an OR of events (nested ORs too)."""
    leaves: st.SearchStrategy[Expression] = st.sampled_from(HISTORY_EVENTS).map(EventRef)
    return st.recursive(
        leaves,
        lambda children: st.lists(children, min_size=2, max_size=3).map(lambda t: Or(tuple(t))),
        max_leaves=4,
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[TimeGroup, datetime, int, list[tuple[str, int, datetime]]]:
    """A group, a ``now``, a window length, and actions from up to three years before the
    window to just after ``now``: many users' first time falls before the window."""
    group, now = draw(group_and_now())
    periods = draw(st.integers(min_value=1, max_value=6))
    unit = UNIT[group]
    window = st.integers(min_value=-(periods + 1) * unit, max_value=2 * unit)
    # Long before the window: other months, other (ISO) years.
    long_ago = st.integers(min_value=-3 * 366 * 86_400, max_value=0)
    users = st.integers(min_value=0, max_value=12)
    count = draw(st.integers(min_value=0, max_value=80))
    actions = draw(
        st.lists(
            st.tuples(
                st.sampled_from(HISTORY_EVENTS), users, st.one_of(window, window, long_ago)
            ).map(lambda t: (t[0], t[1], now + timedelta(seconds=t[2]))),
            min_size=count,
            max_size=count,
        )
    )
    return group, now, periods, actions


#: Offsets of half and three quarters of an hour, with and without daylight saving.
ODD_ZONES = (
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Eucla",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "Australia/Adelaide",
    "America/St_Johns",
    "Asia/Tehran",
)


#: Zones whose clocks change, north and south of the equator.
DST_ZONES = (
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "America/Santiago",
    "Pacific/Auckland",
    "Africa/Casablanca",
    *ODD_ZONES,
)


ALL_ZONES = sorted(available_timezones())


@cache
def clock_changes(name: str, year: int) -> tuple[datetime, ...]:
    """The moments (UTC) at which the zone's offset changes during ``year``."""
    zone = ZoneInfo(name)
    found: list[datetime] = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment.year == year:
        later = moment + timedelta(days=3)
        if later.astimezone(zone).utcoffset() != offset:
            low, high = moment, later
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append(high)
            offset = later.astimezone(zone).utcoffset()
        moment = later
    return tuple(found)
