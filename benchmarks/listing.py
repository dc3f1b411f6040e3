"""Listing the stored months of many events at once, on a real redis-server.

Run by hand (it starts and stops its own redis-server on a free loopback port)::

    .venv/bin/python benchmarks/listing.py                       # 100 events, 300,000 keys
    .venv/bin/python benchmarks/listing.py --events 100 --keys 300000 --repeat 3

The database holds ``--keys`` keys: ``--events`` events with two years of month keys and
a month of day keys each (the events a lifecycle ORs together), and the rest day keys of
other events, as a big app's keyspace has. Timed (median of ``--repeat`` runs after one
warm-up): the listing of every event's stored months (what first-ever answers ask the
repository), then a monthly lifecycle of the OR of all the events, which lists them and
reads their history, and one of a single event, for scale.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cohort import line, timed
from flask_bitmapist.domain import (
    EventRef,
    LifecycleEngine,
    LifecycleSpec,
    Or,
    Period,
    TimeGroup,
)
from flask_bitmapist.infra import RedisRepository
from tests.integration.servers import LocalRedisServer

NOW = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
MONTHS = 24
DAYS = 30


def load(client: redis.Redis, events: list[str], keys: int) -> int:
    """SET the events' month and day keys, then other events' day keys up to ``keys``;
    returns how many keys were written."""
    month = Period.containing(TimeGroup.MONTH, NOW)
    day = Period.containing(TimeGroup.DAY, NOW)
    suffixes = [month.shift(-i).key_suffix for i in range(MONTHS)]
    suffixes += [day.shift(-i).key_suffix for i in range(DAYS)]
    names = [f"trackist_{event}_{suffix}" for event in events for suffix in suffixes]
    other = 0
    while len(names) < keys:
        # Other events' days: 365 days each, 8 per event name's extent.
        names.append(f"trackist_other:{other // 365}_{day.shift(-(other % 365)).key_suffix}")
        other += 1
    value = bytes([0b1010_0000]) * 4
    with client.pipeline(transaction=False) as pipe:
        for start in range(0, len(names), 10_000):
            for name in names[start : start + 10_000]:
                pipe.set(name, value)
            pipe.execute()
    return len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--keys", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    events = [f"feature:{i}" for i in range(options.events)]
    with tempfile.TemporaryDirectory() as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        try:
            with server.client() as client:
                written = load(client, events, options.keys)
                size = client.dbsize()
            repository = RedisRepository.from_url(server.url, connect_timeout=30)
            print(f"{written:,} keys written ({size:,} in the database), {len(events)} events")
            listed = repository.stored_months(events)
            assert all(len(listed[e]) == MONTHS for e in events), "a month is missing"
            seconds, _ = timed(lambda: repository.stored_months(events), options.repeat)
            line(f"stored months of {len(events)} events", f"{seconds:.3f} s")
            seconds, _ = timed(lambda: repository.stored_months(events[:1]), options.repeat)
            line("stored months of one event", f"{seconds:.3f} s")
            everything = Or(tuple(EventRef(e) for e in events))
            for label, expression in (
                (f"lifecycle: OR of {len(events)} events, 3 months", everything),
                ("lifecycle: one event, 3 months", EventRef(events[0])),
            ):
                spec = LifecycleSpec.create(
                    expression, now=NOW, time_group=TimeGroup.MONTH, periods=3
                )
                engine = LifecycleEngine(repository)
                seconds, _ = timed(lambda: engine.compute(spec), options.repeat)  # noqa: B023
                line(label, f"{seconds:.3f} s")
            repository.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
