"""ClusterRouter making its cluster client on first use (no network: the client is a stand-in).

redis-py's RedisCluster asks the nodes for the slot map in its constructor; the router
calls the function that makes it when it is first needed, and again after a failure.
"""

from __future__ import annotations

import threading
import time
from typing import cast

import pytest
import redis
from redis.cluster import RedisCluster

from flask_bitmapist.infra.cluster import ClusterRouter


class Maker:
    """Makes a stand-in client, raising first for the given number of attempts."""

    def __init__(self, failures: int = 0, delay: float = 0.0) -> None:
        self.failures = failures
        self.delay = delay
        self.attempts = 0
        self.made: list[RedisCluster] = []

    def __call__(self) -> RedisCluster:
        self.attempts += 1
        time.sleep(self.delay)
        if self.attempts <= self.failures:
            raise redis.exceptions.RedisClusterException("no node answers")
        client = cast(RedisCluster, object())
        self.made.append(client)
        return client


def test_nothing_is_made_before_the_first_use() -> None:
    maker = Maker()
    router = ClusterRouter(maker)
    router.close()  # no client, nothing to close, nothing made
    assert maker.attempts == 0


def test_the_client_is_made_once_on_first_use() -> None:
    maker = Maker()
    router = ClusterRouter(maker)
    first, second = router.client, router.client
    assert first is second is maker.made[0]
    assert maker.attempts == 1


def test_a_failed_attempt_is_retried_on_the_next_use() -> None:
    maker = Maker(failures=2)
    router = ClusterRouter(maker)
    for _ in range(2):
        with pytest.raises(redis.exceptions.RedisClusterException, match="no node answers"):
            router.client  # noqa: B018
    assert router.client is maker.made[0]
    assert router.client is maker.made[0]
    assert maker.attempts == 3


def test_concurrent_first_uses_make_one_client() -> None:
    maker = Maker(delay=0.05)
    router = ClusterRouter(maker)
    start = threading.Barrier(8)
    seen: list[RedisCluster] = []

    def use() -> None:
        start.wait()
        seen.append(router.client)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert maker.attempts == 1
    assert seen == maker.made * 8
