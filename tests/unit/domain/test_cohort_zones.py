"""Cohorts in a time zone: the same marks, two calendars, each held against the set model.

The model (tests/unit/domain/set_model.py) floors every moment by its local wall clock,
with no Period at all; the engine reads the bitmaps the marks wrote in that zone's keys.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    UTC,
    CohortEngine,
    CohortSpec,
    EventRef,
    Mark,
    TimeGroup,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository
from tests.strategies import ALL_ZONES, DST_ZONES, clock_changes
from tests.unit.domain.set_model import Action, SetModel, cohort

SPANS = {
    TimeGroup.HOUR: timedelta(hours=30),
    TimeGroup.DAY: timedelta(days=10),
    TimeGroup.WEEK: timedelta(weeks=8),
    TimeGroup.MONTH: timedelta(days=240),
    TimeGroup.YEAR: timedelta(days=1000),
}
SIGNUP, ACTIVE = EventRef("signup"), EventRef("active")
ACTIVE_NOT_BANNED = parse_expression("active & ~banned")


def computed(
    actions: list[Action],
    zone: tzinfo,
    now: datetime,
    group: TimeGroup,
    rows: int,
    cols: int,
    mode: str,
) -> tuple[tuple[datetime, ...], tuple[int, ...], tuple[tuple[int | None, ...], ...]]:
    """The engine's cohort over marks written in ``zone``'s calendar, ``now`` as the app
    passes it: the current time in that zone, which carries the calendar."""
    repository = InMemoryRepository()
    repository.mark(Mark.create(e, u, t, hourly=True, zone=zone) for e, u, t in actions)
    spec = CohortSpec.create(
        SIGNUP,
        ACTIVE_NOT_BANNED,
        now=now.astimezone(zone),
        time_group=group,
        rows=rows,
        cols=cols,
        mode=mode,
    )
    result = CohortEngine(repository).compute(spec)
    return result.dates, result.totals, result.cells


def assert_starts_at(date: datetime, label: datetime, zone: tzinfo) -> None:
    """``date`` is the first moment whose local clock shows ``label`` or later."""
    instant = date.astimezone(timezone.utc)
    assert instant.astimezone(zone).replace(tzinfo=None) >= label
    before = instant - timedelta(microseconds=1)
    assert before.astimezone(zone).replace(tzinfo=None) < label


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ZoneInfo, datetime, TimeGroup, list[Action]]:
    name = draw(st.sampled_from(DST_ZONES) | st.sampled_from(ALL_ZONES))
    group = draw(st.sampled_from(list(TimeGroup)))
    year = draw(st.integers(2000, 2040))
    changes = clock_changes(name, year)
    if len(changes) > 0 and draw(st.booleans()):
        anchor = draw(st.sampled_from(changes))
    else:
        anchor = datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(
            days=draw(st.integers(0, 364))
        )
    span = SPANS[group]
    now = anchor + timedelta(seconds=draw(st.integers(0, int(span.total_seconds() / 2))))
    seconds = st.integers(0, int(span.total_seconds()))
    actions = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["signup", "active", "banned"]),
                st.integers(0, 12),
                seconds.map(lambda s: now - timedelta(seconds=s)),
            ),
            min_size=8,
            max_size=40,
        )
    )
    return ZoneInfo(name), now, group, actions


@settings(max_examples=150, deadline=None)
@given(
    scenarios(),
    st.integers(1, 6),
    st.integers(1, 6),
    st.sampled_from(["first_return", "recurring", "cumulative"]),
)
def test_the_same_marks_in_two_zones_differ_exactly_where_the_model_says(
    scenario: tuple[ZoneInfo, datetime, TimeGroup, list[Action]], rows: int, cols: int, mode: str
) -> None:
    zone, now, group, actions = scenario

    answers = {}
    for calendar in (zone, UTC):
        model = SetModel(actions, calendar)
        expected = cohort(
            model.users_of(SIGNUP, group),
            model.users_of(ACTIVE_NOT_BANNED, group),
            group,
            now,
            rows,
            cols,
            mode,
            calendar,
        )
        got = computed(actions, calendar, now, group, rows, cols, mode)
        assert got[1:] == expected[1:]
        for date, label in zip(got[0], expected[0], strict=True):
            if calendar is UTC:
                assert date == label
            else:
                assert_starts_at(date, label, calendar)
        answers[calendar] = (expected, got)
    (local_model, local), (utc_model, in_utc) = answers[zone], answers[UTC]
    for i in range(rows):
        assert (local[1][i] != in_utc[1][i]) == (local_model[1][i] != utc_model[1][i])
        for j in range(cols):
            differ = local[2][i][j] != in_utc[2][i][j]
            assert differ == (local_model[2][i][j] != utc_model[2][i][j])


def test_a_late_evening_sign_up_is_a_different_days_row_in_los_angeles() -> None:
    la = ZoneInfo("America/Los_Angeles")
    now = datetime(2026, 12, 2, 20, tzinfo=timezone.utc)  # noon in Los Angeles
    actions: list[Action] = [
        ("signup", 1, datetime(2026, 12, 1, 6, 30, tzinfo=timezone.utc)),  # 30 Nov, 22:30 LA
        ("active", 1, datetime(2026, 12, 1, 9, tzinfo=timezone.utc)),  # 1 Dec, 01:00 LA
        ("signup", 2, datetime(2026, 12, 1, 12, tzinfo=timezone.utc)),  # 1 Dec in both
    ]
    local = computed(actions, la, now, TimeGroup.DAY, 3, 3, "recurring")
    in_utc = computed(actions, UTC, now, TimeGroup.DAY, 3, 3, "recurring")
    assert [d.isoformat() for d in local[0]] == [
        "2026-11-30T00:00:00-08:00",
        "2026-12-01T00:00:00-08:00",
        "2026-12-02T00:00:00-08:00",
    ]
    assert local[1:] == ((1, 1, 0), ((0, 1, 0), (0, 0, None), (None, None, None)))
    # In UTC both signed up on 1 December, and user 1 was active the same day.
    assert in_utc[1:] == ((0, 2, 0), ((None, None, None), (1, 0, None), (None, None, None)))


def test_chathams_autumn_hour_shown_twice_across_the_hour_counts_in_the_later_hour() -> None:
    # Pacific/Chatham goes from 03:45 (+13:45) back to 02:45 (+12:45): the second 02:45-03:00
    # comes after the clock showed 03:xx, so it belongs to the hour 3 (periods never overlap).
    chatham = ZoneInfo("Pacific/Chatham")
    now = datetime(2000, 3, 18, 14, 0, 1, tzinfo=timezone.utc)  # 02:45:01 the second time
    actions: list[Action] = [
        ("signup", 0, now),
        ("signup", 1, datetime(2000, 3, 18, 12, 50, tzinfo=timezone.utc)),  # 02:35, once
    ]
    dates, totals, _ = computed(actions, chatham, now, TimeGroup.HOUR, 2, 1, "recurring")
    assert [d.astimezone(chatham).isoformat() for d in dates] == [
        "2000-03-19T02:00:00+13:45",
        "2000-03-19T03:00:00+13:45",
    ]
    assert totals == (1, 1)
