"""Redis memory after 60 days of hourly tracking, with ``{"hours": 14}`` and without a
retention policy (DESIGN 14). Run by hand (``make bench`` runs it too)::

    .venv/bin/python benchmarks/storage.py                  # 1,000,000 users
    .venv/bin/python benchmarks/storage.py --users 100000   # a tenth, faster

Starts a private redis-server on a loopback port. The data: one event, ``page:viewed``,
tracked hourly (hour, day, ISO week and month bitmaps) over the 60 days up to now, by
``--users`` users with dense ids 0..N-1, each active on a day with probability
``--active`` (default 5 %), in one random hour of it. The marks go through the product's
``RedisRepository`` in bulk, once with no policy and once (after FLUSHALL) with
``BITMAPIST_RETENTION = {"hours": 14}``, whose marks give hour keys their expiry in the
same round trip: hours older than 14 days are gone as soon as they are marked, as they
would be after 60 real days. Redis keeps time on its own clock, so the 60 days end now.

Prints, for each run, the keys and bytes per time group (the storage report: Redis's
``MEMORY USAGE``), Redis's ``used_memory`` before and after, and the report's one-year
projection.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import cast

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_bitmapist.domain import NO_RETENTION, Mark, RetentionPolicy
from flask_bitmapist.infra import RedisRepository
from flask_bitmapist.infra.keyspace import RedisKeyspace
from flask_bitmapist.services.storage_report import StorageReport, format_bytes, storage_report
from tests.integration.servers import LocalRedisServer

EVENT = "page:viewed"
DAYS = 60
POLICY = {"hours": 14}


def history(users: int, active: float, now: datetime, seed: int) -> Iterator[tuple[int, datetime]]:
    """(user id, moment) of every mark: each user on each day with probability ``active``,
    in a random hour and minute of that day (never after ``now``)."""
    rng = random.Random(seed)
    first = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    per_day = int(users * active)
    for day in range(DAYS):
        start = first + timedelta(days=day)
        for user in rng.sample(range(users), per_day):
            moment = start + timedelta(seconds=rng.randrange(86_400))
            if moment <= now:
                yield user, moment


def marks(
    users: int, active: float, now: datetime, seed: int, policy: RetentionPolicy
) -> Iterator[Mark]:
    for user, moment in history(users, active, now, seed):
        # Built directly: the repository checks every mark it writes.
        yield Mark(EVENT, user, moment, hourly=True, retention=policy)


def used_memory(client: redis.Redis) -> int:
    info = cast("dict[str, int]", client.info("memory"))
    return int(info["used_memory"])


def run(server: LocalRedisServer, users: int, active: float, seed: int) -> None:
    client = redis.Redis.from_url(server.url)
    now = datetime.now(timezone.utc)
    print(
        f"{DAYS} days of hourly tracking of {EVENT!r}: {users:,} users (ids 0..{users - 1:,}), "
        f"each active {active:.0%} of days in one random hour; Redis "
        f"{cast('dict[str, str]', client.info('server'))['redis_version']}"
    )
    results: list[tuple[str, StorageReport, int, float]] = []
    for label, policy in (
        ("no policy", NO_RETENTION),
        ('{"hours": 14}', RetentionPolicy.create(POLICY)),
    ):
        client.flushall()
        before = used_memory(client)
        repository = RedisRepository(client)
        began = time.perf_counter()
        repository.mark(marks(users, active, now, seed, policy))
        spent = time.perf_counter() - began
        after = used_memory(client)
        report = storage_report(
            RedisKeyspace(repository), policy, zone=timezone.utc, now=now, budget=600
        )
        results.append((label, report, after - before, spent))
    print()
    print(f"{'policy':<16}{'group':<8}{'keys':>8}{'MEMORY USAGE':>15}")
    for label, report, _, _ in results:
        for group in report.groups:
            print(f"{label:<16}{group.group:<8}{group.keys:>8,}{format_bytes(group.bytes):>15}")
    print()
    header = f"{'policy':<16}{'keys':>8}{'MEMORY USAGE':>15}{'used_memory':>14}"
    print(header + f"{'1 year (report)':>18}{'marking s':>11}")
    for label, report, grown, spent in results:
        projected = (
            report.projected_with_policy if report.policy else report.projected_without_policy
        )
        print(
            f"{label:<16}{report.keys:>8,}{format_bytes(report.bytes):>15}"
            f"{format_bytes(grown):>14}{format_bytes(projected):>18}{spent:>11.1f}"
        )
    (_, without, _, _), (_, kept, _, _) = results
    print(
        f"\nwith {POLICY}: {kept.bytes / without.bytes:.0%} of the memory without a policy "
        f"({format_bytes(without.bytes - kept.bytes)} less)"
    )
    client.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--active", type=float, default=0.05, help="share of users per day")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        try:
            run(server, args.users, args.active, args.seed)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
