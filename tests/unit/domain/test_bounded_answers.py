"""First-time cohorts, trends, lifecycles, stickiness and funnels read no bitmap past the
app's max user id.

Another writer (bitmapist allows ids up to 2**32 - 1) may set a bit far beyond
``BITMAPIST_MAX_USER_ID``; each engine built with ``max_user_id`` must read every bitmap
only up to that user's byte (the first-time cohort's secondary only as far as its rows'
users), answer as if the huge id were not there, and still read once per phase.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone

from flask_bitmapist.domain import (
    REDIS_MAX_USER_ID,
    Bitmap,
    BitmapId,
    BitmapRepository,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    FunnelEngine,
    FunnelSpec,
    LifecycleEngine,
    LifecycleSpec,
    Mark,
    Period,
    StickinessEngine,
    StickinessSpec,
    TimeGroup,
    TrendEngine,
    TrendSpec,
    first_ever_users,
)
from flask_bitmapist.infra import InMemoryRepository

UTC = timezone.utc
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
CAP = 1000  # the app's BITMAPIST_MAX_USER_ID in these tests
CAP_BYTES = CAP // 8 + 1
CAP_WORDS_BYTES = -(-CAP_BYTES // 8) * 8  # a bitmap's words: 64-bit, the last one padded
HUGE = 2**20  # far past CAP: 128 KiB per key it is in


class MeasuringRepository(BitmapRepository):
    """Wraps a repository, recording each fetch's limit and the bytes it handed back."""

    def __init__(self, inner: InMemoryRepository) -> None:
        self.inner = inner
        self.limits: list[int | None] = []
        self.widest = 0  # the most bytes of any bitmap a fetch returned

    def mark(self, marks: Iterable[Mark]) -> None:
        self.inner.mark(marks)

    def unmark(self, marks: Iterable[Mark]) -> None:
        self.inner.unmark(marks)

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self.limits.append(max_bytes)
        bitmaps = self.inner.fetch(ids, max_bytes=max_bytes)
        self.widest = max([self.widest, *(b.words.size * 8 for b in bitmaps)])
        return bitmaps

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        return self.inner.sizes(ids)

    def event_names(self) -> frozenset[str]:
        return self.inner.event_names()

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        return self.inner.stored_months(events)


def day(n: int) -> datetime:
    return NOW - timedelta(days=n)


ACTIONS = [
    ("signup", 3, day(40)),  # signed up long ago: never a first-time user in the window
    ("signup", 3, day(5)),
    ("signup", 7, day(5)),
    ("signup", 12, day(4)),
    ("signup", 900, day(3)),
    ("visit", 3, day(5)),
    ("visit", 7, day(4)),
    ("visit", 7, day(3)),
    ("visit", 12, day(2)),
    ("visit", 900, day(1)),
    ("visit", 5, day(1)),
    ("pay", 7, day(2)),
    ("pay", 900, day(0)),
]


def stores() -> tuple[InMemoryRepository, MeasuringRepository]:
    """The same history twice: as written, and with HUGE doing every event on every day of
    the window (and long before it) as another writer would have stored it."""
    plain = InMemoryRepository()
    plain.mark([Mark.create(e, u, t, hourly=True) for e, u, t in ACTIONS])
    hostile = InMemoryRepository()
    hostile.mark([Mark.create(e, u, t, hourly=True) for e, u, t in ACTIONS])
    hostile.mark(
        [
            Mark.create(event, HUGE, moment, hourly=True, max_user_id=REDIS_MAX_USER_ID)
            for event in ("signup", "visit", "pay")
            for moment in [day(60), *(day(n) for n in range(8))]
        ]
    )
    assert hostile.sizes([BitmapId("visit", Period.containing(TimeGroup.DAY, day(1)))]) == [
        HUGE // 8 + 1
    ]
    return plain, MeasuringRepository(hostile)


def test_first_time_cohorts_read_the_history_up_to_the_cap_and_the_secondary_to_the_rows() -> None:
    plain, hostile = stores()
    for mode in CohortMode:
        spec = CohortSpec.create(
            EventRef("signup"),
            EventRef("visit"),
            now=NOW,
            rows=7,
            cols=7,
            mode=mode.value,
            first_time=True,
        )
        expected = CohortEngine(plain).compute(spec)
        hostile.limits.clear()
        bounded = CohortEngine(hostile, max_user_id=CAP)

        assert bounded.compute(spec) == expected
        # The history up to the cap, then the secondary as far as user 900's word.
        assert hostile.limits == [CAP_BYTES, 120]
        assert bounded.cell_users(spec, 2, 1) == CohortEngine(plain).cell_users(spec, 2, 1)
    assert sum(expected.totals) == 3  # users 7, 12 and 900; user 3 signed up before
    assert hostile.widest <= CAP_WORDS_BYTES


def test_first_ever_users_read_no_bitmap_past_the_cap() -> None:
    plain, hostile = stores()
    periods = [Period.containing(TimeGroup.DAY, day(n)) for n in range(6)]

    found = first_ever_users(hostile, EventRef("signup"), TimeGroup.DAY, periods, max_user_id=CAP)

    assert found == first_ever_users(plain, EventRef("signup"), TimeGroup.DAY, periods)
    assert [set(users) for users in found] == [set(), set(), set(), {900}, {12}, {7}]
    assert hostile.limits == [CAP_BYTES]
    assert hostile.widest <= CAP_WORDS_BYTES


def test_stickiness_reads_no_bitmap_past_the_cap() -> None:
    plain, hostile = stores()
    spec = StickinessSpec.create(EventRef("visit"), now=NOW, periods=7)
    engine = StickinessEngine(hostile, max_user_id=CAP)

    stickiness = engine.compute(spec)

    assert stickiness == StickinessEngine(plain).compute(spec)
    assert stickiness.counts[:3] == (4, 1, 0)  # 3, 12, 900, 5 once; 7 twice
    assert set(engine.users(spec, 1)) == {3, 5, 12, 900}
    assert set(engine.users(spec, 2)) == {7}
    assert hostile.limits == [CAP_BYTES] * 3  # one read per answer
    assert hostile.widest <= CAP_WORDS_BYTES


def test_funnels_read_no_bitmap_past_the_cap() -> None:
    plain, hostile = stores()
    spec = FunnelSpec.create(
        [EventRef("signup"), EventRef("visit"), EventRef("pay")], now=NOW, periods=7
    )
    engine = FunnelEngine(hostile, max_user_id=CAP)

    funnel = engine.compute(spec)

    assert funnel == FunnelEngine(plain).compute(spec)
    assert funnel.counts == (4, 4, 2)  # signed up 3, 7, 12, 900; all visited; 7, 900 paid
    assert set(engine.step_users(spec, 3)) == {7, 900}
    assert set(engine.dropped_users(spec, 2)) == {3, 12}
    assert hostile.limits == [CAP_BYTES] * 3  # one read per answer
    assert hostile.widest <= CAP_WORDS_BYTES


def test_trends_read_no_bitmap_past_the_cap() -> None:
    plain, hostile = stores()
    spec = TrendSpec.create([EventRef("visit"), EventRef("signup")], now=NOW, periods=7, rolling=2)
    engine = TrendEngine(hostile, max_user_id=CAP)

    trend = engine.compute(spec)
    assert trend == TrendEngine(plain).compute(spec)
    assert trend.series[0].counts[-2:] == (3, 2)  # days 2-1: 12, 900, 5; days 1-0: 900, 5
    assert set(engine.users(spec, 0, 5)) == {12, 900, 5}
    assert hostile.limits == [CAP_BYTES] * 2  # one read per answer
    assert hostile.widest <= CAP_WORDS_BYTES


def test_lifecycles_read_no_bitmap_past_the_cap() -> None:
    plain, hostile = stores()
    spec = LifecycleSpec.create(EventRef("visit"), now=NOW, periods=6)
    engine = LifecycleEngine(hostile, max_user_id=CAP)

    lifecycle = engine.compute(spec)
    assert lifecycle == LifecycleEngine(plain).compute(spec)
    assert sum(lifecycle.new) == 5  # 3, 7, 12, 900 and 5 each visit for the first time
    assert set(engine.users(spec, "new", 4)) == {900, 5}  # yesterday
    assert hostile.limits == [CAP_BYTES] * 2  # one read per answer
    assert hostile.widest <= CAP_WORDS_BYTES
