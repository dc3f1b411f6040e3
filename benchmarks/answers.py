"""DESIGN section 10's answers on a real redis-server, each beside its transfer floor.

Run by hand (it starts and stops its own redis-server on a free loopback port)::

    .venv/bin/python benchmarks/answers.py                  # 1,000,000 users, 90 days
    .venv/bin/python benchmarks/answers.py --users 200000 --repeat 3

The data set is the cohort benchmark's (``_synthetic``): ``--users`` users signing up over
``--days`` days, activity decaying with the days since signup, a paying subset, rare
refunds; day, ISO week and month bitmaps loaded with SET.

For every case the answer is computed once through a repository that records what it
fetches; the floor is then one MGET of exactly those keys, timed alternately with the
answer so both see the same machine. The answer's time includes everything it does
(listing an event's months for lifecycles, the read, the set algebra).

Adding a case: append a :class:`Case` to :data:`CASES`, a label and a function from the
repository to the answer.

Then, on the same data, what a segment filter and a 20-group breakdown cost beside the
plain answer (``benchmarks/segment_answers.py``'s :func:`time_segments`: a plan of 25
values and the cohort ``half`` are written first).

Then, on 12 months of daily data (the same generator over 365 days, loaded afresh), the
cases of :data:`YEAR_CASES`: a 30 x 30 daily first-time cohort (rows: users whose
first-ever payment fell that day; cells: of them, the active ones), whose floor includes
the history it reads (every earlier month of payments, and the days of the row's month
before it); a 30-day stickiness of ``active``; a 4-step funnel over 30 days. Each is
checked against a numpy brute force over the generated bitmaps before it is timed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path

import attrs
import numpy as np
import numpy.typing as npt
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._synthetic import EVENTS, NOW, Packed, day_periods, generate
from benchmarks.cohort import line, load, mget, timed_pair, verdict
from benchmarks.segment_answers import BREAKDOWN_TARGET, SEGMENT_TARGET, time_segments
from flask_bitmapist.domain import (
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
    StickinessEngine,
    StickinessSpec,
    TimeGroup,
    TrendEngine,
    TrendSpec,
)
from flask_bitmapist.infra import RedisRepository
from tests.integration.servers import LocalRedisServer

#: Each answer within this many times one MGET of the keys it reads (issue 12).
FLOOR_RATIO_TARGET = 3.0


@attrs.frozen
class Case:
    """One answer to time: what it is, and how to compute it from a repository."""

    label: str
    answer: Callable[[BitmapRepository], object]


CASES: list[Case] = [
    Case(
        "trend: 30 days, 2 series (active, paid)",
        lambda r: TrendEngine(r).compute(
            TrendSpec.create([EventRef("active"), EventRef("paid")], now=NOW, periods=30)
        ),
    ),
    Case(
        "trend: 30 days, rolling 7 (active)",
        lambda r: TrendEngine(r).compute(
            TrendSpec.create([EventRef("active")], now=NOW, periods=30, rolling=7)
        ),
    ),
    Case(
        "lifecycle: 12 weeks (active), all history",
        lambda r: LifecycleEngine(r).compute(
            LifecycleSpec.create(EventRef("active"), now=NOW, time_group="weeks", periods=12)
        ),
    ),
]


# -- first-time cohorts, stickiness and funnels, on 12 months of daily data ---------------

YEAR_DAYS = 365
WINDOW = 30
FUNNEL_STEPS = ("signup", "active", "paid", "refunded")
FIRST_TIME_SPEC = CohortSpec.create(
    EventRef("paid"),
    EventRef("active"),
    now=NOW,
    time_group=TimeGroup.DAY,
    rows=WINDOW,
    cols=WINDOW,
    mode=CohortMode.RECURRING,
    max_cells=WINDOW * WINDOW,
    first_time=True,
)
STICKINESS_SPEC = StickinessSpec.create(EventRef("active"), now=NOW, periods=WINDOW)
FUNNEL_SPEC = FunnelSpec.create([EventRef(s) for s in FUNNEL_STEPS], now=NOW, periods=WINDOW)

YEAR_CASES: list[Case] = [
    Case(
        f"first-time cohort: {WINDOW}x{WINDOW} daily, first paid -> active, recurring",
        lambda r: CohortEngine(r).compute(FIRST_TIME_SPEC),
    ),
    Case(
        f"stickiness: active over {WINDOW} days",
        lambda r: StickinessEngine(r).compute(STICKINESS_SPEC),
    ),
    Case(
        f"funnel: {' -> '.join(FUNNEL_STEPS)} over {WINDOW} days",
        lambda r: FunnelEngine(r).compute(FUNNEL_SPEC),
    ),
]


def _unpacked(bitmaps: Sequence[Packed], users: int) -> npt.NDArray[np.bool_]:
    """Packed day bitmaps as a (days, users) bool matrix (the brute force's input)."""
    return np.stack([np.unpackbits(p)[:users].astype(bool) for p in bitmaps])


def check_year(repository: RedisRepository, packed: dict[str, list[Packed]], users: int) -> None:
    """The three answers agree with a numpy brute force over the generated bitmaps, so the
    timings time right answers."""
    # First-time rows: each user's first paid day over the whole year.
    paid = _unpacked(packed["paid"], users)
    first_day = np.where(paid.any(axis=0), paid.argmax(axis=0), -1)
    firsts = np.bincount(first_day[first_day >= 0], minlength=YEAR_DAYS)[-WINDOW:]
    cohort = CohortEngine(repository).compute(FIRST_TIME_SPEC)
    assert list(cohort.totals) == firsts.tolist(), "first-time row totals differ"
    active = _unpacked(packed["active"][-WINDOW:], users)
    row = WINDOW // 2
    first_payers = first_day == YEAR_DAYS - WINDOW + row
    assert cohort.cells[row][3] == int((first_payers & active[row + 3]).sum()), "a cell differs"
    # Stickiness: a histogram of each user's active days.
    per_user = active.sum(axis=0)
    stickiness = StickinessEngine(repository).compute(STICKINESS_SPEC)
    assert list(stickiness.counts) == np.bincount(per_user, minlength=WINDOW + 1)[1:].tolist()
    # Funnel: user by user in vectors, the day each step was reached.
    index = np.arange(WINDOW)[:, None]
    since = np.zeros(users, dtype=np.int64)
    alive = np.ones(users, dtype=bool)
    reached = []
    for step in FUNNEL_STEPS:
        matched = _unpacked(packed[step][-WINDOW:], users) & (index >= since[None, :])
        alive &= matched.any(axis=0)
        since = np.where(alive, matched.argmax(axis=0), WINDOW)
        reached.append(int(alive.sum()))
    assert list(FunnelEngine(repository).compute(FUNNEL_SPEC).counts) == reached, "funnel"
    print(
        f"checked: {sum(cohort.totals):,} first-time payers in {WINDOW} days, "
        f"{stickiness.total:,} active users, funnel {' / '.join(f'{c:,}' for c in reached)}"
    )


class Recording(BitmapRepository):
    """Passes every call to a repository and remembers the ids fetched."""

    def __init__(self, inner: RedisRepository) -> None:
        self.inner = inner
        self.fetched: list[BitmapId] = []

    def mark(self, marks: Iterable[Mark]) -> None:
        raise NotImplementedError("the benchmark only reads")

    def unmark(self, marks: Iterable[Mark]) -> None:
        raise NotImplementedError("the benchmark only reads")

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self.fetched.extend(ids)
        return self.inner.fetch(ids, max_bytes=max_bytes)

    def event_names(self) -> frozenset[str]:
        return self.inner.event_names()

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        return self.inner.stored_months(events)


def run_case(case: Case, repository: RedisRepository, client: redis.Redis, repeat: int) -> float:
    """Time ``case`` beside one MGET of the keys it reads; print both; the ratio."""
    recording = Recording(repository)
    case.answer(recording)
    keys = [repository.key(bitmap_id) for bitmap_id in recording.fetched]
    ours, floor, _ = timed_pair(lambda: case.answer(repository), lambda: mget(client, keys), repeat)
    transferred = sum(len(value or b"") for value in mget(client, keys))
    ratio = ours / floor
    print(f"\n{case.label}")
    line("answer", f"{ours * 1000:.1f} ms")
    line(f"floor: 1 MGET, {len(keys)} keys, {transferred / 1e6:.1f} MB", f"{floor * 1000:.1f} ms")
    line(
        "answer / floor",
        f"{ratio:.2f}x",
        verdict(ratio <= FLOOR_RATIO_TARGET, f"<= {FLOOR_RATIO_TARGET:g}x"),
    )
    return ratio


def check(repository: RedisRepository, days: dict[str, list[Bitmap]]) -> None:
    """The daily trend agrees with the generated bitmaps, so the timings time right answers."""
    trend = TrendEngine(repository).compute(
        TrendSpec.create([EventRef("active")], now=NOW, periods=30)
    )
    assert list(trend.series[0].counts) == [len(b) for b in days["active"][-30:]]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=1_000_000, help="users (default 1,000,000)")
    parser.add_argument("--days", type=int, default=90, help="days of data (default 90)")
    parser.add_argument("--repeat", type=int, default=21, help="timed runs per figure (median)")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bitmapist-answers-") as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        client = redis.Redis.from_url(server.url, socket_timeout=60)
        try:
            started = time.perf_counter()
            packed = generate(args.users, args.seed, args.days)
            loaded = load(client, packed)
            first, last = day_periods(args.days)[0], day_periods(args.days)[-1]
            print(
                f"{args.users:,} users, {args.days} days ({first.key_suffix} to "
                f"{last.key_suffix}), events {', '.join(EVENTS)}: {loaded / 1e6:.0f} MB loaded "
                f"in {time.perf_counter() - started:.1f} s into redis-server {server.url}"
            )
            days = {
                event: [Bitmap.from_redis_bytes(bits.tobytes()) for bits in bitmaps]
                for event, bitmaps in packed.items()
            }
            del packed
            repository = RedisRepository.from_url(server.url, socket_timeout=30)
            check(repository, days)
            del days
            ratios = [run_case(case, repository, client, args.repeat) for case in CASES]
            print("\nSegments on the same data, each beside the plain answer:")
            segments = time_segments(repository, args.users, args.repeat)

            client.flushall()
            started = time.perf_counter()
            packed = generate(args.users, args.seed, YEAR_DAYS)
            loaded = load(client, packed)
            print(
                f"\n{args.users:,} users, {YEAR_DAYS} days: {loaded / 1e6:.0f} MB loaded in "
                f"{time.perf_counter() - started:.1f} s (first-time cohorts, stickiness, funnels)"
            )
            check_year(repository, packed, args.users)
            del packed
            ratios += [run_case(case, repository, client, args.repeat) for case in YEAR_CASES]

            missed = sum(ratio > FLOOR_RATIO_TARGET for ratio in ratios)
            print(f"\n{len(ratios) - missed} of {len(ratios)} answers within the target")
            targets = [SEGMENT_TARGET, BREAKDOWN_TARGET] * (len(segments) // 2)
            within = sum(r <= t for r, t in zip(segments, targets, strict=True))
            print(f"{within} of {len(segments)} segment figures within their targets")
            repository.close()
        finally:
            client.close()
            server.stop()


if __name__ == "__main__":
    main()
