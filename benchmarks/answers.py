"""First-time cohorts, stickiness and funnels on a real redis-server, each beside its
transfer floor.

Run by hand (it starts and stops its own redis-server on a free loopback port)::

    .venv/bin/python benchmarks/answers.py                  # 1,000,000 users, 12 months
    .venv/bin/python benchmarks/answers.py --users 200000   # quicker

The data: ``--users`` users signing up over 365 daily periods (ids grow with signup day,
as auto-increment ids do), activity decaying with the days since signup, carts on some
active days, payments by a paying subset; day, ISO week and month bitmaps in bitmapist's
key format, loaded with SET of prebuilt bitmap bytes.

Each answer is timed beside its floor, one MGET of exactly the keys it reads, run
alternately in the same process (medians); the target is within 3x the floor. Each answer
is also checked against a numpy brute force over the generated per-user data.

- a 30 x 30 daily first-time cohort (rows: users whose first-ever payment fell that day;
  cells: of them, the active ones): its floor includes the history read (every earlier
  month of payments, and the days of this month before each row);
- a 30-day stickiness of ``active``;
- a 4-step funnel over 30 days: signup -> active -> cart -> paid.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_bitmapist.domain import (
    BitmapId,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    FirstEver,
    FunnelEngine,
    FunnelSpec,
    Period,
    StickinessEngine,
    StickinessSpec,
    TimeGroup,
)
from flask_bitmapist.infra import RedisRepository
from tests.integration.servers import LocalRedisServer

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
YEAR_DAYS = 365
WINDOW = 30
EVENTS = ("signup", "active", "cart", "paid")
FUNNEL_STEPS = ("signup", "active", "cart", "paid")
FLOOR_RATIO_TARGET = 3.0

Packed = npt.NDArray[np.uint8]
T = TypeVar("T")


# -- data ------------------------------------------------------------------------------


def year_days() -> list[Period]:
    """The 365 days ending with NOW's day, oldest first."""
    today = Period.containing(TimeGroup.DAY, NOW)
    return [today.shift(d - YEAR_DAYS + 1) for d in range(YEAR_DAYS)]


def _thin(
    bits: npt.NDArray[np.bool_], rate: float, rng: np.random.Generator
) -> npt.NDArray[np.bool_]:
    kept = np.zeros_like(bits)
    ids = np.flatnonzero(bits)
    kept[ids[rng.random(ids.size) < rate]] = True
    return kept


def generate(users: int, seed: int) -> dict[str, list[Packed]]:
    """Per event, one packed day bitmap per day of :func:`year_days`."""
    rng = np.random.default_rng(seed)
    signup_day = np.sort(rng.integers(0, YEAR_DAYS, size=users))
    signed_up_by = np.searchsorted(signup_day, np.arange(YEAR_DAYS), side="right")
    payer = rng.random(users) < 0.2
    days: dict[str, list[Packed]] = {event: [] for event in EVENTS}
    for d in range(YEAR_DAYS):
        known = int(signed_up_by[d])
        age = d - signup_day[:known]
        signup = np.zeros(users, dtype=bool)
        signup[:known] = age == 0
        active = np.zeros(users, dtype=bool)
        active[:known] = rng.random(known) < 0.03 + 0.5 * np.exp(-age / 20.0)
        active |= signup
        cart = _thin(active, 0.15, rng)
        paid = _thin(cart & payer, 0.5, rng)
        for event, bits in zip(EVENTS, (signup, active, cart, paid), strict=True):
            days[event].append(np.packbits(bits))
    return days


def load(client: redis.Redis, days: dict[str, list[Packed]]) -> int:
    """SET every day, ISO week and month bitmap; returns the bytes loaded."""
    loaded = 0
    for event, bitmaps in days.items():
        values: dict[str, bytes] = {}
        rollups: dict[str, Packed] = {}
        for period, bits in zip(year_days(), bitmaps, strict=True):
            values[f"trackist_{event}_{period.key_suffix}"] = bits.tobytes().rstrip(b"\x00")
            for group in (TimeGroup.WEEK, TimeGroup.MONTH):
                key = f"trackist_{event}_{Period.containing(group, period.start).key_suffix}"
                rollups[key] = rollups[key] | bits if key in rollups else bits
        values.update((key, bits.tobytes().rstrip(b"\x00")) for key, bits in rollups.items())
        pipe = client.pipeline(transaction=False)
        for key, value in values.items():
            pipe.set(key, value)
            loaded += len(value)
        pipe.execute()
    return loaded


def unpacked(days: dict[str, list[Packed]], event: str, users: int) -> npt.NDArray[np.bool_]:
    """The window's days of ``event`` as a (WINDOW, users) bool matrix (brute force)."""
    return np.stack([np.unpackbits(p)[:users].astype(bool) for p in days[event][-WINDOW:]])


# -- timing ----------------------------------------------------------------------------


def timed_pair(
    first: Callable[[], T], second: Callable[[], object], repeat: int
) -> tuple[float, float, T]:
    """Median wall times of ``first`` and ``second`` run alternately (after a warm-up of
    each), so that both see the same machine; and ``first``'s last result."""
    result = first()
    second()
    first_times, second_times = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        result = first()
        first_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        second()
        second_times.append(time.perf_counter() - started)
    return statistics.median(first_times), statistics.median(second_times), result


def mget(client: redis.Redis, keys: Sequence[str]) -> list[bytes | None]:
    """One MGET: the raw transfer an answer's read cannot beat."""
    return cast("list[bytes | None]", client.mget(keys))


def report(
    label: str, ours: float, floor: float, keys: Sequence[str], client: redis.Redis
) -> float:
    transferred = sum(len(value or b"") for value in mget(client, keys))
    ratio = ours / floor
    verdict = "meets" if ratio <= FLOOR_RATIO_TARGET else "MISSES"
    print(f"\n{label}")
    print(f"  {'ours':<48}{ours * 1000:>10.1f} ms")
    floor_label = f"floor: 1 MGET, {len(keys)} keys, {transferred / 1e6:.1f} MB"
    print(f"  {floor_label:<48}{floor * 1000:>10.1f} ms")
    print(f"  {'ours / floor':<48}{ratio:>10.2f}x  ({verdict} target: <= 3x)")
    return ratio


# -- first-time cohort -----------------------------------------------------------------


def bench_first_time_cohort(
    repository: RedisRepository,
    client: redis.Redis,
    days: dict[str, list[Packed]],
    users: int,
    repeat: int,
) -> float:
    """A 30 x 30 daily first-time cohort: first payment, then active."""
    spec = CohortSpec.create(
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
    engine = CohortEngine(repository)
    periods = spec.row_periods()
    # The floor: the history the first-ever rows need plus the secondary, in one MGET.
    plan = FirstEver.plan(spec.primary, TimeGroup.DAY, periods, repository.stored_months(["paid"]))
    ids = set(plan.bitmap_ids()) | {BitmapId("active", p) for p in periods}
    keys = sorted(repository.key(i) for i in ids)
    ours, floor, cohort = timed_pair(
        lambda: engine.compute(spec), lambda: mget(client, keys), repeat
    )

    # Brute force: each user's first paid day over the whole year.
    paid = np.stack([np.unpackbits(p)[:users].astype(bool) for p in days["paid"]])
    first_day = np.where(paid.any(axis=0), paid.argmax(axis=0), -1)
    expected = np.bincount(first_day[first_day >= 0], minlength=YEAR_DAYS)[-WINDOW:]
    assert list(cohort.totals) == expected.tolist(), "first-time row totals differ"
    active = unpacked(days, "active", users)
    row = WINDOW // 2
    firsts = first_day == YEAR_DAYS - WINDOW + row
    assert cohort.cells[row][3] == int((firsts & active[row + 3]).sum()), "a cell differs"
    return report(
        f"First-time cohort: {WINDOW}x{WINDOW} daily, first paid -> active, recurring "
        f"({sum(cohort.totals):,} first-time payers)",
        ours,
        floor,
        keys,
        client,
    )


# -- stickiness ------------------------------------------------------------------------


def bench_stickiness(
    repository: RedisRepository,
    client: redis.Redis,
    days: dict[str, list[Packed]],
    users: int,
    repeat: int,
) -> float:
    """A 30-day stickiness of ``active``."""
    spec = StickinessSpec.create(EventRef("active"), now=NOW, periods=WINDOW)
    engine = StickinessEngine(repository)
    keys = [repository.key(BitmapId("active", p)) for p in spec.window.periods()]
    ours, floor, answer = timed_pair(
        lambda: engine.compute(spec), lambda: mget(client, keys), repeat
    )

    per_user = unpacked(days, "active", users).sum(axis=0)
    expected = np.bincount(per_user, minlength=WINDOW + 1)[1:]
    assert list(answer.counts) == expected.tolist(), "stickiness counts differ"
    return report(
        f"Stickiness: active over {WINDOW} days ({answer.total:,} users)",
        ours,
        floor,
        keys,
        client,
    )


# -- funnel ----------------------------------------------------------------------------


def bench_funnel(
    repository: RedisRepository,
    client: redis.Redis,
    days: dict[str, list[Packed]],
    users: int,
    repeat: int,
) -> float:
    """A 4-step funnel over 30 days: signup -> active -> cart -> paid."""
    spec = FunnelSpec.create([EventRef(s) for s in FUNNEL_STEPS], now=NOW, periods=WINDOW)
    engine = FunnelEngine(repository)
    keys = [
        repository.key(BitmapId(step, p)) for p in spec.window.periods() for step in FUNNEL_STEPS
    ]
    ours, floor, answer = timed_pair(
        lambda: engine.compute(spec), lambda: mget(client, keys), repeat
    )

    # Brute force, user by user in vectors: the period each step was reached in.
    index = np.arange(WINDOW)[:, None]
    since = np.zeros(users, dtype=np.int64)
    alive = np.ones(users, dtype=bool)
    expected = []
    for step in FUNNEL_STEPS:
        matched = unpacked(days, step, users) & (index >= since[None, :])
        alive &= matched.any(axis=0)
        since = np.where(alive, matched.argmax(axis=0), WINDOW)
        expected.append(int(alive.sum()))
    assert list(answer.counts) == expected, "funnel counts differ"
    return report(
        f"Funnel: {' -> '.join(FUNNEL_STEPS)} over {WINDOW} days "
        f"({' / '.join(f'{c:,}' for c in answer.counts)})",
        ours,
        floor,
        keys,
        client,
    )


# -- main --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=1_000_000, help="users (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per figure (median)")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bitmapist-bench-") as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        client = redis.Redis.from_url(server.url, socket_timeout=60)
        try:
            started = time.perf_counter()
            days = generate(args.users, args.seed)
            generated = time.perf_counter() - started
            started = time.perf_counter()
            loaded = load(client, days)
            print(
                f"{args.users:,} users, {YEAR_DAYS} days, events {', '.join(EVENTS)}: generated "
                f"in {generated:.1f} s, {loaded / 1e6:.0f} MB loaded in "
                f"{time.perf_counter() - started:.1f} s into redis-server {server.url}"
            )
            repository = RedisRepository.from_url(server.url, socket_timeout=30)
            ratios = [
                bench_first_time_cohort(repository, client, days, args.users, args.repeat),
                bench_stickiness(repository, client, days, args.users, args.repeat),
                bench_funnel(repository, client, days, args.users, args.repeat),
            ]
            print(f"\nworst ours / floor: {max(ratios):.2f}x (target <= {FLOOR_RATIO_TARGET:g}x)")
        finally:
            client.close()
            server.stop()


if __name__ == "__main__":
    main()
