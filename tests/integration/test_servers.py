"""The integration fixtures start what they promise: real servers, a real browser."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from redis.cluster import RedisCluster

from tests.integration.servers import CLUSTER_SLOTS, LocalRedisCluster, LocalRedisServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# -- single server -----------------------------------------------------------


def test_redis_server_listens_on_loopback_and_stores_values(
    redis_server: LocalRedisServer, redis_url: str
) -> None:
    assert redis_server.host == "127.0.0.1"
    assert redis_url == f"redis://127.0.0.1:{redis_server.port}/0"
    with redis.Redis.from_url(redis_url) as client:
        assert client.set("trackist_user:signup_2026-11", b"\x80")
        assert client.get("trackist_user:signup_2026-11") == b"\x80"
        client.setbit("trackist_user:signup_W2026-48", 9, 1)
        assert client.getbit("trackist_user:signup_W2026-48", 9) == 1
        assert client.bitcount("trackist_user:signup_W2026-48") == 1


def test_redis_server_persists_nothing(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}


@pytest.mark.parametrize("run", [1, 2])
def test_redis_url_gives_every_test_an_empty_database(redis_url: str, run: int) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set(f"left-over-{run}", run)


# -- cluster -------------------------------------------------------------------


def _key_owner(cluster: LocalRedisCluster, key: str) -> tuple[str, int]:
    """The node whose slot ranges contain ``key``'s slot, per CLUSTER SLOTS."""
    with cluster.servers[0].client() as client:
        slot = client.execute_command("CLUSTER KEYSLOT", key)
        for start, end, primary, *_replicas in client.execute_command("CLUSTER SLOTS"):
            if start <= slot <= end:
                host = primary[0].decode() if isinstance(primary[0], bytes) else primary[0]
                return (host, int(primary[1]))
    raise AssertionError(f"no node serves slot {slot} of {key!r}")


@pytest.mark.cluster
def test_cluster_has_three_nodes_that_all_report_state_ok(
    redis_cluster: LocalRedisCluster, redis_cluster_url: str
) -> None:
    assert len(redis_cluster.nodes) == 3
    assert len(set(redis_cluster.nodes)) == 3
    assert redis_cluster_url == f"redis://{redis_cluster.nodes[0][0]}:{redis_cluster.nodes[0][1]}/0"
    for index in range(3):
        info = redis_cluster.cluster_info(index)
        assert info["cluster_state"] == "ok"
        assert info["cluster_slots_assigned"] == str(CLUSTER_SLOTS)
        assert info["cluster_known_nodes"] == "3"
        assert info["cluster_size"] == "3"  # three primaries, each serving slots


@pytest.mark.cluster
def test_keys_written_through_a_cluster_client_land_on_their_slot_owner(
    redis_cluster: LocalRedisCluster, redis_cluster_url: str
) -> None:
    keys = [f"trackist_event{n}_2026-11-27" for n in range(30)]
    client = RedisCluster.from_url(redis_cluster_url)
    try:
        for n, key in enumerate(keys):
            client.setbit(key, n, 1)
        for n, key in enumerate(keys):
            assert client.getbit(key, n) == 1
            assert client.bitcount(key) == 1
    finally:
        client.close()

    owners = set()
    for key in keys:
        owner = _key_owner(redis_cluster, key)
        owners.add(owner)
        for server in redis_cluster.servers:
            with server.client() as node:
                if server.address == owner:
                    assert node.exists(key) == 1
                else:  # other nodes redirect to the owner (redis-py 6 drops "MOVED ")
                    with pytest.raises(
                        redis.ResponseError, match=rf"^(MOVED )?\d+ {owner[0]}:{owner[1]}$"
                    ):
                        node.exists(key)
    assert len(owners) >= 2  # thirty keys spread over more than one node


@pytest.mark.cluster
def test_redis_cluster_url_gives_every_test_an_empty_cluster(
    redis_cluster: LocalRedisCluster, redis_cluster_url: str
) -> None:
    for server in redis_cluster.servers:
        with server.client() as node:
            assert node.dbsize() == 0


@pytest.mark.cluster
def test_a_killed_node_fails_the_cluster_until_it_is_restarted(
    redis_cluster: LocalRedisCluster, redis_cluster_url: str
) -> None:
    redis_cluster.kill_node(2)
    assert not redis_cluster.servers[2].is_running()
    assert not redis_cluster.is_healthy()
    client = RedisCluster.from_url(redis_cluster_url)
    try:
        with pytest.raises(redis.RedisError):
            # Without a replica, slots of the dead node cannot be served.
            for n in range(50):
                client.set(f"key-{n}", n)
    finally:
        client.close()

    redis_cluster.restart_node(2)
    assert redis_cluster.is_healthy()
    client = RedisCluster.from_url(redis_cluster_url)
    try:
        for n in range(50):
            client.set(f"key-{n}", n)
        assert [int(client.get(f"key-{n}") or -1) for n in range(50)] == list(range(50))
    finally:
        client.close()


# -- browser -------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[str]:
    """A tiny page served from a thread on a free loopback port; yields its URL."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>Flask-Bitmapist smoke test</title></head>"
        "<body><h1 id='greeting'>Hello, Chromium</h1></body></html>",
        encoding="utf-8",
    )
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
        finally:
            server.shutdown()
            thread.join(timeout=10)


@pytest.mark.browser
def test_browser_renders_a_local_page(browser: Browser, static_site: str) -> None:
    page = browser.new_page()
    try:
        response = page.goto(static_site)
        assert response is not None
        assert response.status == 200
        assert page.title() == "Flask-Bitmapist smoke test"
        assert page.locator("#greeting").inner_text() == "Hello, Chromium"
    finally:
        page.close()
