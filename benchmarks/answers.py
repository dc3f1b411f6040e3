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
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import attrs
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._synthetic import EVENTS, NOW, day_periods, generate
from benchmarks.cohort import line, load, mget, timed_pair, verdict
from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    BitmapRepository,
    EventRef,
    LifecycleEngine,
    LifecycleSpec,
    Mark,
    Period,
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


class Recording(BitmapRepository):
    """Passes every call to a repository and remembers the ids fetched."""

    def __init__(self, inner: RedisRepository) -> None:
        self.inner = inner
        self.fetched: list[BitmapId] = []

    def mark(self, marks: Iterable[Mark]) -> None:
        raise NotImplementedError("the benchmark only reads")

    def unmark(self, marks: Iterable[Mark]) -> None:
        raise NotImplementedError("the benchmark only reads")

    def fetch(self, ids: Sequence[BitmapId]) -> list[Bitmap]:
        self.fetched.extend(ids)
        return self.inner.fetch(ids)

    def event_names(self) -> frozenset[str]:
        return self.inner.event_names()

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[Period]]:
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
            missed = sum(ratio > FLOOR_RATIO_TARGET for ratio in ratios)
            print(f"\n{len(ratios) - missed} of {len(ratios)} answers within the target")
            repository.close()
        finally:
            client.close()
            server.stop()


if __name__ == "__main__":
    main()
