"""What a Redis outage costs marking: marks lost, request latency, partial cluster marks.

Run by hand (it starts and stops its own redis-servers with append-only files, on free
loopback ports)::

    .venv/bin/python benchmarks/outage.py                  # kill, hang and cluster
    .venv/bin/python benchmarks/outage.py --cases kill --outage 5

Each case marks from ``--threads`` threads through ``mark_event`` (every mark a new user
of one event, so a lost mark is a missing bit), takes storage away for ``--outage``
seconds a second into the run, brings it back, goes on marking for a few seconds, then
waits up to ``--settle`` seconds for the process's counters to stop moving and compares
what was sent with what Redis holds:

- kill: the redis-server is SIGKILLed and restarted (its append-only file reloads);
- hang: the redis-server is SIGSTOPped and SIGCONTinued;
- cluster: one node of a three-node Redis Cluster is SIGKILLed and restarted; for every
  user, its day, ISO week and month bits are compared (a partly written mark shows as a
  user in the day's bitmap but not the week's, or the other way round).

Printed per case: marks sent, marks missing afterwards, the marks sent while storage was
away and how many of those requests took longer than 0.1 s, the slowest request, and the
extension's counters (``status()`` where the extension has it).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis
from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_bitmapist import FlaskBitmapist, mark_event
from flask_bitmapist.domain import BitmapId, Period, TimeGroup
from tests.integration.servers import LocalRedisCluster, LocalRedisServer

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=timezone.utc)
EVENT = "load:marked"
SLOW = 0.1


class Load:
    """Threads marking new users until stopped; records when each mark was sent, and how
    long it took."""

    def __init__(self, app: Flask, threads: int) -> None:
        self.app = app
        self.threads = threads
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent: list[tuple[int, float, float]] = []  # (user, started, seconds)
        self._next = 0
        self._workers = [threading.Thread(target=self._work) for _ in range(threads)]

    def _user(self) -> int:
        with self.lock:
            self._next += 1
            return self._next

    def _work(self) -> None:
        with self.app.app_context():
            while not self.stop.is_set():
                user = self._user()
                started = time.monotonic()
                mark_event(EVENT, user, now=NOW)
                spent = time.monotonic() - started
                with self.lock:
                    self.sent.append((user, started, spent))
                time.sleep(0.001)  # a request's other work

    def __enter__(self) -> Load:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for worker in self._workers:
            worker.join()


def app_for(url: str, cluster: bool) -> Flask:
    app = Flask(f"outage-{'cluster' if cluster else 'single'}")
    app.config.update(
        BITMAPIST_REDIS_URL=url,
        BITMAPIST_REDIS_CLUSTER=cluster,
        BITMAPIST_DISABLE_BLUEPRINT=True,
        BITMAPIST_ERROR_LOG_INTERVAL=2.0,
    )
    FlaskBitmapist(app)
    return app


def counters(app: Flask) -> dict[str, Any]:
    state = app.extensions["bitmapist"]
    if hasattr(state, "status"):
        status: dict[str, Any] = state.status().as_dict()
        return status
    return {"failed_marks": state.failed_marks}


def settle(app: Flask, seconds: float) -> float:
    """Wait until the counters stop moving (at most ``seconds``); returns the wait."""
    began = time.monotonic()
    last = counters(app)
    quiet_since = began
    while time.monotonic() - began < seconds:
        time.sleep(0.25)
        now = counters(app)
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif now.get("pending", 0) == 0 and time.monotonic() - quiet_since > 1.0:
            break
    return time.monotonic() - began


def run_case(
    name: str,
    app: Flask,
    fault: Callable[[], None],
    repair: Callable[[], None],
    bits: Callable[[list[int]], dict[str, set[int]]],
    *,
    threads: int,
    outage: float,
    settle_for: float,
) -> None:
    with Load(app, threads) as load:
        time.sleep(1.0)
        down_at = time.monotonic()
        fault()
        time.sleep(outage)
        repair()
        up_at = time.monotonic()
        time.sleep(3.0)
    waited = settle(app, settle_for)
    users = [user for user, _, _ in load.sent]
    held = bits(users)
    day = held["day"]
    missing = [user for user in users if user not in day]
    during = [(u, s) for u, started, s in load.sent if down_at <= started < up_at]
    slow = sum(1 for _, s in during if s > SLOW)
    spent = [s for _, _, s in load.sent]
    print(f"== {name}: {threads} threads, storage away {up_at - down_at:.1f} s")
    print(f"  marks sent: {len(users):,}; missing afterwards: {len(missing):,}")
    print(
        f"  sent while away: {len(during):,}; of those slower than {SLOW} s: {slow:,}; "
        f"slowest request: {max(spent):.3f} s; median {statistics.median(spent) * 1e3:.2f} ms"
    )
    if "week" in held:
        week, month = held["week"], held["month"]
        sent = set(users)
        print(
            "  day/week/month disagree for "
            f"{len(((day ^ week) | (day ^ month)) & sent):,} users "
            f"(day only: {len((day - week) & sent):,}, week only: {len((week - day) & sent):,})"
        )
    print(f"  counters after {waited:.1f} s: {counters(app)}")


def bits_of(
    client: Any, prefix: str, users: Sequence[int], groups: Sequence[TimeGroup]
) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for group in groups:
        period = Period.containing(group, NOW)
        key = f"{prefix}{EVENT}_{BitmapId(EVENT, period).key_suffix}"
        raw = client.get(key) or b""
        present = set()
        for user in users:
            byte = user >> 3
            if byte < len(raw) and raw[byte] & (0x80 >> (user & 7)):
                present.add(user)
        found[{TimeGroup.DAY: "day", TimeGroup.WEEK: "week", TimeGroup.MONTH: "month"}[group]] = (
            present
        )
    return found


def single(kind: str, workdir: Path, args: argparse.Namespace) -> None:
    server = LocalRedisServer(workdir / kind, appendonly=True)
    server.start()
    try:
        app = app_for(server.url, cluster=False)
        pid = server.pid
        assert pid is not None

        def fault() -> None:
            if kind == "kill":
                server.kill()
            else:
                os.kill(pid, signal.SIGSTOP)

        def repair() -> None:
            if kind == "kill":
                server.restart()
            else:
                os.kill(pid, signal.SIGCONT)

        def bits(users: list[int]) -> dict[str, set[int]]:
            with server.client() as client:
                return bits_of(client, "trackist_", users, [TimeGroup.DAY])

        run_case(
            kind,
            app,
            fault,
            repair,
            bits,
            threads=args.threads,
            outage=args.outage,
            settle_for=args.settle,
        )
    finally:
        server.stop()


def cluster(workdir: Path, args: argparse.Namespace) -> None:
    nodes = LocalRedisCluster(workdir / "cluster", appendonly=True)
    nodes.start()
    try:
        app = app_for(nodes.url, cluster=True)
        # The node that holds the week's bitmap: killing it splits every mark.
        with app.app_context():
            client = app.extensions["bitmapist"].repository.client
            week = Period.containing(TimeGroup.WEEK, NOW)
            owner = client.get_node_from_key(f"trackist_{EVENT}_{BitmapId(EVENT, week).key_suffix}")
        index = [f"{h}:{p}" for h, p in nodes.nodes].index(owner.name)

        def bits(users: list[int]) -> dict[str, set[int]]:
            with redis.cluster.RedisCluster.from_url(nodes.url) as client:
                return bits_of(
                    client, "trackist_", users, [TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH]
                )

        run_case(
            "cluster",
            app,
            lambda: nodes.kill_node(index),
            lambda: nodes.restart_node(index),
            bits,
            threads=args.threads,
            outage=args.outage,
            settle_for=args.settle,
        )
    finally:
        nodes.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", nargs="+", default=["kill", "hang", "cluster"])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--outage", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=15.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        for case in args.cases:
            if case == "cluster":
                cluster(Path(workdir), args)
            else:
                single(case, Path(workdir), args)


if __name__ == "__main__":
    main()
