"""First-ever matches agree with a brute-force set model, read what they must and no more."""

from __future__ import annotations

import doctest
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flask_bitmapist.domain.history as history
from flask_bitmapist.domain import (
    And,
    Bitmap,
    BitmapId,
    BitmapRepository,
    EventRef,
    Expression,
    InvalidExpression,
    Mark,
    Not,
    Or,
    Period,
    TimeGroup,
    parse_expression,
)
from flask_bitmapist.domain.history import FirstEver, first_ever_events, first_ever_users
from flask_bitmapist.infra import InMemoryRepository
from tests.strategies import histories, unions_of_events
from tests.unit.domain.set_model import SetModel, row_starts

UTC = timezone.utc


class CountingRepository(InMemoryRepository):
    """Records every fetch and listing."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches: list[list[BitmapId]] = []
        self.listings = 0

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self.fetches.append(list(ids))
        return super().fetch(ids, max_bytes=max_bytes)

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        self.listings += 1
        return super().stored_months(events)


def window(group: TimeGroup, now: datetime, n: int) -> list[Period]:
    last = Period.containing(group, now)
    return [last.shift(i - n + 1) for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(histories(), unions_of_events(), st.randoms(use_true_random=False))
def test_first_ever_matches_agree_with_the_set_model(
    scenario: tuple[TimeGroup, datetime, int, list[tuple[str, int, datetime]]],
    expression: Expression,
    shuffler: object,
) -> None:
    group, now, n, actions = scenario
    repository = CountingRepository()
    repository.mark([Mark.create(e, u, t, hourly=True) for e, u, t in actions])
    model = SetModel(actions)
    periods = window(group, now, n)
    # Any order of periods: the answer follows the order asked.
    shuffled = list(periods)
    shuffler.shuffle(shuffled)  # type: ignore[attr-defined]

    found = first_ever_users(repository, expression, group, shuffled)

    expected = {
        start: model.first_ever(expression.events(), group, start)
        for start in row_starts(group, now, n)
    }
    assert [set(users) for users in found] == [expected[p.start] for p in shuffled]
    assert repository.listings == 1
    assert len(repository.fetches) == 1
    fetched = repository.fetches[0]
    assert len(fetched) == len(set(fetched))


@settings(max_examples=60, deadline=None)
@given(histories(), unions_of_events())
def test_reading_every_stored_month_is_what_bounds_history(
    scenario: tuple[TimeGroup, datetime, int, list[tuple[str, int, datetime]]],
    expression: Expression,
) -> None:
    # The months read are exactly the stored ones before the last period's month.
    group, now, n, actions = scenario
    repository = InMemoryRepository()
    repository.mark([Mark.create(e, u, t, hourly=True) for e, u, t in actions])
    periods = window(group, now, n)
    events = first_ever_events(expression)
    plan = FirstEver.plan(expression, group, periods, repository.stored_months(events))
    last_month = Period.containing(TimeGroup.MONTH, periods[-1].start)
    months_read = {
        (i.event, i.period)
        for i in plan.bitmap_ids()
        if i.period is not None and i.period.group is TimeGroup.MONTH
    }
    own = {(e, part) for p in periods for part in p.stored_parts() for e in events}
    stored_before = {
        (e, Period.containing(TimeGroup.MONTH, t))
        for e, _, t in actions
        if e in events and Period.containing(TimeGroup.MONTH, t).start < last_month.start
    }
    assert stored_before <= months_read
    assert months_read - own <= stored_before


def test_a_user_seen_years_earlier_is_not_new() -> None:
    repository = InMemoryRepository()
    repository.mark(
        [
            Mark.create("signup", 1, datetime(2019, 6, 3, 10)),
            Mark.create("signup", 1, datetime(2026, 11, 27, 10)),
            Mark.create("signup", 2, datetime(2026, 11, 27, 11)),
        ]
    )
    day = Period.containing(TimeGroup.DAY, datetime(2026, 11, 27))
    [new] = first_ever_users(repository, EventRef("signup"), TimeGroup.DAY, [day])
    assert list(new) == [2]


def test_a_month_listed_without_its_zone_is_the_local_month_of_that_name() -> None:
    # Storage read back (Redis, SQLite) lists months by key, in UTC: west of UTC, the
    # UTC start of January sorts before the local January, which must not count as earlier.
    la = ZoneInfo("America/Los_Angeles")
    hour = Period.containing(TimeGroup.HOUR, datetime(2024, 1, 1, 0, 30, tzinfo=la))
    utc_january = Period.containing(TimeGroup.MONTH, datetime(2024, 1, 15))
    plan = FirstEver.plan(EventRef("signup"), TimeGroup.HOUR, [hour], {"signup": [utc_january]})
    # User 7 signed up in that hour, so is in January's bitmap too (keys, not zones, match).
    seen = {hour.key_suffix, utc_january.key_suffix}
    bitmaps = {i: Bitmap.from_ids([7] if i.key_suffix in seen else []) for i in plan.bitmap_ids()}
    [new] = plan.users(bitmaps)
    assert list(new) == [7]


def test_earlier_hours_of_the_same_day_count_as_earlier() -> None:
    repository = InMemoryRepository()
    repository.mark(
        [
            Mark.create("visit", 1, datetime(2026, 11, 27, 9, 5), hourly=True),
            Mark.create("visit", 1, datetime(2026, 11, 27, 14, 5), hourly=True),
            Mark.create("visit", 2, datetime(2026, 11, 27, 14, 30), hourly=True),
        ]
    )
    hours = window(TimeGroup.HOUR, datetime(2026, 11, 27, 14, 59), 6)
    found = first_ever_users(repository, EventRef("visit"), TimeGroup.HOUR, hours)
    assert [list(users) for users in found] == [[1], [], [], [], [], [2]]


def test_an_or_counts_a_user_once_at_their_first_match_of_any_term() -> None:
    repository = InMemoryRepository()
    repository.mark(
        [
            Mark.create("a", 1, datetime(2026, 10, 30)),
            Mark.create("b", 1, datetime(2026, 11, 2)),
            Mark.create("b", 2, datetime(2026, 11, 2)),
        ]
    )
    days = window(TimeGroup.DAY, datetime(2026, 11, 2), 5)
    found = first_ever_users(repository, parse_expression("a | b"), TimeGroup.DAY, days)
    assert [list(users) for users in found] == [[], [1], [], [], [2]]


def test_whole_earlier_months_are_read_by_their_month_keys() -> None:
    months = {"a": [Period.containing(TimeGroup.MONTH, datetime(2025, m, 1)) for m in (3, 12)]}
    day = Period.containing(TimeGroup.DAY, datetime(2026, 1, 3))
    plan = FirstEver.plan(EventRef("a"), TimeGroup.DAY, [day], months)
    assert [str(i.period) for i in plan.bitmap_ids()] == [
        "month 2025-3",
        "month 2025-12",
        "day 2026-1-1",
        "day 2026-1-2",
        "day 2026-1-3",
    ]


def test_a_week_starting_in_the_previous_month_reads_that_months_earlier_days() -> None:
    week = Period.containing(TimeGroup.WEEK, datetime(2027, 1, 1))  # Monday 2026-12-28
    plan = FirstEver.plan(EventRef("a"), TimeGroup.WEEK, [week], {})
    ids = [str(i.period) for i in plan.bitmap_ids()]
    assert ids == [f"day 2026-12-{d}" for d in range(1, 28)] + ["week W2026-53"]


@pytest.mark.parametrize(
    "expression",
    [
        And((EventRef("a"), EventRef("b"))),
        And((EventRef("a"), Not(EventRef("b")))),
        Or((EventRef("a"), And((EventRef("b"), EventRef("c"))))),
    ],
    ids=str,
)
def test_only_an_event_or_an_or_of_events_has_a_first_ever_match(expression: Expression) -> None:
    with pytest.raises(InvalidExpression, match="only an event or an OR of events"):
        first_ever_events(expression)
    with pytest.raises(InvalidExpression, match=re.escape(str(expression))):
        FirstEver.plan(expression, TimeGroup.DAY, [], {})


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Tokyo", "Pacific/Chatham"])
def test_stored_months_are_read_as_months_of_the_periods_zone(zone: str) -> None:
    # A key names a month of the app's calendar: west of UTC, a UTC November began hours
    # before the local one and once counted as history of November's own days (issue 19).
    local = ZoneInfo(zone)
    days = [Period.containing(TimeGroup.DAY, datetime(2026, 11, d, 9), local) for d in (10, 11)]
    utc_months = [Period.containing(TimeGroup.MONTH, datetime(2026, m, 15)) for m in (10, 11)]
    for months in ([date(2026, 10, 1), date(2026, 11, 1)], utc_months):
        plan = FirstEver.plan(EventRef("act"), TimeGroup.DAY, days, {"act": months})
        [october] = plan.months["act"]
        assert october == Period.at(TimeGroup.MONTH, datetime(2026, 10, 1), local)
        assert october.start.tzinfo is local


def test_periods_of_another_group_are_refused() -> None:
    day = Period.containing(TimeGroup.DAY, datetime(2026, 11, 27))
    with pytest.raises(ValueError, match="day 2026-11-27 is not a period of weeks"):
        FirstEver.plan(EventRef("a"), TimeGroup.WEEK, [day], {})


def test_a_repository_without_a_month_listing_says_what_it_lacks() -> None:
    class Minimal(BitmapRepository):
        def mark(self, marks: object) -> None: ...
        def unmark(self, marks: object) -> None: ...
        def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
            return [Bitmap() for _ in ids]

        def event_names(self) -> frozenset[str]:
            return frozenset()

    day = Period.containing(TimeGroup.DAY, datetime(2026, 11, 27, tzinfo=UTC))
    with pytest.raises(NotImplementedError, match="Minimal does not implement stored_months"):
        first_ever_users(Minimal(), EventRef("a"), TimeGroup.DAY, [day])


def test_the_module_examples_run() -> None:
    failed, attempted = doctest.testmod(history)
    assert attempted > 0
    assert failed == 0
