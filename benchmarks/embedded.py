"""The embedded SQLite store beside a real redis-server, in one run (``make bench``).

Run by hand (it starts and stops its own redis-server on a free loopback port, and keeps
its SQLite files in a temporary folder)::

    .venv/bin/python benchmarks/embedded.py
    .venv/bin/python benchmarks/embedded.py --users 1000000 --marks 5000

Printed, for each store:

1. bytes per daily bitmap of 10,000 random users among ids 0-999,999 (marked in bulk):
   Redis's ``MEMORY USAGE`` of the day key; for SQLite the day's blobs, and what the file
   grew by (after VACUUM, over an empty store's) over the 3 bitmaps a mark sets (day, ISO
   week, month);
2. 4 processes marking together, one mark per call as requests mark (``--marks`` each,
   distinct users): marks per second from the common start to the last one's end, then
   every mark checked in the day's bitmap;
3. a 30 x 30 daily recurring cohort over ``--users`` users (the synthetic data set of
   ``benchmarks/cohort.py``, loaded into both): the median of ``--repeat`` runs.

Targets (DESIGN section 15): at most 25 KiB per bitmap, at least 5,000 marks/s with none
lost, the cohort within 3x the Redis path.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._synthetic import NOW, Packed, day_periods, generate
from benchmarks.cohort import load
from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    BitmapRepository,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    Mark,
    Period,
    TimeGroup,
)
from flask_bitmapist.infra import RedisRepository
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from tests.integration.servers import LocalRedisServer

BYTES_TARGET = 25 * 1024
MARKS_TARGET = 5_000
COHORT_RATIO_TARGET = 3.0
PROCESSES = 4
DAY = BitmapId("load", Period.containing(TimeGroup.DAY, NOW))


def line(label: str, redis_figure: str, sqlite_figure: str, note: str = "") -> None:
    print(f"  {label:<46}{redis_figure:>16}{sqlite_figure:>16}  {note}".rstrip())


def verdict(ok: bool, target: str) -> str:
    return f"({'meets' if ok else 'MISSES'} target: {target})"


# -- 1. bytes per bitmap -----------------------------------------------------------------


def bytes_per_bitmap(client: redis.Redis, folder: Path) -> None:
    users = random.Random(10_000).sample(range(1_000_000), 10_000)
    marks = [Mark.create("size", uid, NOW) for uid in users]
    client.flushall()
    RedisRepository(client).mark(marks)
    redis_bytes = cast(int, client.memory_usage(f"trackist_size_{DAY.key_suffix}"))
    empty = folder / "empty.db"
    schema_only = SqliteRepository(empty)
    schema_only.event_names()  # creates the tables
    schema_only.close()
    path = folder / "size.db"
    store = SqliteRepository(path)
    store.mark(marks)
    store.close()
    for vacuumed in (empty, path):
        with sqlite3.connect(vacuumed) as connection:
            connection.execute("VACUUM")
            # VACUUM writes to the WAL: move it into the file before measuring the file.
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
    with sqlite3.connect(path) as connection:
        blobs = connection.execute(
            "SELECT sum(length(c.users)) FROM bitmapist_containers AS c JOIN "
            "bitmapist_bitmaps AS b ON c.id >> 16 = b.id WHERE b.suffix = ?",
            (DAY.key_suffix,),
        ).fetchone()[0]
    connection.close()
    per_bitmap = (path.stat().st_size - empty.stat().st_size) / 3
    line("bytes per daily bitmap (10,000 of 1M ids)", f"{redis_bytes:,}", f"{blobs:,}", "blobs")
    line(
        "  the file's growth (after VACUUM) / 3 bitmaps",
        "",
        f"{per_bitmap:,.0f}",
        verdict(per_bitmap <= BYTES_TARGET, "<= 25 KiB = 25,600"),
    )


# -- 2. processes marking together -------------------------------------------------------


def mark_from(make: Callable[[], BitmapRepository], worker: int, count: int, start: float) -> None:
    """Mark users worker, worker + 4, ... one per call, from the wall-clock ``start``."""
    repository = make()
    marks = [Mark.create("load", uid, NOW) for uid in range(worker, PROCESSES * count, PROCESSES)]
    repository.mark([Mark.create("warm-up", worker, NOW)])
    while time.time() < start:
        time.sleep(0.001)
    for mark in marks:
        repository.mark([mark])


def processes_marking(
    make: Callable[[], BitmapRepository], count: int
) -> tuple[float, bool, float]:
    """Marks per second, whether every mark is found, and the CPU seconds per mark the
    marking processes used (set-up included)."""
    cpu_before = _children_cpu()
    start = time.time() + 1.0
    workers = [
        multiprocessing.Process(target=mark_from, args=(make, worker, count, start))
        for worker in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    elapsed = time.time() - start
    assert all(process.exitcode == 0 for process in workers), "a marking process failed"
    cpu = (_children_cpu() - cpu_before) / (PROCESSES * count)
    [day] = make().fetch([DAY])
    return PROCESSES * count / elapsed, list(day) == list(range(PROCESSES * count)), cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class RedisAt:
    """Makes a repository on the server at ``url`` (picklable, for the processes)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self) -> BitmapRepository:
        return RedisRepository.from_url(self.url, socket_timeout=10.0)


class SqliteAt:
    """Makes a repository on the file at ``path`` (picklable, for the processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> BitmapRepository:
        return SqliteRepository(self.path, busy_timeout=10.0)


def marking(server: LocalRedisServer, client: redis.Redis, folder: Path, count: int) -> None:
    client.flushall()
    load = os.getloadavg()[0]
    redis_rate, redis_all, redis_cpu = processes_marking(RedisAt(server.url), count)
    sqlite_rate, sqlite_all, sqlite_cpu = processes_marking(SqliteAt(folder / "marks.db"), count)
    line(
        f"{PROCESSES} processes, one mark per call: marks/s",
        f"{redis_rate:,.0f}",
        f"{sqlite_rate:,.0f}",
        verdict(sqlite_rate >= MARKS_TARGET, ">= 5,000"),
    )
    line(
        f"  every one of the {PROCESSES * count:,} marks found",
        str(redis_all),
        str(sqlite_all),
        verdict(sqlite_all, "none lost"),
    )
    line(
        "  CPU per mark (client processes): us",
        f"{redis_cpu * 1e6:,.0f}",
        f"{sqlite_cpu * 1e6:,.0f}",
        f"(load average {load:.1f} on {os.cpu_count()} CPUs before)",
    )


# -- 3. a 30 x 30 daily cohort -----------------------------------------------------------


def load_sqlite(store: SqliteRepository, days: dict[str, list[Packed]]) -> None:
    """Merge the same day, ISO week and month bitmaps ``load`` SETs into Redis."""
    periods = day_periods(len(next(iter(days.values()))))
    for event, bitmaps in days.items():
        rollups: dict[BitmapId, Bitmap] = {}
        pairs = []
        for period, packed in zip(periods, bitmaps, strict=True):
            bitmap = Bitmap.from_redis_bytes(packed.tobytes())
            pairs.append((BitmapId(event, period), bitmap))
            for group in (TimeGroup.WEEK, TimeGroup.MONTH):
                rollup = BitmapId(event, Period.containing(group, period.start))
                rollups[rollup] = rollups[rollup] | bitmap if rollup in rollups else bitmap
        store.merge([*pairs, *rollups.items()])


def cohort(client: redis.Redis, folder: Path, users: int, repeat: int) -> None:
    client.flushall()
    days = generate(users, seed=7)
    load(client, days)
    store = SqliteRepository(folder / "cohort.db")
    started = time.perf_counter()
    load_sqlite(store, days)
    loading = time.perf_counter() - started
    spec = CohortSpec.create(
        EventRef("signup"),
        EventRef("active"),
        now=NOW,
        time_group=TimeGroup.DAY,
        rows=30,
        cols=30,
        mode=CohortMode.RECURRING,
        max_cells=900,
    )
    engines = {"redis": CohortEngine(RedisRepository(client)), "sqlite": CohortEngine(store)}
    results = {name: engine.compute(spec) for name, engine in engines.items()}
    assert results["redis"].cells == results["sqlite"].cells, "the stores disagree"
    times: dict[str, list[float]] = {"redis": [], "sqlite": []}
    for _ in range(repeat):
        for name, engine in engines.items():
            begun = time.perf_counter()
            engine.compute(spec)
            times[name].append(time.perf_counter() - begun)
    redis_ms = statistics.median(times["redis"]) * 1000
    sqlite_ms = statistics.median(times["sqlite"]) * 1000
    ratio = sqlite_ms / redis_ms
    line(
        f"30 x 30 daily cohort, {users:,} users: ms",
        f"{redis_ms:,.1f}",
        f"{sqlite_ms:,.1f}",
        verdict(ratio <= COHORT_RATIO_TARGET, f"<= 3x Redis; {ratio:.2f}x"),
    )
    store.close()  # its last connection: the log is copied into the file
    size = (folder / "cohort.db").stat().st_size
    used = cast("dict[str, int]", client.info("memory"))["used_memory"]
    line(
        "  the data set: bytes held",
        f"{used:,}",
        f"{size:,}",
        f"(SQLite loaded in {loading:.1f} s)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--marks", type=int, default=5_000, help="marks per process")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory() as workdir:
        folder = Path(workdir)
        server = LocalRedisServer(folder / "redis")
        server.start()
        try:
            client = server.client(timeout=60.0)
            line("", "Redis", "SQLite")
            bytes_per_bitmap(client, folder)
            marking(server, client, folder, args.marks)
            cohort(client, folder, args.users, args.repeat)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
