"""Fixtures that start real servers and a real browser for the integration tests.

- ``redis_server`` (session): a redis-server on a free loopback port; has
  ``.host``, ``.port``, ``.url`` (``redis://127.0.0.1:PORT/0``).
- ``redis_url`` (function): that server's URL, FLUSHALLed before the test.
- ``redis_cluster`` (session): three cluster nodes; has ``.nodes`` (list of
  ``(host, port)``), ``.url`` (first node), ``.kill_node(i)``,
  ``.restart_node(i)``.
- ``redis_cluster_url`` (function): the cluster's URL with every node up and
  every primary flushed before the test.
- ``browser`` (session): Debian's headless Chromium driven by Playwright.

Tests that use ``redis_cluster``/``redis_cluster_url`` are marked ``cluster``
and tests that use ``browser`` are marked ``browser`` automatically, so
``pytest -m "not browser"`` deselects them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    # Imported when a browser test asks for one: the suites run at both ends of the
    # dependency ranges deselect browser tests and do not install Playwright.
    from playwright.sync_api import Browser

from tests.integration.servers import LocalRedisCluster, LocalRedisServer, ServerError

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a sandbox without a GPU or a network: without the background
# networking ones Chromium keeps dialling Google's hosts, which are refused here.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if {"redis_cluster", "redis_cluster_url"} & set(fixtures):
            item.add_marker(pytest.mark.cluster)
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedisServer]:
    """A real redis-server for the whole session."""
    server = LocalRedisServer(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: LocalRedisServer) -> str:
    """URL of the session's redis-server, emptied (FLUSHALL) before this test."""
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedisCluster]:
    """A real three-node Redis Cluster (primaries only) for the whole session."""
    cluster = LocalRedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_cluster_url(redis_cluster: LocalRedisCluster) -> str:
    """URL of the session's cluster, every node up and every primary flushed.

    A node that an earlier test killed is restarted first.
    """
    redis_cluster.ensure_healthy()
    redis_cluster.flush_primaries()
    return redis_cluster.url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, through Playwright (no downloaded browsers)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make system-deps` (installs Debian's chromium) "
            "or use `make test`. Do not run `playwright install`.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()
