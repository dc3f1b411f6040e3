"""Single-mark latency on a real redis-server, beside a plain redis-py pipeline.

Run by hand (it starts and stops its own redis-server on a free loopback port)::

    .venv/bin/python benchmarks/marking.py
    .venv/bin/python benchmarks/marking.py --marks 50000 --rounds 7

What a web request pays for one ``mark_event``: the same mark (day, ISO week and month
bitmaps of one user) written, one at a time, by

- ``repository.mark([mark])``: the Redis repository alone;
- ``mark_event(...)``: the whole facade (validation, the marking policy, the replay
  buffer's bookkeeping) in an app context;
- a plain redis-py pipeline (no MULTI) of the three ``SETBIT``s: the baseline;
- ``repository.mark`` and ``mark_event`` again under a retention policy that expires all
  three keys (``BITMAPIST_RETENTION = {"days": 400, "weeks": 800, "months": 800}``):
  each key's ``PEXPIREAT`` goes in the same write as its bits, so a mark with a policy
  must still take one socket write and cost at most 1.3x one without (DESIGN 14);
- ``repository.mark`` of new keys (an event per mark), without and with the policy: a
  repository sends a key's expiry with its first mark and then at most once a minute, so
  this is where every mark carries three ``PEXPIREAT`` (the socket writes are counted
  on such marks too);
- a ``PING``: the loopback round trip itself, which every method above pays once.

The figures that reproduce across machines and load are the ratios to the pipeline
(docs/reliability.md gives those, with the round trip they were measured against);
absolute microseconds move with the machine.

Methods take turns in rounds, so that a noisy neighbour slows all of them alike; the
figures are the medians over rounds of each round's median and 99th percentile. It also
counts the socket writes one mark takes (``sendall`` calls on the connection's socket).
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
from typing import Any, cast

import redis
from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_bitmapist import FlaskBitmapist, mark_event
from flask_bitmapist.domain import Mark, RetentionPolicy
from flask_bitmapist.infra import RedisRepository
from tests.integration.servers import LocalRedisServer

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=timezone.utc)
EVENT = "page:viewed"
#: Every key a mark writes expires: the most work a policy adds.
RETENTION = {"days": 400, "weeks": 800, "months": 800}
#: What DESIGN 14 allows a policy to cost.
ALLOWED_RATIO = 1.3


class CountingSocket:
    """Forwards to a socket, counting ``sendall`` calls."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.writes = 0

    def sendall(self, data: Any) -> None:
        self.writes += 1
        self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def socket_writes(client: redis.Redis, call: Callable[[], object]) -> int:
    """How many ``sendall`` calls ``call`` makes on ``client``'s pooled connection."""
    call()  # connect first
    connection = client.connection_pool.get_connection()
    counting = CountingSocket(connection._sock)
    connection._sock = counting
    client.connection_pool.release(connection)
    try:
        call()
    finally:
        connection._sock = counting._sock
    return counting.writes


def timings(call: Callable[[int], object], marks: int, start: int) -> list[float]:
    """Microseconds per call, one call per user id."""
    out = []
    clock = time.perf_counter
    for user in range(start, start + marks):
        began = clock()
        call(user)
        out.append((clock() - began) * 1e6)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--marks", type=int, default=20_000, help="marks per method per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        try:
            run(server, args.marks, args.rounds)
        finally:
            server.stop()


def run(server: LocalRedisServer, marks: int, rounds: int) -> None:
    repository = RedisRepository.from_url(server.url)
    plain = redis.Redis.from_url(server.url)
    keys = [repository.key(target) for target in Mark.create(EVENT, 0, NOW).targets()]

    policy = RetentionPolicy.create(RETENTION)

    app = Flask("marking-benchmark")
    app.config.update(BITMAPIST_REDIS_URL=server.url, BITMAPIST_DISABLE_BLUEPRINT=True)
    FlaskBitmapist(app)
    kept = Flask("marking-benchmark-retention")
    kept.config.update(
        BITMAPIST_REDIS_URL=server.url,
        BITMAPIST_DISABLE_BLUEPRINT=True,
        BITMAPIST_RETENTION=RETENTION,
        BITMAPIST_KEY_PREFIX="kept_",
    )
    FlaskBitmapist(kept)
    kept_repository = RedisRepository.from_url(server.url, prefix="kept_")

    def ours(user: int) -> None:
        repository.mark([Mark.create(EVENT, user, NOW)])

    def ours_kept(user: int) -> None:
        kept_repository.mark([Mark.create(EVENT, user, NOW, retention=policy)])

    # A key's expiry is sent with its first mark, then again at most once a minute: marks
    # of new keys (an event per mark) send it every time, the worst case of a policy.
    def ours_new(user: int) -> None:
        repository.mark([Mark.create(f"new:{user}", 1, NOW)])

    def ours_new_kept(user: int) -> None:
        kept_repository.mark([Mark.create(f"new:{user}", 1, NOW, retention=policy)])

    def pipeline(user: int) -> None:
        pipe = plain.pipeline(transaction=False)
        for key in keys:
            pipe.setbit(key, user, 1)
        pipe.execute()

    # Both facades push their app's context per mark, so that they pay the same for it.
    app_context = app.app_context()
    kept_context = kept.app_context()

    def facade_kept(user: int) -> None:
        with kept_context:
            mark_event(EVENT, user, now=NOW)

    def facade_plain(user: int) -> None:
        with app_context:
            mark_event(EVENT, user, now=NOW)

    def ping(user: int) -> None:
        plain.ping()

    fresh = iter(range(-1, -100, -1))  # events of their own for the socket-write counts
    with app.app_context():
        client = cast(redis.Redis, app.extensions["bitmapist"].repository.client)
        kept_client = cast(redis.Redis, kept.extensions["bitmapist"].repository.client)
        writes = {
            "repository.mark": socket_writes(cast(redis.Redis, repository.client), lambda: ours(1)),
            "  with retention": socket_writes(
                cast(redis.Redis, kept_repository.client), lambda: ours_kept(1)
            ),
            "mark_event": socket_writes(client, lambda: facade_plain(1)),
            "  with retention ": socket_writes(kept_client, lambda: facade_kept(1)),
            "new keys, repository.mark": socket_writes(
                cast(redis.Redis, repository.client), lambda: ours_new(next(fresh))
            ),
            "  with retention  ": socket_writes(
                cast(redis.Redis, kept_repository.client), lambda: ours_new_kept(next(fresh))
            ),
            "pipeline of 3 SETBITs": socket_writes(plain, lambda: pipeline(1)),
            "PING (round trip)": socket_writes(plain, lambda: ping(1)),
        }
        methods: dict[str, Callable[[int], object]] = {
            "repository.mark": ours,
            "  with retention": ours_kept,
            "mark_event": facade_plain,
            "  with retention ": facade_kept,
            "new keys, repository.mark": ours_new,
            "  with retention  ": ours_new_kept,
            "pipeline of 3 SETBITs": pipeline,
            "PING (round trip)": ping,
        }
        medians: dict[str, list[float]] = {name: [] for name in methods}
        tails: dict[str, list[float]] = {name: [] for name in methods}
        for index in range(rounds):
            for name, call in methods.items():
                spent = timings(call, marks, start=index * marks)
                medians[name].append(statistics.median(spent))
                tails[name].append(percentile(spent, 0.99))
        status = (
            app.extensions["bitmapist"].status()
            if hasattr(app.extensions["bitmapist"], "status")
            else None
        )
        if hasattr(app.extensions["bitmapist"], "close"):
            app.extensions["bitmapist"].close()

    baseline = statistics.median(medians["pipeline of 3 SETBITs"])
    print(f"single-mark latency, {rounds} rounds x {marks:,} marks per method (loopback)")
    print(f"{'method':<24}{'median µs':>11}{'p99 µs':>9}{'socket writes':>15}{'vs pipeline':>13}")
    for name in methods:
        median = statistics.median(medians[name])
        tail = statistics.median(tails[name])
        print(f"{name:<24}{median:>11.1f}{tail:>9.1f}{writes[name]:>15}{median / baseline:>12.2f}x")
    if status is not None:
        print(f"facade counters: {status}")
    day_key = kept_repository.key(Mark.create(EVENT, 0, NOW).targets()[2])
    print(f"with retention, {day_key} expires at {plain.pexpiretime(day_key)} ms (PEXPIRETIME)")
    for base, with_policy in (
        ("repository.mark", "  with retention"),
        ("mark_event", "  with retention "),
        ("new keys, repository.mark", "  with retention  "),
    ):
        ratio = statistics.median(medians[with_policy]) / statistics.median(medians[base])
        verdict = "ok" if ratio <= ALLOWED_RATIO and writes[with_policy] == 1 else "TOO SLOW"
        print(
            f"{base} with a retention policy: {ratio:.2f}x without, "
            f"{writes[with_policy]} socket write(s) (allowed: {ALLOWED_RATIO}x, 1 write): "
            f"{verdict}"
        )
    repository.close()
    kept_repository.close()
    plain.close()


if __name__ == "__main__":
    main()
