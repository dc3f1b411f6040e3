"""Cohorts and bulk marking on a real redis-server, beside Doist's bitmapist.

Run by hand (it starts and stops its own redis-server on a free loopback port)::

    .venv/bin/python benchmarks/cohort.py                 # 1,000,000 users
    .venv/bin/python benchmarks/cohort.py --users 10000000

The synthetic data set, in bitmapist's key format: ``--users`` users signing up over 60
days (ids grow with signup time, as auto-increment ids do), activity decaying with the
days since signup, a paying subset, rare refunds. Day, ISO week and month bitmaps are
loaded with SET of prebuilt bitmap bytes.

Printed, on the same data: a 30 x 30 daily recurring cohort through our engine and through
``bitmapist.cohort.get_dates_data`` (asserted to agree cell by cell), the same with the
chain ``active and paid or refunded``, the time of one MGET of every bitmap the cohort
needs (the transfer floor), and bulk marking beside ``bitmapist.mark_event`` one by one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bitmapist
import bitmapist.cohort

from benchmarks._synthetic import DAYS, EVENTS, NOW, Packed, day_periods, generate
from flask_bitmapist.domain import (
    BitmapId,
    Cohort,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    Expression,
    Mark,
    Period,
    TimeGroup,
    parse_chain,
)
from flask_bitmapist.infra import RedisRepository
from tests.integration.servers import LocalRedisServer

ROWS = COLS = 30
CHAIN_NAME = "active and paid or refunded"
CHAIN = [{"name": "paid", "op": "and"}, {"name": "refunded", "op": "or"}]

# Targets from the issue.
COHORT_SPEEDUP_TARGET = {1_000_000: 10.0, 10_000_000: 5.0}
FLOOR_RATIO_TARGET = 4.0
MARKS_PER_SECOND_TARGET = 400_000
MARK_SPEEDUP_TARGET = 30.0

T = TypeVar("T")


# -- data ----------------------------------------------------------------------------


def to_redis_bytes(packed: Packed) -> bytes:
    """The Redis value: bit 0 is the high bit of byte 0, as numpy.packbits writes it."""
    return packed.tobytes().rstrip(b"\x00")


def load(client: redis.Redis, days: dict[str, list[Packed]]) -> int:
    """SET every day, ISO week and month bitmap; returns the bytes loaded.

    ``days`` holds one bitmap per day of the ``len`` days ending with NOW's.
    """
    periods = day_periods(len(next(iter(days.values()))))
    loaded = 0
    for event, bitmaps in days.items():
        values: dict[str, bytes] = {}
        rollups: dict[str, Packed] = {}
        for period, bits in zip(periods, bitmaps, strict=True):
            values[f"trackist_{event}_{period.key_suffix}"] = to_redis_bytes(bits)
            for group in (TimeGroup.WEEK, TimeGroup.MONTH):
                suffix = Period.containing(group, period.start).key_suffix
                key = f"trackist_{event}_{suffix}"
                rollups[key] = rollups[key] | bits if key in rollups else bits
        values.update((key, to_redis_bytes(bits)) for key, bits in rollups.items())
        pipe = client.pipeline(transaction=False)
        for key, value in values.items():
            pipe.set(key, value)
            loaded += len(value)
        pipe.execute()
    return loaded


# -- timing ----------------------------------------------------------------------------


def timed(function: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The median wall time of ``repeat`` runs (after one warm-up run), and the last result."""
    result = function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def timed_alternately(functions: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    """Median wall times of ``functions``, run in turn ``repeat`` times (after a warm-up of
    each), so that all of them see the same machine: their ratios hold even when the
    machine's speed drifts during the run."""
    for function in functions:
        function()
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeat):
        for function, taken in zip(functions, times, strict=True):
            started = time.perf_counter()
            function()
            taken.append(time.perf_counter() - started)
    return [statistics.median(taken) for taken in times]


def timed_pair(
    first: Callable[[], T], second: Callable[[], object], repeat: int
) -> tuple[float, float, T]:
    """Median wall times of ``first`` and ``second`` run alternately (see
    :func:`timed_alternately`); and ``first``'s last result."""
    results: list[T] = []
    first_time, second_time = timed_alternately([lambda: results.append(first()), second], repeat)
    return first_time, second_time, results[-1]


def verdict(ok: bool, target: str) -> str:
    return f"({'meets' if ok else 'MISSES'} target: {target})"


def line(label: str, figure: str, note: str = "") -> None:
    print(f"  {label:<44}{figure:>18}  {note}".rstrip())


# -- cohorts -----------------------------------------------------------------------


def spec_for(secondary: Expression) -> CohortSpec:
    return CohortSpec.create(
        EventRef("signup"),
        secondary,
        now=NOW,
        time_group=TimeGroup.DAY,
        rows=ROWS,
        cols=COLS,
        mode=CohortMode.RECURRING,
        max_cells=ROWS * COLS,
    )


def bitmapist_cohort(select2: str) -> list[list[Any]]:
    first_row = day_periods()[-ROWS].start
    rows: list[list[Any]] = bitmapist.cohort.get_dates_data(
        "signup",
        select2,
        time_group="days",
        as_percent=False,
        num_results=ROWS,
        num_of_rows=COLS - 1,
        start_date=first_row.strftime("%Y-%m-%d"),
        system="default",
    )
    return rows


def assert_same_cells(ours: Cohort, theirs: Sequence[Sequence[Any]]) -> None:
    """bitmapist gives [date, total, cell...] with '' where the secondary event has no data
    (the future included) and 0.0 for an empty intersection; we give None for the future."""
    assert [row[1] for row in theirs] == list(ours.totals), "row totals differ"
    for i, (our_row, their_row) in enumerate(zip(ours.cells, theirs, strict=True)):
        assert their_row[0].date() == ours.dates[i].date(), f"row {i} dates differ"
        for j, (mine, other) in enumerate(zip(our_row, their_row[2:], strict=True)):
            if mine is None:
                assert other == "", f"cell ({i}, {j}): future for us, {other!r} for bitmapist"
            else:
                assert mine == int(other or 0), f"cell ({i}, {j}): {mine} vs {other!r}"


def compare_cohort(
    label: str,
    secondary: Expression,
    select2: str,
    repository: RedisRepository,
    client: redis.Redis,
    users: int,
    repeat: int,
) -> dict[str, float]:
    spec = spec_for(secondary)
    engine = CohortEngine(repository)
    events = sorted(spec.primary.events() | spec.secondary.events())
    keys = [repository.key(BitmapId(e, p)) for p in spec.row_periods() for e in events]
    ours_time, floor_time, ours = timed_pair(
        lambda: engine.compute(spec), lambda: mget(client, keys), repeat
    )
    theirs_time, theirs = timed(lambda: bitmapist_cohort(select2), max(1, repeat // 3))
    assert_same_cells(ours, theirs)
    payload = mget(client, keys)
    transferred = sum(len(value or b"") for value in payload)

    speedup = theirs_time / ours_time
    target = COHORT_SPEEDUP_TARGET.get(users, COHORT_SPEEDUP_TARGET[10_000_000])
    ratio = ours_time / floor_time
    print(f"\n{label}: {ROWS}x{COLS} daily recurring cohort, cells agree with bitmapist")
    line("ours (CohortEngine.compute)", f"{ours_time * 1000:.1f} ms")
    line("bitmapist.cohort.get_dates_data", f"{theirs_time * 1000:.1f} ms")
    line("speed-up", f"{speedup:.1f}x", verdict(speedup >= target, f">= {target:g}x"))
    floor_label = f"floor: 1 MGET, {len(keys)} keys, {transferred / 1e6:.1f} MB"
    line(floor_label, f"{floor_time * 1000:.1f} ms")
    line("ours / floor", f"{ratio:.2f}x", verdict(ratio <= FLOOR_RATIO_TARGET, "<= 4x"))
    return {"ours": ours_time, "bitmapist": theirs_time, "floor": floor_time}


def install_chain_handler() -> None:
    """The chain as a bitmapist custom handler: active AND (paid OR refunded)."""

    def handler(_key: str, cls: Any, cls_args: Sequence[Any]) -> Any:
        return cls("active", *cls_args) & (cls("paid", *cls_args) | cls("refunded", *cls_args))

    bitmapist.cohort.set_custom_handler(CHAIN_NAME, handler)


# -- marking --------------------------------------------------------------------------


def build_marks(count: int, users: int, seed: int) -> list[Mark]:
    rng = np.random.default_rng(seed + 1)
    events = rng.integers(0, len(EVENTS), size=count).tolist()
    ids = rng.integers(0, users, size=count).tolist()
    seconds = rng.integers(0, 7 * 86400, size=count).tolist()
    start = NOW - timedelta(days=7)
    return [
        Mark.create(EVENTS[e], uid, start + timedelta(seconds=s))
        for e, uid, s in zip(events, ids, seconds, strict=True)
    ]


def mget(client: redis.Redis, keys: Sequence[str | bytes]) -> list[bytes | None]:
    """One MGET: the raw transfer our engine's read cannot beat."""
    return cast("list[bytes | None]", client.mget(keys))


def dump(client: redis.Redis) -> dict[bytes, bytes | None]:
    keys = sorted(client.scan_iter(count=1000))
    return dict(zip(keys, mget(client, keys), strict=True)) if keys else {}


def compare_marking(
    server: LocalRedisServer, users: int, count: int, sample: int, seed: int, repeat: int
) -> None:
    marks = build_marks(count, users, seed)
    base = f"redis://{server.host}:{server.port}"
    ours_db, theirs_db, check_db = (redis.Redis.from_url(f"{base}/{db}") for db in (1, 2, 3))

    repository = RedisRepository.from_url(f"{base}/1")
    times = []
    for _ in range(repeat):
        ours_db.flushdb()  # every run creates its keys, as a first mark of the day would
        started = time.perf_counter()
        repository.mark(marks)
        times.append(time.perf_counter() - started)
    ours_rate = count / statistics.median(times)

    subset = marks[:sample]
    bitmapist.SYSTEMS["marking"] = theirs_db
    started = time.perf_counter()
    for mark in subset:
        bitmapist.mark_event(mark.event, mark.user_id, system="marking", now=mark.moment)
    theirs_rate = sample / (time.perf_counter() - started)

    # Same events, same bytes: ours on db 3 must equal bitmapist's db 2 key for key.
    RedisRepository.from_url(f"{base}/3").mark(subset)
    assert dump(check_db) == dump(theirs_db), "our marks differ from bitmapist's"

    started = time.perf_counter()
    rebuilt = [Mark.create(m.event, m.user_id, m.moment) for m in marks]
    create_rate = len(rebuilt) / (time.perf_counter() - started)

    speedup = ours_rate / theirs_rate
    print(f"\nBulk marking: {count:,} events, 4 events x 7 days (month, week, day each)")
    line(
        "ours (RedisRepository.mark, one call)",
        f"{ours_rate:,.0f} events/s",
        verdict(ours_rate >= MARKS_PER_SECOND_TARGET, ">= 400,000/s"),
    )
    line(f"bitmapist.mark_event one by one ({sample:,})", f"{theirs_rate:,.0f} events/s")
    line("speed-up", f"{speedup:.1f}x", verdict(speedup >= MARK_SPEEDUP_TARGET, ">= 30x"))
    line("(building the marks with Mark.create)", f"{create_rate:,.0f} events/s", "not timed")
    for client in (ours_db, theirs_db, check_db):
        client.close()


# -- main ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=1_000_000, help="users (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per figure (median)")
    parser.add_argument("--marks", type=int, default=300_000, help="events for bulk marking")
    parser.add_argument("--sample", type=int, default=20_000, help="events for mark_event")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bitmapist-bench-") as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        client = redis.Redis.from_url(server.url, socket_timeout=60)
        saved_system = bitmapist.SYSTEMS["default"]
        bitmapist.SYSTEMS["default"] = client
        try:
            started = time.perf_counter()
            days = generate(args.users, args.seed)
            generated = time.perf_counter() - started
            started = time.perf_counter()
            loaded = load(client, days)
            del days
            print(
                f"{args.users:,} users, {DAYS} days, events {', '.join(EVENTS)}: generated in "
                f"{generated:.1f} s, {loaded / 1e6:.0f} MB loaded in "
                f"{time.perf_counter() - started:.1f} s into redis-server {server.url}"
            )
            # Generous socket timeout: one read moves up to ~150 MB at 10,000,000 users.
            repository = RedisRepository.from_url(server.url, socket_timeout=30)
            install_chain_handler()
            compare_cohort(
                "signup -> active",
                EventRef("active"),
                "active",
                repository,
                client,
                args.users,
                args.repeat,
            )
            compare_cohort(
                f"signup -> {CHAIN_NAME}",
                parse_chain("active", CHAIN),
                CHAIN_NAME,
                repository,
                client,
                args.users,
                args.repeat,
            )
            compare_marking(server, args.users, args.marks, args.sample, args.seed, args.repeat)
        finally:
            bitmapist.SYSTEMS["default"] = saved_system
            client.close()
            server.stop()


if __name__ == "__main__":
    main()
