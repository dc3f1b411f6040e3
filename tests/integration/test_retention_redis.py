"""Retention on a real redis-server and a real Redis Cluster: the expiry each key gets
from a mark (PEXPIRETIME), sent with the bits in one socket write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest
import redis
from redis.cluster import RedisCluster

from flask_bitmapist.domain import Mark, Period, RetentionPolicy, TimeGroup
from flask_bitmapist.infra import RedisRepository

POLICY = RetentionPolicy.create({"hours": 14, "days": 400, "weeks": 500})
EVENT = "checkout:paid"


def now() -> datetime:
    # Real time: Redis expires keys on its own clock, so marks must be recent.
    return datetime.now(timezone.utc).replace(microsecond=0)


def expected_expiries(repository: RedisRepository, moment: datetime) -> dict[str, int]:
    """Key -> PEXPIRETIME Redis should report (-1: no expiry)."""
    expected = {}
    for group in (TimeGroup.HOUR, TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH):
        period = Period.containing(group, moment)
        at = POLICY.expiry(period)
        key = f"{repository.prefix}{EVENT}_{period.key_suffix}"
        expected[key] = -1 if at is None else int(at.timestamp() * 1000)
    expected[f"{repository.prefix}{EVENT}_u"] = -1
    return expected


class CountingSocket:
    """Forwards to a socket, counting ``sendall`` calls."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.writes = 0

    def sendall(self, data: Any) -> None:
        self.writes += 1
        self.sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


@pytest.fixture
def single(redis_url: str) -> Iterator[RedisRepository]:
    repository = RedisRepository.from_url(redis_url)
    yield repository
    repository.close()


def test_a_mark_gives_each_key_its_expiry_in_the_one_write_of_its_bits(
    single: RedisRepository,
) -> None:
    moment = now()
    mark = Mark.create(EVENT, 42, moment, hourly=True, unique=True, retention=POLICY)
    single.mark([Mark.create(EVENT, 1, moment)])  # connects; no policy: no expiry yet
    client = cast(redis.Redis, single.client)
    connection = client.connection_pool.get_connection()
    counting = CountingSocket(connection._sock)
    connection._sock = counting
    client.connection_pool.release(connection)
    try:
        single.mark([mark])
    finally:
        connection._sock = counting.sock
    assert counting.writes == 1
    expected = expected_expiries(single, moment)
    assert {key: client.pexpiretime(key) for key in expected} == expected
    assert all(client.getbit(key, 42) for key in expected)
    hour_key = next(key for key, at in expected.items() if key.count("-") == 3)
    assert 13 * 86400 < cast(int, client.ttl(hour_key)) <= 14 * 86400 + 3600


def test_a_mark_in_a_period_already_past_its_expiry_leaves_no_key(
    single: RedisRepository,
) -> None:
    old = now() - timedelta(days=30)
    single.mark([Mark.create(EVENT, 42, old, hourly=True, retention=POLICY)])
    client = cast(redis.Redis, single.client)
    keys = {key.decode() for key in client.scan_iter(match="trackist_*")}
    hour = Period.containing(TimeGroup.HOUR, old).key_suffix
    assert f"trackist_{EVENT}_{hour}" not in keys  # hours are kept 14 days
    assert f"trackist_{EVENT}_{Period.containing(TimeGroup.DAY, old).key_suffix}" in keys


def test_bulk_marks_over_many_periods_each_get_their_own_expiry(single: RedisRepository) -> None:
    base = now()
    marks = [
        Mark.create(EVENT, user, base - timedelta(hours=hours), hourly=True, retention=POLICY)
        for hours in range(0, 48, 5)
        for user in range(50)
    ]
    single.mark(marks)
    client = cast(redis.Redis, single.client)
    for hours in range(0, 48, 5):
        expected = expected_expiries(single, base - timedelta(hours=hours))
        assert {key: client.pexpiretime(key) for key in expected if not key.endswith("_u")} == {
            key: at for key, at in expected.items() if not key.endswith("_u")
        }


def test_marks_on_a_cluster_give_every_node_its_keys_expiries(redis_cluster_url: str) -> None:
    repository = RedisRepository.from_url(redis_cluster_url, cluster=True)
    try:
        moment = now()
        events = [f"{EVENT}:{n}" for n in range(12)]  # keys on every node
        repository.mark([Mark.create(e, 7, moment, hourly=True, retention=POLICY) for e in events])
        client = cast(RedisCluster, repository.client)
        for event in events:
            for group in (TimeGroup.HOUR, TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH):
                period = Period.containing(group, moment)
                key = f"trackist_{event}_{period.key_suffix}"
                at = POLICY.expiry(period)
                assert client.pexpiretime(key) == (-1 if at is None else int(at.timestamp() * 1000))
                assert client.getbit(key, 7) == 1
    finally:
        repository.close()


def test_an_expiry_already_sent_is_sent_again_after_the_resend_interval(
    single: RedisRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from flask_bitmapist.infra import redis_repository

    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    moment = now()
    single.mark([Mark.create(EVENT, 1, moment, retention=POLICY)])
    client = cast(redis.Redis, single.client)
    day_key = f"trackist_{EVENT}_{Period.containing(TimeGroup.DAY, moment).key_suffix}"
    expected = expected_expiries(single, moment)[day_key]
    assert client.pexpiretime(day_key) == expected
    client.persist(day_key)  # another client removes it
    clock[0] += redis_repository.EXPIRY_RESEND_INTERVAL - 1
    single.mark([Mark.create(EVENT, 2, moment, retention=POLICY)])
    assert client.pexpiretime(day_key) == -1  # sent a moment ago: not repeated
    clock[0] += 1
    single.mark([Mark.create(EVENT, 3, moment, retention=POLICY)])
    assert client.pexpiretime(day_key) == expected
    assert [client.getbit(day_key, n) for n in (1, 2, 3)] == [1, 1, 1]
