"""The circuit breaker: skip a failing store for a short, growing interval, one probe at a
time; on a Redis repository, the skipped calls send nothing."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
import redis

from flask_bitmapist.domain import BitmapId, InvalidStorageConfig, Mark, StorageUnavailable
from flask_bitmapist.infra import RedisIdMapper, RedisRepository
from flask_bitmapist.infra.breaker import CircuitBreaker

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(interval=0.5, max_interval=2.0, clock=clock)


def skipped(breaker: CircuitBreaker) -> bool:
    try:
        breaker.before_call("Redis at x", "marking")
    except StorageUnavailable as exc:
        assert exc.skipped and not exc.outcome_unknown
        return True
    return False


def test_a_closed_breaker_lets_every_call_through(breaker: CircuitBreaker) -> None:
    assert not any(skipped(breaker) for _ in range(3))
    assert not breaker.is_open and breaker.retry_in() == 0


def test_a_failure_skips_the_store_for_the_interval_naming_the_failure(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    breaker.failed(TimeoutError("no answer"))
    with pytest.raises(StorageUnavailable, match=r"marking\): skipped for 0.5 s more .*no answer"):
        breaker.before_call("Redis at x", "marking")
    clock.now += 0.49
    assert skipped(breaker)
    clock.now += 0.02
    assert not skipped(breaker)  # the probe


def test_one_probe_at_a_time_and_its_success_closes(breaker: CircuitBreaker, clock: Clock) -> None:
    breaker.failed(ConnectionError("refused"))
    clock.now += 1
    assert not skipped(breaker)  # this thread probes
    others: list[bool] = []
    thread = threading.Thread(target=lambda: others.append(skipped(breaker)))
    thread.start()
    thread.join()
    assert others == [True]  # another thread is skipped while the probe is out
    assert breaker.succeeded() is True
    assert not breaker.is_open and not skipped(breaker)
    assert breaker.state().failures == 0


def test_failed_probes_double_the_interval_up_to_the_maximum(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    breaker.failed(ConnectionError("refused"))
    intervals = [breaker.state().interval]
    for _ in range(4):
        clock.now += breaker.retry_in()
        assert not skipped(breaker)
        breaker.failed(ConnectionError("refused"))
        intervals.append(breaker.state().interval)
    assert intervals == [0.5, 1.0, 2.0, 2.0, 2.0]
    breaker.succeeded()
    breaker.failed(ConnectionError("refused"))
    assert breaker.state().interval == 0.5  # a new outage starts short again


def test_a_failure_from_a_call_already_under_way_does_not_extend_the_interval(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    breaker.failed(ConnectionError("first"))
    clock.now += 0.3
    breaker.failed(ConnectionError("second, sent before the breaker opened"))
    state = breaker.state()
    assert (state.interval, state.failures, round(state.retry_in, 3)) == (0.5, 2, 0.2)


def test_a_reserved_prober_is_the_only_thread_that_probes(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    results: dict[str, bool] = {}

    def background() -> None:
        breaker.reserve_probes()
        started.set()
        go.wait()
        results["prober"] = skipped(breaker)
        breaker.release_probes()

    started, go = threading.Event(), threading.Event()
    thread = threading.Thread(target=background)
    thread.start()
    started.wait()
    breaker.failed(ConnectionError("refused"))
    clock.now += 1
    results["request"] = skipped(breaker)  # due, but the probe is reserved
    go.set()
    thread.join()
    assert results == {"request": True, "prober": False}


@pytest.mark.parametrize(
    ("interval", "max_interval", "message"),
    [
        (-1, 5, "0 or more"),
        (1, float("inf"), "0 or more"),
        (2, 1, "must not be below"),
        ("1", 2, "a number"),
    ],
)
def test_bad_intervals_are_refused(interval: object, max_interval: object, message: str) -> None:
    with pytest.raises(InvalidStorageConfig, match=message):
        CircuitBreaker(interval=interval, max_interval=max_interval)  # type: ignore[arg-type]


def test_a_repository_skips_the_dead_store_without_connecting_and_its_id_map_too(
    monkeypatch: pytest.MonkeyPatch, refused_port: int
) -> None:
    repository = RedisRepository.from_url(f"redis://127.0.0.1:{refused_port}/0")
    mapper = RedisIdMapper.of(repository)
    connects: list[int] = []
    original = redis.connection.Connection.connect

    def counting(self: redis.connection.Connection) -> None:
        connects.append(1)
        original(self)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(redis.connection.Connection, "connect", counting)
    try:
        with pytest.raises(StorageUnavailable) as first:
            repository.mark([Mark.create("e", 1, NOW)])
        assert not first.value.skipped and not first.value.outcome_unknown
        tried = len(connects)
        for call in (
            lambda: repository.mark([Mark.create("e", 2, NOW)]),
            lambda: repository.fetch([BitmapId("e", None)]),
            repository.event_names,
            lambda: mapper.assign(["a"]),
        ):
            with pytest.raises(StorageUnavailable, match="skipped") as caught:
                call()
            assert caught.value.skipped
        assert len(connects) == tried  # nothing was sent while the breaker was open
        assert repository.breaker is mapper.transport.breaker
    finally:
        repository.close()
