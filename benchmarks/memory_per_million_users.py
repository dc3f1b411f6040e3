"""How much Redis memory bitmaps take per million users (run by hand: ``make bench``).

Starts a private redis-server on a loopback port, marks events through the product's
RedisRepository (month, week and day bitmaps in bitmapist's key format, written with
BITFIELD) and reads Redis's own accounting
(``MEMORY USAGE`` per key, ``used_memory`` overall). Prints the figures next to the
baseline: 1,000,000 bits = 125,000 bytes per bitmap.
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_bitmapist.domain import Mark
from flask_bitmapist.infra import RedisRepository
from tests.integration.servers import LocalRedisServer

PREFIX = "trackist_"
MOMENT = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
MILLION = 1_000_000
BASELINE_BYTES = MILLION // 8


def marks(event: str, user_ids: Iterable[int]) -> Iterator[Mark]:
    return (Mark.create(event, user_id, MOMENT) for user_id in user_ids)


def used_memory(client: redis.Redis) -> int:
    info = cast("dict[str, int]", client.info("memory"))
    return int(info["used_memory"])


def measure(
    client: redis.Redis,
    title: str,
    event: str,
    user_ids: Iterable[int],
    *,
    one_by_one: bool = False,
) -> None:
    """Mark ``user_ids`` in bulk (as an import does), or one mark per call (as requests do)."""
    client.flushall()
    before = used_memory(client)
    repository = RedisRepository(client, prefix=PREFIX)
    if one_by_one:
        for mark in marks(event, user_ids):
            repository.mark([mark])
    else:
        repository.mark(marks(event, user_ids))
    after = used_memory(client)
    keys = sorted(cast("list[bytes]", client.keys(f"{PREFIX}{event}_*")))
    sizes = {key.decode(): cast(int, client.memory_usage(key)) for key in keys}
    print(f"-- {title}")
    for key, size in sizes.items():
        print(f"   {key:<36} {size:>9,} bytes  ({size / BASELINE_BYTES:.3f} x baseline)")
    print(f"   keys touched by one mark: {len(keys)}")
    grown = after - before
    print(f"   used_memory grew by {grown:,} bytes ({grown / len(keys):,.0f} per key)")


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        try:
            client = server.client(timeout=30.0)
            print(f"baseline: a bitmap of {MILLION:,} users is {BASELINE_BYTES:,} bytes")
            measure(
                client,
                "1,000,000 users, ids 0..999,999, all active on one day",
                "all",
                range(MILLION),
            )
            rng = random.Random(0)
            shuffled = rng.sample(range(MILLION), MILLION)
            measure(client, "the same 1,000,000 users, marked in random order", "mixed", shuffled)
            sample = rng.sample(range(MILLION), MILLION // 100)
            measure(client, "10,000 of them (1%, random ids), in bulk", "some", sample)
            measure(
                client,
                "the same 10,000, one mark per call (as live requests mark)",
                "live",
                sample,
                one_by_one=True,
            )
            measure(client, "one user, id 999,999, active on one day", "one", [MILLION - 1])
            measure(client, "one user, id 1,000, active on one day", "low", [1000])
        finally:
            server.stop()


if __name__ == "__main__":
    main()
