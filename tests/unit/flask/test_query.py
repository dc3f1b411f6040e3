"""Reading data back with 0.1's API: user sets, event periods, BitOps, chains, event names."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask

from flask_bitmapist import (
    BitmapistState,
    BitOpAnd,
    BitOpOr,
    BitOpXor,
    DayEvents,
    FlaskBitmapist,
    HourEvents,
    InvalidEventName,
    InvalidExpression,
    InvalidMoment,
    InvalidPeriod,
    InvalidTimeGroup,
    MonthEvents,
    StorageUnavailable,
    UserSet,
    WeekEvents,
    YearEvents,
    chain_events,
    get_cohort,
    get_event_data,
    get_event_names,
    mark_event,
    unmark_event,
)
from flask_bitmapist.domain import Bitmap, Period, TimeGroup
from tests.unit.flask.support import NOW, DownRepository, FixedClock, make_app

# -- UserSet ------------------------------------------------------------------------------


def test_a_user_set_is_a_set_of_ids_in_ascending_order() -> None:
    users = UserSet.of([9, 1, 5, 1])

    assert len(users) == 3
    assert list(users) == [1, 5, 9]
    assert 5 in users
    assert 4 not in users
    assert "5" not in users
    assert bool(users) is True
    assert bool(UserSet()) is False


def test_user_sets_combine_with_and_or_xor_minus() -> None:
    a, b = UserSet.of([1, 2, 3]), UserSet.of([3, 4])

    assert list(a & b) == [3]
    assert list(a | b) == [1, 2, 3, 4]
    assert list(a ^ b) == [1, 2, 4]
    assert list(a - b) == [1, 2]
    assert isinstance(a & b, UserSet)
    assert list(a & Bitmap.from_ids([2])) == [2]


def test_combining_a_user_set_with_something_else_names_it() -> None:
    with pytest.raises(TypeError, match=r"got \{1, 2\}"):
        _ = UserSet.of([1]) & {1, 2}  # type: ignore[operator]


def test_user_sets_compare_by_their_users() -> None:
    assert UserSet.of([1, 2]) == UserSet.of([2, 1])
    assert UserSet.of([1, 2]) == Bitmap.from_ids([1, 2])
    assert UserSet.of([1]) != UserSet.of([1, 2])
    assert hash(UserSet.of([1, 2])) == hash(UserSet.of([2, 1]))


def test_a_user_set_has_bitmapists_helpers() -> None:
    users = UserSet.of([4, 2])

    assert users.has_events_marked() is True
    assert UserSet().has_events_marked() is False
    assert users.get_count() == 2
    assert list(users.get_uuids()) == [2, 4]


# -- event classes and get_event_data -----------------------------------------------------


def test_user_id_in_month_events_reads_the_current_apps_storage(state: BitmapistState) -> None:
    mark_event("user:logged_in", 17)

    assert 17 in MonthEvents("user:logged_in", NOW.year, NOW.month)
    assert 18 not in MonthEvents("user:logged_in", NOW.year, NOW.month)
    assert 17 not in MonthEvents("user:logged_in", NOW.year, NOW.month - 1)


def test_each_event_class_reads_its_period(state: BitmapistState) -> None:
    mark_event("test", 1, NOW, track_hourly=True)
    iso_year, iso_week, _ = NOW.isocalendar()

    assert list(YearEvents("test", 2026)) == [1]
    assert list(MonthEvents("test", 2026, 11)) == [1]
    assert list(WeekEvents("test", iso_year, iso_week)) == [1]
    assert list(DayEvents("test", 2026, 11, 27)) == [1]
    assert list(HourEvents("test", 2026, 11, 27, 13)) == [1]
    assert list(HourEvents("test", 2026, 11, 27, 12)) == []
    assert list(DayEvents("test", 2026, 11, 26)) == []


def test_event_classes_default_to_the_current_period(state: BitmapistState) -> None:
    mark_event("test", 3, track_hourly=True)

    for events in (YearEvents("test"), MonthEvents("test"), WeekEvents("test")):
        assert list(events) == [3]
    assert list(DayEvents("test")) == [3]
    assert list(HourEvents("test")) == [3]
    assert MonthEvents("test", 2026).period == Period.containing(TimeGroup.MONTH, NOW)


def test_week_events_take_the_iso_year_across_new_year(state: BitmapistState) -> None:
    # 2027-01-01 is a Friday in ISO week 53 of 2026; 0.1.2 paired it with calendar year 2027.
    mark_event("user:paid", 5, datetime(2027, 1, 1, 12))

    assert list(WeekEvents("user:paid", 2026, 53)) == [5]
    assert list(WeekEvents("user:paid", 2027, 1)) == []
    assert WeekEvents("user:paid", 2026, 53).period_start() == datetime(
        2026, 12, 28, tzinfo=timezone.utc
    )


def test_event_sets_know_their_period_and_neighbours(state: BitmapistState) -> None:
    mark_event("test", 1, NOW - timedelta(days=1))
    mark_event("test", 2, NOW)
    mark_event("test", 3, NOW + timedelta(days=1))

    today = DayEvents("test", 2026, 11, 27)

    assert today.event_name == "test"
    assert today.period_start() == datetime(2026, 11, 27, tzinfo=timezone.utc)
    assert today.period_end() == datetime(2026, 11, 28, tzinfo=timezone.utc)
    assert (list(today.prev()), list(today), list(today.next())) == ([1], [2], [3])
    assert isinstance(today.next(), DayEvents)


def test_an_event_set_is_a_snapshot(state: BitmapistState) -> None:
    before = DayEvents("test")
    mark_event("test", 1)

    assert list(before) == []
    assert list(DayEvents("test")) == [1]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MonthEvents("e", 2026, 13), "month 2026-13 does not exist"),
        (lambda: DayEvents("e", 2026, 2, 30), "day 2026-2-30 does not exist"),
        (lambda: WeekEvents("e", 2027, 53), "ISO week 2027-W53 does not exist"),
        (lambda: HourEvents("e", 2026, 1, 1, 24), "hour 2026-1-1 24:00 does not exist"),
        (lambda: MonthEvents("e", "2026", 1), "year must be an int, got '2026'"),  # type: ignore[arg-type]
        (lambda: YearEvents("e", True), "year must be an int, got True"),
    ],
)
def test_a_period_that_does_not_exist_is_refused_naming_it(
    state: BitmapistState, build: object, message: str
) -> None:
    with pytest.raises(InvalidPeriod, match=message):
        build()  # type: ignore[operator]


def test_an_event_set_with_a_bad_name_is_refused(state: BitmapistState) -> None:
    with pytest.raises(InvalidEventName, match=r"'a\\tb'"):
        MonthEvents("a\tb", 2026, 1)


def test_get_event_data_defaults_to_today(state: BitmapistState) -> None:
    mark_event("user:spilled_soda", 1, NOW - timedelta(days=1))
    mark_event("user:spilled_soda", 2)

    today = get_event_data("user:spilled_soda")

    assert isinstance(today, DayEvents)
    assert list(today) == [2]


@pytest.mark.parametrize(
    ("time_group", "cls", "expected"),
    [
        ("days", DayEvents, [2]),
        ("weeks", WeekEvents, [1, 2]),  # Thursday and Friday of one ISO week
        ("months", MonthEvents, [1, 2, 3]),
        ("years", YearEvents, [1, 2, 3, 4]),
        ("day", DayEvents, [2]),
        ("hours", HourEvents, []),
    ],
)
def test_get_event_data_by_time_group(
    state: BitmapistState, time_group: str, cls: type, expected: list[int]
) -> None:
    mark_event("user:paid", 1, NOW - timedelta(days=1))
    mark_event("user:paid", 2, NOW)
    mark_event("user:paid", 3, datetime(2026, 11, 2))
    mark_event("user:paid", 4, datetime(2026, 3, 2))

    data = get_event_data("user:paid", time_group, NOW)

    assert isinstance(data, cls)
    assert list(data) == expected


def test_get_event_data_at_another_moment(state: BitmapistState) -> None:
    mark_event("user:spilled_soda", 9, datetime(2014, 10, 21, 8))

    assert list(get_event_data("user:spilled_soda", "days", datetime(2014, 10, 21))) == [9]
    assert list(get_event_data("user:spilled_soda", "days")) == []


def test_the_announcements_popcorn_or_cheesepuffs(state: BitmapistState) -> None:
    for user_id in (1, 2, 3):
        mark_event("user:spilled_popcorn", user_id)
    for user_id in (3, 4):
        mark_event("user:spilled_cheesepuffs", user_id)
    mark_event("user:spilled_cheesepuffs", 5, NOW - timedelta(days=1))

    popcorn = get_event_data("user:spilled_popcorn")
    cheesepuffs = get_event_data("user:spilled_cheesepuffs")
    user_ids = list(BitOpOr(popcorn, cheesepuffs))

    assert user_ids == [1, 2, 3, 4]
    assert list(BitOpAnd(popcorn, cheesepuffs)) == [3]
    assert list(BitOpXor(popcorn, cheesepuffs)) == [1, 2, 4]
    assert list(popcorn | cheesepuffs) == user_ids


def test_bitops_take_any_number_of_sets() -> None:
    a, b, c = UserSet.of([1, 2, 3]), UserSet.of([2, 3]), UserSet.of([3, 4])

    assert list(BitOpAnd(a, b, c)) == [3]
    assert list(BitOpOr(a, b, c)) == [1, 2, 3, 4]
    assert list(BitOpAnd(a)) == [1, 2, 3]
    assert list(BitOpAnd(BitOpOr(a, c), b)) == [2, 3]
    with pytest.raises(TypeError, match="BitOpAnd needs at least one user set"):
        BitOpAnd()


def test_get_event_data_refuses_an_unknown_time_group(state: BitmapistState) -> None:
    with pytest.raises(InvalidTimeGroup, match="'fortnights'"):
        get_event_data("user:paid", "fortnights")


def test_get_event_data_refuses_a_moment_that_is_not_a_datetime(state: BitmapistState) -> None:
    with pytest.raises(InvalidMoment, match="expected a datetime, got '2026-11-27'"):
        get_event_data("user:paid", now="2026-11-27")  # type: ignore[arg-type]
    with pytest.raises(InvalidMoment, match="got '2026-11-27'"):
        DayEvents.from_date("user:paid", "2026-11-27")  # type: ignore[arg-type]


def test_get_event_names_lists_events_with_data_sorted(state: BitmapistState) -> None:
    mark_event("user:paid", 1)
    mark_event("index:visited", 1)
    mark_event("user:logged_in", 2)
    mark_event("user:gone", 3)
    unmark_event("user:gone", 3)

    assert get_event_names() == ["index:visited", "user:logged_in", "user:paid"]
    assert get_event_names("user:") == ["user:logged_in", "user:paid"]


# -- chain_events (0.1's tests, as specifications) ------------------------------------------

EVENTS = {
    "i": "user:logged_in",
    "o": "user:logged_out",
    "c": "user:created",
    "u": "user:updated",
    "d": "user:deleted",
}
USERS = {
    "iocud": 11,
    "iocd": 22,
    "iou": 33,
    "icd": 44,
    "io": 55,
    "ocud": 66,
    "cud": 77,
    "od": 88,
    "d": 99,
}


def op(kind: str, letter: str) -> dict[str, str]:
    """``{"name": <event for letter>, "op": kind}``."""
    return {"name": EVENTS[letter], "op": kind}


def ids(*codes: str) -> list[int]:
    """The ids of the users with these event codes, ascending."""
    return sorted(USERS[code] for code in codes)


@pytest.fixture
def chain_users(state: BitmapistState) -> BitmapistState:
    """0.1's test users: each did the events its letters name, today."""
    for code, user_id in USERS.items():
        for letter in code:
            mark_event(EVENTS[letter], user_id)
    return state


@pytest.mark.usefixtures("chain_users")
@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        ([], ids("iocud", "iocd", "iou", "icd", "io")),
        ([op("and", "o")], ids("iocud", "iocd", "iou", "io")),
        ([op("and", "o"), op("and", "c")], ids("iocud", "iocd")),
        ([op("or", "o")], ids("iocud", "iocd", "iou", "icd", "io", "ocud", "od")),
        (
            [op("or", "o"), op("or", "u"), op("or", "d")],
            ids("iocud", "iocd", "iou", "icd", "io", "ocud", "cud", "od", "d"),
        ),
        # `i and o or c` = i & (o | c)
        ([op("and", "o"), op("or", "c")], ids("iocud", "iocd", "iou", "icd", "io")),
        # `i or o and c` = (i | o) & c
        ([op("or", "o"), op("and", "c")], ids("iocud", "iocd", "icd", "ocud")),
        # `i and o and c or d` = i & o & (c | d)
        ([op("and", "o"), op("and", "c"), op("or", "d")], ids("iocud", "iocd")),
        # `i and o or c and d` = i & (o | c) & d
        ([op("and", "o"), op("or", "c"), op("and", "d")], ids("iocud", "iocd", "icd")),
        # `i or u or c and d` = (i | u | c) & d
        (
            [op("or", "u"), op("or", "c"), op("and", "d")],
            ids("iocud", "iocd", "icd", "ocud", "cud"),
        ),
        # `i and u or c or d` = i & (u | c | d)
        ([op("and", "u"), op("or", "c"), op("or", "d")], ids("iocud", "iocd", "iou", "icd")),
    ],
)
def test_chain_events_or_binds_to_its_predecessor(
    chain: list[dict[str, str]], expected: list[int]
) -> None:
    result = chain_events("user:logged_in", chain, NOW, "days")

    assert list(result) == expected
    assert len(result) == len(expected)


def test_chain_events_leaves_the_callers_list_untouched(chain_users: BitmapistState) -> None:
    chain = [op("and", "o"), op("or", "c"), op("and", "d")]
    before = copy.deepcopy(chain)

    first = chain_events("user:logged_in", chain, NOW, "days")
    second = chain_events("user:logged_in", chain, NOW, "days")

    assert chain == before
    assert first == second


def test_chain_events_with_an_empty_base_still_counts_its_or(state: BitmapistState) -> None:
    # 0.1.2 returned '' as soon as the base event had no data that period.
    mark_event("user:returned", 4)

    result = chain_events("user:paid", [{"name": "user:returned", "op": "or"}], NOW, "days")

    assert list(result) == [4]
    assert list(chain_events("user:paid", [], NOW, "days")) == []
    assert isinstance(chain_events("user:paid", None, None, "days"), UserSet)


def test_chain_events_refuses_a_bad_chain_naming_the_item(state: BitmapistState) -> None:
    with pytest.raises(InvalidExpression, match=r"additional_events\[1\]: op must be"):
        chain_events("a", [op("and", "o"), {"name": "b", "op": "xor"}], NOW, "days")
    with pytest.raises(InvalidExpression, match=r"additional_events\[0\].*'bad\\nname'"):
        chain_events("a", [{"name": "bad\nname", "op": "and"}], NOW, "days")


# -- storage down ---------------------------------------------------------------------------


@pytest.fixture
def down(clock: FixedClock) -> Flask:
    """An app whose storage is down."""
    app = make_app()
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: DownRepository())
    return app


@pytest.mark.parametrize(
    "read",
    [
        lambda: get_event_data("user:paid"),
        lambda: MonthEvents("user:paid", 2026, 11),
        lambda: chain_events("a", [], None, "days"),
        lambda: get_cohort("a", "b"),
        lambda: get_event_names(),
    ],
)
def test_reads_raise_storage_unavailable_when_storage_is_down(down: Flask, read: object) -> None:
    with down.app_context(), pytest.raises(StorageUnavailable, match="connection refused"):
        read()  # type: ignore[operator]
