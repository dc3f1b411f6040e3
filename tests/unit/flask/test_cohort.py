"""get_cohort: 0.1's return value, checked cell by cell against a brute-force set model,
and a regression test for each 0.1.2 defect of the cohort code (DESIGN section 9)."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone

import pytest

from flask_bitmapist import (
    BitmapistState,
    FlaskBitmapist,
    InvalidCohortSpec,
    InvalidEventName,
    InvalidExpression,
    current_state,
    get_cohort,
    mark_event,
)
from flask_bitmapist.domain import Bitmap, BitmapId
from tests.unit.flask.support import (
    FixedClock,
    History,
    RecordingRepository,
    brute_force_cohort,
    day_of,
    iso_week_of,
    make_app,
    month_of,
)

ORDERED = "user:ordered_infomercial_product"
FIRST = "user:made_first_easy_payment"
SECOND = "user:made_second_easy_payment"
RETURNED = "user:returned_product"
#: The announcement: "ordered AND first payment AND second payment OR returned".
INFOMERCIAL_CHAIN = [{"name": SECOND, "op": "and"}, {"name": RETURNED, "op": "or"}]
#: "If today were September 12, 2016 ..."
SEPTEMBER_12 = datetime(2016, 9, 12, 10, 30)
MONTHS = [(2016, month) for month in range(4, 10)]


def random_moment(rng: random.Random, year: int, month: int) -> datetime:
    """A moment in that month."""
    return datetime(year, month, rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59))


@pytest.fixture
def infomercial(state: BitmapistState) -> History:
    """Orders and payments from February to October 2016 (October is after "now")."""
    rng = random.Random(2016)
    history = History()
    months = [(2016, month) for month in range(2, 11)]
    for user_id in range(1, 301):
        if rng.random() < 0.7:
            order_index = rng.randrange(len(months))
            for year, month in months[order_index : order_index + rng.choice((1, 1, 2))]:
                history.mark(ORDERED, user_id, random_moment(rng, year, month))
        for event, chance in ((FIRST, 0.2), (SECOND, 0.15), (RETURNED, 0.08)):
            for year, month in months:
                if rng.random() < chance:
                    history.mark(event, user_id, random_moment(rng, year, month))
    return history


def infomercial_sets(history: History) -> tuple[list[set[int]], list[set[int]]]:
    """P_i and S_k of the announcement's example, by brute force."""
    primary = [history.users(ORDERED, month_of, m) for m in MONTHS]
    secondary = [
        history.users(FIRST, month_of, m)
        & (history.users(SECOND, month_of, m) | history.users(RETURNED, month_of, m))
        for m in MONTHS
    ]
    return primary, secondary


def test_the_announcements_infomercial_cohort_cell_by_cell(infomercial: History) -> None:
    cohort, dates, totals = get_cohort(
        ORDERED,
        FIRST,
        additional_events=INFOMERCIAL_CHAIN,
        time_group="months",
        num_rows=6,
        num_cols=4,
        now=SEPTEMBER_12,
    )

    primary, secondary = infomercial_sets(infomercial)
    expected_cells, expected_totals = brute_force_cohort(primary, secondary, 4, "first_return")
    assert dates == [datetime(2016, month, 1) for month in range(4, 10)]
    assert totals == expected_totals
    assert all(total > 0 for total in totals)
    for i in range(6):
        for j in range(4):
            assert cohort[i][j] == expected_cells[i][j], f"cell ({i}, {j})"
    # The last rows run into the future: None there, and only there.
    assert cohort[5] == [expected_cells[5][0], None, None, None]
    assert cohort[3][3] is None
    assert cohort[2][3] is not None
    assert any(cell for row in cohort for cell in row)


@pytest.mark.parametrize(
    ("options", "mode"),
    [
        ({"with_replacement": True}, "recurring"),
        ({"mode": "recurring"}, "recurring"),
        ({"mode": "cumulative"}, "cumulative"),
        ({"mode": "first_return", "with_replacement": True}, "first_return"),
        ({"mode": "cumulative", "with_replacement": True}, "cumulative"),
    ],
)
def test_the_infomercial_cohort_in_each_mode(
    infomercial: History, options: dict[str, object], mode: str
) -> None:
    cohort, _, totals = get_cohort(
        ORDERED,
        FIRST,
        INFOMERCIAL_CHAIN,
        "months",
        6,
        4,
        now=SEPTEMBER_12,
        **options,  # type: ignore[call-overload]
    )

    primary, secondary = infomercial_sets(infomercial)
    assert (cohort, totals) == brute_force_cohort(primary, secondary, 4, mode)


def test_the_return_value_has_0_1s_types(infomercial: History) -> None:
    cohort, dates, totals = get_cohort(ORDERED, FIRST, None, "months", 6, 4, now=SEPTEMBER_12)

    assert isinstance(cohort, list)
    assert all(isinstance(row, list) for row in cohort)
    assert {type(cell) for row in cohort for cell in row} <= {int, type(None)}
    assert all(type(total) is int for total in totals)
    assert all(type(d) is datetime and d.tzinfo is None for d in dates)


def test_dates_are_aware_when_now_is(infomercial: History) -> None:
    aware = SEPTEMBER_12.replace(tzinfo=timezone.utc)

    naive_result = get_cohort(ORDERED, FIRST, None, "months", 6, 4, now=SEPTEMBER_12)
    aware_result = get_cohort(ORDERED, FIRST, None, "months", 6, 4, now=aware)

    assert aware_result[1] == [d.replace(tzinfo=timezone.utc) for d in naive_result[1]]
    assert (aware_result[0], aware_result[2]) == (naive_result[0], naive_result[2])


def test_now_defaults_to_the_apps_clock(clock: FixedClock, infomercial: History) -> None:
    clock.moment = SEPTEMBER_12.replace(tzinfo=timezone.utc)

    default = get_cohort(ORDERED, FIRST, INFOMERCIAL_CHAIN, "months", 6, 4)

    explicit = get_cohort(ORDERED, FIRST, INFOMERCIAL_CHAIN, "months", 6, 4, now=SEPTEMBER_12)
    assert default == explicit
    assert default[1][-1] == datetime(2016, 9, 1)


def test_a_row_without_primary_users_is_none(state: BitmapistState) -> None:
    now = datetime(2026, 11, 27)
    mark_event("signup", 1, now - timedelta(days=2))
    mark_event("active", 1, now - timedelta(days=1))

    cohort, dates, totals = get_cohort("signup", "active", num_rows=3, num_cols=3, now=now)

    assert dates == [datetime(2026, 11, 25), datetime(2026, 11, 26), datetime(2026, 11, 27)]
    assert totals == [1, 0, 0]
    assert cohort == [[0, 1, 0], [None, None, None], [None, None, None]]


# -- chains: OR binds to its predecessor, in every cell ------------------------------------

DAY_ZERO = datetime(2026, 3, 1, 12)


def days(count: int) -> list[date]:
    """``count`` consecutive days ending with DAY_ZERO + count - 1."""
    return [(DAY_ZERO + timedelta(days=n)).date() for n in range(count)]


def mark_randomly(
    history: History, events: Iterable[str], users: int, day_count: int, chance: float, seed: int
) -> None:
    """Each user does each event on each day with probability ``chance``."""
    rng = random.Random(seed)
    for event in events:
        for user_id in range(users):
            for n in range(day_count):
                if rng.random() < chance:
                    history.mark(event, user_id, DAY_ZERO + timedelta(days=n, minutes=user_id))


def test_first_and_second_and_third_or_fourth_in_every_cell(state: BitmapistState) -> None:
    history = History()
    mark_randomly(history, ["signup"], 60, 8, 0.3, seed=1)
    mark_randomly(history, ["first", "second", "third"], 60, 8, 0.5, seed=2)
    # The OR term has data only in the later days: cells there must count it.
    rng = random.Random(3)
    for user_id in range(60):
        for n in range(5, 8):
            if rng.random() < 0.5:
                history.mark("fourth", user_id, DAY_ZERO + timedelta(days=n))
    chain = [
        {"name": "second", "op": "and"},
        {"name": "third", "op": "and"},
        {"name": "fourth", "op": "or"},
    ]
    now = DAY_ZERO + timedelta(days=7)

    cohort, _, totals = get_cohort("signup", "first", chain, "days", 8, 8, now=now)

    periods = days(8)
    primary = [history.users("signup", day_of, d) for d in periods]

    def users(event: str, d: date) -> set[int]:
        return history.users(event, day_of, d)

    secondary = [
        users("first", d) & users("second", d) & (users("third", d) | users("fourth", d))
        for d in periods
    ]
    assert (cohort, totals) == brute_force_cohort(primary, secondary, 8, "first_return")
    # Not the other reading, (first & second & third) | fourth:
    wrong = [
        (users("first", d) & users("second", d) & users("third", d)) | users("fourth", d)
        for d in periods
    ]
    assert cohort != brute_force_cohort(primary, wrong, 8, "first_return")[0]


def test_or_terms_count_in_every_column_and_the_callers_list_is_untouched(
    state: BitmapistState,
) -> None:
    # 0.1.2 popped the OR items out of additional_events while computing the first cell:
    # every later cell (and the caller's next call) silently lost them.
    history = History()
    for user_id in range(10):
        history.mark("signup", user_id, DAY_ZERO)
    for n in range(1, 6):
        history.mark("active", n, DAY_ZERO + timedelta(days=n))
        history.mark("paid", n, DAY_ZERO + timedelta(days=n))
        history.mark("refunded", n + 5, DAY_ZERO + timedelta(days=n))
    chain = [{"name": "paid", "op": "and"}, {"name": "refunded", "op": "or"}]
    before = copy.deepcopy(chain)
    now = DAY_ZERO + timedelta(days=5)

    first = get_cohort("signup", "active", chain, "days", 6, 6, now=now)
    again = get_cohort("signup", "active", chain, "days", 6, 6, now=now)

    assert chain == before
    assert first == again
    assert first[0][0] == [0, 1, 1, 1, 1, 1]
    # An OR right after the secondary joins it: active | refunded (user 10 never signed up).
    chain_or_secondary = [{"name": "refunded", "op": "or"}]
    cohort, _, _ = get_cohort("signup", "active", chain_or_secondary, "days", 6, 6, now=now)
    assert cohort[0] == [0, 2, 2, 2, 2, 1]


def test_an_or_right_after_an_empty_secondary_still_counts(state: BitmapistState) -> None:
    # 0.1.2 returned 0 for a period where the secondary had no data, OR terms or not.
    for user_id in range(4):
        mark_event("signup", user_id, DAY_ZERO)
    mark_event("returned", 1, DAY_ZERO + timedelta(days=1))
    mark_event("returned", 2, DAY_ZERO + timedelta(days=2))
    chain = [{"name": "returned", "op": "or"}]

    cohort, _, totals = get_cohort(
        "signup", "never_happened", chain, "days", 3, 3, now=DAY_ZERO + timedelta(days=2)
    )

    assert totals == [4, 0, 0]
    assert cohort[0] == [0, 1, 1]


def test_weekly_cohorts_use_iso_weeks_across_new_year(state: BitmapistState) -> None:
    # 0.1.2 paired the calendar year with the ISO week: around new year it read the
    # wrong week's keys. Weeks here: 2026-W51, W52, W53, 2027-W1, W2.
    history = History()
    rng = random.Random(53)
    start = datetime(2026, 12, 14)
    for user_id in range(80):
        for offset in range(35):
            moment = start + timedelta(days=offset, hours=rng.randint(0, 23))
            if rng.random() < 0.05:
                history.mark("signup", user_id, moment)
            if rng.random() < 0.08:
                history.mark("active", user_id, moment)
    now = datetime(2027, 1, 13, 9)

    cohort, dates, totals = get_cohort("signup", "active", None, "weeks", 5, 5, now=now)

    mondays = [datetime(2026, 12, 14) + timedelta(weeks=n) for n in range(5)]
    assert dates == mondays
    weeks = [iso_week_of(monday) for monday in mondays]
    assert weeks == [(2026, 51), (2026, 52), (2026, 53), (2027, 1), (2027, 2)]
    primary = [history.users("signup", iso_week_of, w) for w in weeks]
    secondary = [history.users("active", iso_week_of, w) for w in weeks]
    assert (cohort, totals) == brute_force_cohort(primary, secondary, 5, "first_return")
    assert totals[2] > 0 and totals[3] > 0


def test_a_wide_cohort_in_the_default_mode_is_one_read_and_writes_nothing(
    clock: FixedClock,
) -> None:
    # 0.1.2 wrote temporary keys whose names doubled every column (30 columns killed the
    # Redis connection) and leaked them on failure. Now: one batch read, no writes.
    store = RecordingRepository()
    fetches: list[Sequence[BitmapId]] = []
    original_fetch = store.fetch

    def counting_fetch(ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        fetches.append(ids)
        return original_fetch(ids, max_bytes=max_bytes)

    store.fetch = counting_fetch  # type: ignore[method-assign]
    app = make_app(BITMAPIST_MAX_COHORT_CELLS=40 * 40)
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: store)
    with app.app_context():
        history = History()
        mark_randomly(history, ["signup", "active"], 30, 40, 0.15, seed=40)
        writes_before = len(store.writes)

        cohort, _, totals = get_cohort(
            "signup", "active", None, "days", 40, 40, now=DAY_ZERO + timedelta(days=39)
        )

    # One read per phase: the rows' users, then the secondary as far as the largest.
    assert len(fetches) == 2
    assert len(store.writes) == writes_before
    periods = days(40)
    primary = [history.users("signup", day_of, d) for d in periods]
    secondary = [history.users("active", day_of, d) for d in periods]
    assert (cohort, totals) == brute_force_cohort(primary, secondary, 40, "first_return")


def test_yearly_and_hourly_cohorts(clock: FixedClock) -> None:
    app = make_app(BITMAPIST_TRACK_HOURLY=True)
    FlaskBitmapist(app, clock=clock)
    with app.app_context():
        mark_event("signup", 1, datetime(2024, 5, 1))
        mark_event("signup", 2, datetime(2025, 2, 1))
        mark_event("active", 1, datetime(2025, 12, 31, 23))
        mark_event("active", 2, datetime(2026, 1, 1))
        mark_event("signup", 3, datetime(2026, 1, 1, 10, 5))
        mark_event("active", 3, datetime(2026, 1, 1, 11, 59))

        yearly = get_cohort("signup", "active", None, "years", 3, 3, now=datetime(2026, 6, 1))
        hourly = get_cohort("signup", "active", None, "hours", 3, 3, now=datetime(2026, 1, 1, 11))

    # A year is any of its months: user 1 signed up in 2024 and was active (only) in 2025.
    assert yearly == (
        [[0, 1, 0], [0, 1, None], [1, None, None]],
        [datetime(2024, 1, 1), datetime(2025, 1, 1), datetime(2026, 1, 1)],
        [1, 1, 1],
    )
    assert hourly == (
        [[None, None, None], [0, 1, None], [None, None, None]],
        [datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 11)],
        [0, 1, 0],
    )


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_rows": 0}, InvalidCohortSpec, "rows must be between 1 and"),
        ({"num_cols": "10"}, InvalidCohortSpec, "cols must be an int, got '10'"),
        ({"num_rows": 200, "num_cols": 200}, InvalidCohortSpec, "at most 20000 are allowed"),
        ({"time_group": "fortnights"}, InvalidCohortSpec, "unknown time group 'fortnights'"),
        ({"mode": "sometimes"}, InvalidCohortSpec, "unknown mode 'sometimes'"),
        ({"primary_event_name": "bad\tname"}, InvalidEventName, r"'bad\\tname'"),
        (
            {"additional_events": [{"name": "x", "op": "nand"}]},
            InvalidExpression,
            "op must be 'and' or 'or', got 'nand'",
        ),
    ],
)
def test_bad_input_is_refused_naming_it(
    state: BitmapistState, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {
        "primary_event_name": "signup",
        "secondary_event_name": "active",
    }
    arguments.update(kwargs)

    with pytest.raises(error, match=message):
        get_cohort(**arguments)  # type: ignore[call-overload]
    assert issubclass(error, ValueError)


def test_the_cell_bound_is_the_apps_setting(clock: FixedClock) -> None:
    app = make_app(BITMAPIST_MAX_COHORT_CELLS=100)
    FlaskBitmapist(app, clock=clock)

    with app.app_context():
        assert len(get_cohort("a", "b", num_rows=10, num_cols=10)[0]) == 10
        with pytest.raises(InvalidCohortSpec, match="at most 100 are allowed"):
            get_cohort("a", "b", num_rows=10, num_cols=11)
        assert current_state().settings.max_cohort_cells == 100
