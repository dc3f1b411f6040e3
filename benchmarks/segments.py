"""Properties and segments on a real redis-server.

Run by hand (it starts and stops its own redis-server on a free loopback port)::

    .venv/bin/python benchmarks/segments.py
    .venv/bin/python benchmarks/segments.py --users 1000000 --values 5 --rounds 5

It measures

- setting a property for every user in bulk (``set_properties``: one script run per
  property per 1,000 assignments), first into empty values, then moving every user to
  another value (each move tests one bit per value of the property);
- ``resolve_segment("plan=v0 & ~beta | plan=v1")`` over those users: listing the
  properties and saved cohorts, then one read of the three user sets;
- one ``set_property`` through the facade, as a request or an ORM commit pays it.

Figures are medians over ``--rounds``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask

from flask_bitmapist import FlaskBitmapist, set_property
from flask_bitmapist.domain import Bitmap, PropertyAssignment
from flask_bitmapist.infra import RedisRepository
from flask_bitmapist.services.segments import SegmentLimits, resolve_segment
from tests.integration.servers import LocalRedisServer


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(server: LocalRedisServer, users: int, values: int, rounds: int) -> None:
    repository = RedisRepository.from_url(server.url, socket_timeout=30)
    names = [f"v{i}" for i in range(values)]

    def assign(shift: int) -> None:
        repository.set_properties(
            PropertyAssignment(uid, "plan", names[(uid + shift) % values]) for uid in range(users)
        )

    start = time.perf_counter()
    assign(0)
    first = time.perf_counter() - start
    shift = 0

    def move() -> None:
        nonlocal shift
        shift += 1
        assign(shift)

    moving = median_seconds(move, rounds)
    repository.save_cohort("beta", Bitmap.from_ids(range(0, users, 7)))
    limits = SegmentLimits(max_user_id=users)
    resolving = median_seconds(
        lambda: resolve_segment(repository, "plan=v0 & ~beta | plan=v1", limits), rounds
    )
    print(f"users {users:,}, values of 'plan' {values}, rounds {rounds}")
    print(f"set_properties, into empty values: {first:.2f} s ({users / first:,.0f}/s)")
    print(f"set_properties, moving every user: {moving:.2f} s ({users / moving:,.0f}/s)")
    print(f"resolve_segment('plan=v0 & ~beta | plan=v1'): {resolving * 1000:.1f} ms")

    app = Flask("bench")
    app.config["BITMAPIST_REDIS_URL"] = server.url
    FlaskBitmapist(app)
    with app.app_context():
        calls = 2000

        def calls_of_set_property() -> None:
            for uid in range(calls):
                set_property(uid, "plan", names[uid % values])

        one = median_seconds(calls_of_set_property, rounds)
    print(f"set_property(), one call: {one / calls * 1e6:.0f} us")
    repository.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--values", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        try:
            run(server, args.users, args.values, args.rounds)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
