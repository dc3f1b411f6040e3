"""The demo data generator: realistic in shape, deterministic, lazy, written in chunks."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from itertools import islice, pairwise

import pytest

from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    BitmapRepository,
    Mark,
    Period,
    PropertyValue,
    TimeGroup,
)
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.demo_data import (
    DEMO_EVENTS,
    LOGGED_IN,
    LOGGED_OUT,
    PAID,
    REFUNDED,
    SIGNED_UP,
    DemoDataSpec,
    generate_demo_marks,
    write_demo_data,
)
from flask_bitmapist.services.marking import MarkingPolicy, write_marks

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def marks() -> list[Mark]:
    return list(generate_demo_marks(DemoDataSpec.create(now=NOW, days=90, users=5000)))


def days_since_signup(marks: Iterable[Mark], event: str) -> Counter[int]:
    signed_up: dict[int, date] = {}
    found: Counter[int] = Counter()
    for mark in marks:
        if mark.event == SIGNED_UP:
            signed_up[mark.user_id] = mark.moment.date()
    for mark in marks:
        if mark.event == event:
            found[(mark.moment.date() - signed_up[mark.user_id]).days] += 1
    return found


def test_every_user_signs_up_once_with_ids_in_signup_order(marks: list[Mark]) -> None:
    signups = [m for m in marks if m.event == SIGNED_UP]
    assert [m.user_id for m in signups] == list(range(1, 5001))
    moments = [m.moment.date() for m in signups]
    assert moments == sorted(moments)


def test_signups_are_spread_over_every_day_and_grow(marks: list[Mark]) -> None:
    per_day = Counter(m.moment.date() for m in marks if m.event == SIGNED_UP)
    first_day = NOW.date() - timedelta(days=89)
    assert sorted(per_day) == [first_day + timedelta(days=d) for d in range(90)]
    first_month = sum(per_day[first_day + timedelta(days=d)] for d in range(30))
    last_month = sum(per_day[first_day + timedelta(days=d)] for d in range(60, 90))
    assert last_month > 1.4 * first_month
    assert max(per_day.values()) < 5 * min(per_day.values())


def test_weekends_see_fewer_signups_than_weekdays(marks: list[Mark]) -> None:
    per_day = Counter(m.moment.date() for m in marks if m.event == SIGNED_UP)
    weekend = [n for day, n in per_day.items() if day.weekday() >= 5]
    weekday = [n for day, n in per_day.items() if day.weekday() < 5]
    assert sum(weekend) / len(weekend) < 0.8 * sum(weekday) / len(weekday)


def test_nothing_happens_before_the_window_or_after_now(marks: list[Mark]) -> None:
    start = datetime(2026, 8, 30, tzinfo=timezone.utc)
    assert min(m.moment for m in marks) >= start
    assert max(m.moment for m in marks) <= NOW
    assert {m.event for m in marks} == set(DEMO_EVENTS)


def test_every_user_logs_in_on_signup_day_then_less_and_less_often(marks: list[Mark]) -> None:
    by_age = days_since_signup(marks, LOGGED_IN)
    signed_up = {m.user_id: m.moment.date() for m in marks if m.event == SIGNED_UP}
    first_day = {
        m.user_id for m in marks if m.event == LOGGED_IN and m.moment.date() == signed_up[m.user_id]
    }
    assert len(first_day) == 5000
    # Some come back hours later on their sign-up day: hourly cohorts go past hour 0.
    assert 0.2 * 5000 < by_age[0] - 5000 < 0.4 * 5000
    weekly = [sum(by_age[d] for d in range(start, start + 7)) for start in (1, 8, 15, 22, 29)]
    assert weekly == sorted(weekly, reverse=True)
    assert weekly[0] > 2 * weekly[4] > 0


def test_logouts_follow_a_login_of_the_same_day(marks: list[Mark]) -> None:
    first_login: dict[tuple[int, object], datetime] = {}
    for mark in marks:
        if mark.event == LOGGED_IN:
            key = (mark.user_id, mark.moment.date())
            first_login[key] = min(first_login.get(key, mark.moment), mark.moment)
    logouts = [m for m in marks if m.event == LOGGED_OUT]
    assert 0.2 * len(first_login) < len(logouts) < 0.6 * len(first_login)
    for mark in logouts:
        assert mark.moment >= first_login[(mark.user_id, mark.moment.date())]


def test_a_subset_of_users_pays_while_logged_in_renews_monthly_and_buys_again(
    marks: list[Mark],
) -> None:
    payments = [m for m in marks if m.event == PAID]
    payers = {m.user_id for m in payments}
    assert 0.1 * 5000 < len(payers) < 0.4 * 5000
    assert len(payments) > len(payers)  # renewals
    login_days = {(m.user_id, m.moment.date()) for m in marks if m.event == LOGGED_IN}
    assert all((m.user_id, m.moment.date()) in login_days for m in payments)
    gaps: set[int] = set()
    by_user: dict[int, list[datetime]] = defaultdict(list)
    for m in payments:
        by_user[m.user_id].append(m.moment)
    for moments in by_user.values():
        days = sorted(moment.date() for moment in moments)
        gaps.update((b - a).days for a, b in pairwise(days))
    # Renewals 30 days apart, repeat purchases in between (a first-time cohort of payers
    # has users after its day 0).
    assert 30 in gaps and len({gap for gap in gaps if gap < 30}) > 5


def test_refunds_are_rare_and_follow_a_payment(marks: list[Mark]) -> None:
    payments = [m for m in marks if m.event == PAID]
    refunds = [m for m in marks if m.event == REFUNDED]
    assert 0 < len(refunds) < 0.06 * len(payments)
    paid_at: dict[int, list[datetime]] = defaultdict(list)
    for m in payments:
        paid_at[m.user_id].append(m.moment)
    for refund in refunds:
        assert any(p <= refund.moment <= p + timedelta(days=4) for p in paid_at[refund.user_id])


def test_the_same_seed_gives_the_same_marks_and_another_seed_other_marks() -> None:
    def sample(seed: int) -> list[Mark]:
        spec = DemoDataSpec.create(now=NOW, days=30, users=300, seed=seed)
        return list(generate_demo_marks(spec))

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_marks_are_produced_lazily_so_millions_of_users_start_at_once() -> None:
    spec = DemoDataSpec.create(now=NOW, days=90, users=10_000_000)
    first = list(islice(generate_demo_marks(spec), 3))
    assert [m.user_id for m in first] == [1, 1, 1]
    assert first[0].event == SIGNED_UP


def test_hourly_and_unique_tracking_reach_the_marks() -> None:
    spec = DemoDataSpec.create(now=NOW, days=3, users=5)
    mark = next(generate_demo_marks(spec, MarkingPolicy(hourly=True, unique=True)))
    assert (mark.hourly, mark.unique) == (True, True)


def test_a_single_day_window_ends_at_now() -> None:
    midnight = datetime(2026, 11, 27, tzinfo=timezone.utc)
    marks = list(generate_demo_marks(DemoDataSpec.create(now=midnight, days=1, users=20)))
    assert {m.moment for m in marks} == {midnight}


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("days", 0, ValueError),
        ("days", 3661, ValueError),
        ("users", 0, ValueError),
        ("users", "10", TypeError),
        ("days", True, TypeError),
        ("seed", 1.5, TypeError),
    ],
)
def test_bad_spec_values_are_refused_naming_the_value(
    field: str, value: object, error: type[Exception]
) -> None:
    kwargs: dict[str, object] = {"now": NOW, field: value}
    with pytest.raises(error, match=field):
        DemoDataSpec.create(**kwargs)  # type: ignore[arg-type]


class RecordingRepository(InMemoryRepository):
    """Remembers the size of every mark() call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def mark(self, marks: Iterable[Mark]) -> None:
        chunk = list(marks)
        self.calls.append(len(chunk))
        super().mark(chunk)


def test_write_marks_writes_one_call_per_chunk() -> None:
    repository = RecordingRepository()
    marks = (Mark.create("e", uid, NOW) for uid in range(25))
    seen: list[int] = []
    written = write_marks(
        repository, marks, policy=MarkingPolicy(), chunk_size=10, on_chunk=seen.append
    )
    assert written == 25
    assert repository.calls == seen == [10, 10, 5]
    day = BitmapId("e", Period.containing(TimeGroup.DAY, NOW))
    assert repository.fetch([day]) == [Bitmap.from_ids(range(25))]


@pytest.mark.parametrize("chunk_size", [0, -1, True])
def test_write_marks_refuses_a_bad_chunk_size(chunk_size: int) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        write_marks(InMemoryRepository(), [], policy=MarkingPolicy(), chunk_size=chunk_size)


def test_write_demo_data_stores_every_generated_mark() -> None:
    spec = DemoDataSpec.create(now=NOW, days=14, users=200)
    repository: BitmapRepository = InMemoryRepository()
    written = write_demo_data(repository, spec, chunk_size=100)
    marks: Sequence[Mark] = list(generate_demo_marks(spec))
    assert written == len(marks)
    assert repository.event_names() == {m.event for m in marks}
    today = Period.containing(TimeGroup.DAY, NOW)
    expected = {m.user_id for m in marks if m.event == LOGGED_IN and m.moment in today}
    assert list(repository.fetch([BitmapId(LOGGED_IN, today)])[0]) == sorted(expected)


def test_every_user_gets_a_plan_that_says_whether_they_pay_and_a_channel() -> None:
    spec = DemoDataSpec.create(now=NOW, days=30, users=400)
    repository = InMemoryRepository()
    write_demo_data(repository, spec, chunk_size=50)  # properties flushed in many chunks
    marks = list(generate_demo_marks(spec))
    users = {m.user_id for m in marks}
    payers = {m.user_id for m in marks if m.event == PAID}
    assert repository.property_values() == {
        "plan": frozenset({"free", "paid"}),
        "channel": frozenset({"search", "ads", "referral", "direct"}),
    }
    paid, free = repository.fetch_user_sets(
        [PropertyValue("plan", "paid"), PropertyValue("plan", "free")]
    )
    assert set(paid) == payers
    assert set(free) == users - payers
    channels = repository.fetch_user_sets(
        [PropertyValue("channel", c) for c in ("search", "ads", "referral", "direct")]
    )
    assert sorted(u for found in channels for u in found) == sorted(users)
    assert len(channels[0]) > len(channels[3])  # search is the commonest channel
