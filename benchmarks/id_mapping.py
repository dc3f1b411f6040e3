"""What mapping str/UUID user ids costs in Redis (run by hand: ``make bench``).

Starts a private redis-server on a loopback port and maps 1,000,000 ids through the
product's RedisIdMapper, as ``BITMAPIST_MAP_IDS`` does: in batches (an import-sized call)
and one id per call (as a request marking one event does). Reads Redis's own accounting
(``MEMORY USAGE`` of the map's three keys, ``used_memory`` overall) and prints it beside
the baseline: the bitmaps themselves, 125,000 bytes per event and period for 1,000,000
users. ``--ids N`` maps another number of ids.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_bitmapist.domain import ExternalId
from flask_bitmapist.infra import RedisIdMapper
from tests.integration.servers import LocalRedisServer

MILLION = 1_000_000
BITMAP_BYTES_PER_MILLION = MILLION // 8
SINGLE_CALLS = 20_000


def uuids(count: int) -> list[ExternalId]:
    """Random-looking UUIDs, the same every run."""
    return [uuid.UUID(int=(i * 0x9E3779B97F4A7C15_F39CC0605CEDC834) % 2**128) for i in range(count)]


def emails(count: int) -> list[ExternalId]:
    """Short str ids such as ``user000123@example.com``."""
    return [f"user{i:06d}@example.com" for i in range(count)]


def used_memory(client: redis.Redis) -> int:
    return int(cast("dict[str, int]", client.info("memory"))["used_memory"])


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(client: redis.Redis, title: str, ids: Sequence[ExternalId]) -> None:
    client.flushall()
    mapper = RedisIdMapper(client)
    count = len(ids)
    before = used_memory(client)
    bulk = timed(lambda: mapper.assign(ids))
    after = used_memory(client)
    again = timed(lambda: mapper.assign(ids))
    find = timed(lambda: mapper.find(ids))
    originals = timed(lambda: mapper.originals(range(count)))
    assert mapper.count() == count

    print(f"-- {count:,} {title}")
    total = 0
    for key in (mapper.forward_key, mapper.reverse_key, mapper.counter_key):
        size = cast(int, client.memory_usage(key, samples=0))
        total += size
        print(f"   MEMORY USAGE {key:<22} {size:>13,} bytes  ({size / count:6.1f} per id)")
    grown = after - before
    print(f"   map, all three keys        {total:>13,} bytes  ({total / count:6.1f} per id)")
    print(f"   used_memory grew by        {grown:>13,} bytes  ({grown / count:6.1f} per id)")
    per_million = total / count * MILLION
    print(
        f"   per million ids: {per_million / 2**20:,.1f} MiB = "
        f"{per_million / BITMAP_BYTES_PER_MILLION:,.0f} x one bitmap of a million users"
    )
    print(f"   map new ids, {mapper.batch_size:,} per call:  {count / bulk:>11,.0f} ids/s")
    print(f"   map known ids, in batches:   {count / again:>11,.0f} ids/s")
    print(f"   find (no writes), batches:   {count / find:>11,.0f} ids/s")
    print(f"   originals of ints, batches:  {count / originals:>11,.0f} ids/s")

    fresh = [f"single-{i}" for i in range(SINGLE_CALLS)]
    one_new = timed(lambda: [mapper.assign([i]) for i in fresh])
    one_known = timed(lambda: [mapper.assign([i]) for i in fresh])
    print(f"   map one new id per call:     {SINGLE_CALLS / one_new:>11,.0f} calls/s")
    print(f"   map one known id per call:   {SINGLE_CALLS / one_known:>11,.0f} calls/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=MILLION, help="ids to map (default 1e6)")
    count = parser.parse_args().ids
    with tempfile.TemporaryDirectory() as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        try:
            client = server.client(timeout=60.0)
            print(f"baseline: a bitmap of {MILLION:,} users is {BITMAP_BYTES_PER_MILLION:,} bytes")
            measure(client, "UUID ids", uuids(count))
            measure(client, "e-mail-like str ids (22 characters)", emails(count))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
