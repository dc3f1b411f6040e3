"""Marks survive a storage outage: real redis-servers with append-only files, killed
(SIGKILL) and restarted, or stopped (SIGSTOP) and continued, under marking load from
several threads; and a real three-node cluster with one node killed and restarted.

Every mark whose ``mark_event`` returned must be in Redis afterwards (the replay buffer
was not exceeded), requests made while the breaker is open must not wait for a storage
timeout, and the counters and log lines must tell what happened.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import cast

import pytest
import redis
from flask import Flask

from flask_bitmapist import BitmapistState, FlaskBitmapist, mark_event
from flask_bitmapist.domain import BitmapId, Period, TimeGroup
from tests.integration.outages import settle, wait_for
from tests.integration.servers import LocalRedisCluster, LocalRedisServer, ServerError

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=timezone.utc)
EVENT = "load:marked"
THREADS = 4
# Far above any stall a loaded machine gives a thread, so "slow" means "waited for it".
SOCKET_TIMEOUT = 1.0
#: Each thread stops after this many marks even if the test is still waiting (bounded).
MAX_MARKS_PER_THREAD = 50_000
LOG_INTERVAL = 1.0


class Load:
    """``THREADS`` threads calling ``mark_event`` for new users until stopped; records each
    acknowledged user with when its call started and how long it took."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.done: list[tuple[int, float, float]] = []
        self.errors: list[BaseException] = []
        self._workers = [
            threading.Thread(target=self._work, args=(n,), name=f"load-{n}") for n in range(THREADS)
        ]

    def _work(self, index: int) -> None:
        try:
            with self.app.app_context():
                for n in range(MAX_MARKS_PER_THREAD):
                    if self.stop.is_set():
                        return
                    user = index * MAX_MARKS_PER_THREAD + n
                    started = time.monotonic()
                    mark_event(EVENT, user, now=NOW)
                    spent = time.monotonic() - started
                    with self.lock:
                        self.done.append((user, started, spent))
                    time.sleep(0.002)  # the rest of a request
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)

    def __enter__(self) -> Load:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for worker in self._workers:
            worker.join(30)
        assert not any(worker.is_alive() for worker in self._workers)
        assert not self.errors, self.errors

    def users(self) -> list[int]:
        return [user for user, _, _ in self.done]

    def slow(self, began: float, ended: float, limit: float) -> int:
        """Calls started in [began, ended) that took ``limit`` seconds or more."""
        return sum(1 for _, start, spent in self.done if began <= start < ended and spent >= limit)

    def count(self, began: float, ended: float) -> int:
        return sum(1 for _, start, _ in self.done if began <= start < ended)


def make_app(url: str, *, cluster: bool = False) -> Flask:
    app = Flask("outage")
    app.config.update(
        BITMAPIST_REDIS_URL=url,
        BITMAPIST_REDIS_CLUSTER=cluster,
        BITMAPIST_DISABLE_BLUEPRINT=True,
        BITMAPIST_SOCKET_TIMEOUT=SOCKET_TIMEOUT,
        BITMAPIST_CONNECT_TIMEOUT=SOCKET_TIMEOUT,
        BITMAPIST_ERROR_LOG_INTERVAL=LOG_INTERVAL,
    )
    FlaskBitmapist(app)
    return app


def bits(client: redis.Redis | redis.cluster.RedisCluster, group: TimeGroup) -> set[int]:
    """The users set in ``group``'s bitmap of the event (read raw, as bitmapist would)."""
    key = f"trackist_{EVENT}_{BitmapId(EVENT, Period.containing(group, NOW)).key_suffix}"
    raw = cast(bytes, client.get(key) or b"")
    return {
        byte * 8 + bit
        for byte, value in enumerate(raw)
        if value
        for bit in range(8)
        if value & (0x80 >> bit)
    }


def run_outage(
    app: Flask, take_away: Callable[[], None], bring_back: Callable[[], None], away: float
) -> tuple[Load, float, float]:
    """Mark under load, take storage away for ``away`` seconds, bring it back, mark a
    little more; returns the load and when storage went away and came back."""
    with Load(app) as load:
        time.sleep(0.5)
        down = time.monotonic()
        take_away()
        time.sleep(away)
        bring_back()
        up = time.monotonic()
        time.sleep(0.5)
    return load, down, up


def check_counters_and_log(
    state: BitmapistState, load: Load, records: list[logging.LogRecord]
) -> None:
    status = state.status()
    sent = len(load.done)
    assert (status.pending, status.dropped, status.breaker_open) == (0, 0, False)
    assert status.written + status.replayed == sent
    assert status.replayed == status.buffered > 0
    lines = [r for r in records if r.name == "flask_bitmapist"]
    starts = [r for r in lines if r.levelno == logging.ERROR]
    ends = [r for r in lines if "answers again" in r.getMessage()]
    summaries = [r for r in lines if "still unavailable" in r.getMessage()]
    assert len(starts) == 1 and "is unavailable: " in starts[0].getMessage()
    assert len(ends) == 1
    # One line per outage: the totals of the only outage are the process's totals.
    assert f"during the outage: {status.buffered:,} marks buffered" in ends[0].getMessage()
    assert f"{status.replayed:,} marks replayed" in ends[0].getMessage()
    outage = ends[0].created - starts[0].created
    assert len(summaries) <= outage / LOG_INTERVAL + 1
    assert lines.index(starts[0]) < lines.index(ends[0]) and lines[-1] is ends[0]


@pytest.fixture
def aof_server(tmp_path: Path) -> Iterator[LocalRedisServer]:
    server = LocalRedisServer(tmp_path, appendonly=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_marks_survive_a_killed_and_restarted_redis(
    aof_server: LocalRedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="flask_bitmapist")
    app = make_app(aof_server.url)
    load, down, up = run_outage(app, aof_server.kill, aof_server.restart, away=2.0)
    state: BitmapistState = app.extensions["bitmapist"]
    settle(state)

    with aof_server.client() as client:
        day = bits(client, TimeGroup.DAY)
    missing = set(load.users()) - day
    assert not missing, f"{len(missing)} acknowledged marks lost"
    assert load.count(down, up) > 100  # requests went on while Redis was dead
    # A refused connection fails at once; with the breaker open nothing is even tried.
    assert load.slow(down, up, SOCKET_TIMEOUT) == 0
    check_counters_and_log(state, load, caplog.records)


def test_marks_survive_a_stopped_and_continued_redis_and_requests_stop_waiting(
    aof_server: LocalRedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="flask_bitmapist")
    app = make_app(aof_server.url)
    pid = aof_server.pid
    assert pid is not None
    load, down, up = run_outage(
        app, lambda: os.kill(pid, signal.SIGSTOP), lambda: os.kill(pid, signal.SIGCONT), away=2.0
    )
    state: BitmapistState = app.extensions["bitmapist"]
    settle(state)

    with aof_server.client() as client:
        day = bits(client, TimeGroup.DAY)
    missing = set(load.users()) - day
    assert not missing, f"{len(missing)} acknowledged marks lost"
    # Only the calls already under way when Redis stopped (some began just before it)
    # waited for the socket timeout; then the breaker opened and the rest went straight
    # to the buffer.
    slow = load.slow(0.0, math.inf, SOCKET_TIMEOUT * 0.9)
    assert 1 <= slow <= THREADS
    assert load.count(down, up) > 10 * THREADS
    # Those timed-out writes may or may not have been applied: counted unknown.
    status = state.status()
    assert 1 <= status.unknown <= slow
    check_counters_and_log(state, load, caplog.records)


@pytest.fixture(scope="module")
def aof_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedisCluster]:
    """A three-node cluster whose nodes keep append-only files (a restarted node keeps its
    data, as a production node would)."""
    cluster = LocalRedisCluster(tmp_path_factory.mktemp("aof-cluster"), appendonly=True)
    try:
        cluster.start()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


def test_a_cluster_node_killed_and_restarted_leaves_no_partial_mark(
    aof_cluster: LocalRedisCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="flask_bitmapist")
    app = make_app(aof_cluster.url, cluster=True)
    # Kill the node that holds the week's bitmap: every mark then fails part-way (its day
    # and month keys may live on nodes that stay up).
    week = f"trackist_{EVENT}_{BitmapId(EVENT, Period.containing(TimeGroup.WEEK, NOW)).key_suffix}"
    with redis.cluster.RedisCluster.from_url(aof_cluster.url) as client:
        owner = client.get_node_from_key(week).name
    index = [f"{host}:{port}" for host, port in aof_cluster.nodes].index(owner)

    load, down, up = run_outage(
        app, lambda: aof_cluster.kill_node(index), lambda: aof_cluster.restart_node(index), away=2.0
    )
    state: BitmapistState = app.extensions["bitmapist"]
    settle(state)

    with redis.cluster.RedisCluster.from_url(aof_cluster.url) as client:
        day, week_bits, month = (
            bits(client, group) for group in (TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH)
        )
    sent = set(load.users())
    assert sent <= day, f"{len(sent - day)} acknowledged marks missing from the day"
    # Every mark's day, week and month bits agree: no partial mark stayed.
    assert day == week_bits == month
    assert load.count(down, up) > 100
    status = state.status()
    assert (status.pending, status.dropped) == (0, 0)
    assert status.written + status.replayed == len(sent)
    assert any("answers again" in r.getMessage() for r in caplog.records)


def test_a_write_that_timed_out_is_counted_unknown_not_dropped(
    aof_server: LocalRedisServer,
) -> None:
    # Redis stopped: the mark is sent, then times out, so the caller cannot know whether
    # it was applied. Continued, Redis does apply it (it was in the socket). The honest
    # count is "unknown", not "dropped" or "failed" (it was counted failed before).
    app = Flask("unknown")
    app.config.update(
        BITMAPIST_REDIS_URL=aof_server.url,
        BITMAPIST_DISABLE_BLUEPRINT=True,
        BITMAPIST_SOCKET_TIMEOUT=SOCKET_TIMEOUT,
    )
    FlaskBitmapist(app, replay_in_background=False)
    state: BitmapistState = app.extensions["bitmapist"]
    pid = aof_server.pid
    assert pid is not None
    with app.app_context():
        mark_event(EVENT, 1, now=NOW)  # connected and working
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            mark_event(EVENT, 7, now=NOW)
            assert time.monotonic() - started >= SOCKET_TIMEOUT * 0.9
        finally:
            os.kill(pid, signal.SIGCONT)
    status = state.status()
    assert (status.written, status.unknown, status.buffered, status.dropped) == (1, 1, 1, 0)
    with aof_server.client() as client:
        wait_for(lambda: 7 in bits(client, TimeGroup.DAY), "the timed-out mark applied", 5.0)
    assert state.status().pending == 1  # applied by Redis, not by a replay
    wait_for(lambda: state.status().retry_in == 0, "the breaker due for a probe", 5.0)
    state.recorder.replay()  # harmless: the same bit again
    assert (state.status().replayed, state.status().pending) == (1, 0)
