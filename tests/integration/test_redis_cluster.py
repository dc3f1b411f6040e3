"""RedisRepository on a real three-node Redis Cluster started by the tests' fixtures.

Every key is routed on its own: nothing relies on two keys living on one node. A node
that dies or hangs fails the call within about one socket timeout, as StorageUnavailable,
and marking from a Flask view fails open.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state, get_cohort, mark, mark_event
from flask_bitmapist.domain import (
    BitmapId,
    BitmapRepository,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    Mark,
    Period,
    StorageUnavailable,
    TimeGroup,
    parse_expression,
)
from flask_bitmapist.infra import RedisRepository
from tests.contract.repository_contract import RepositoryContract
from tests.integration.outages import never_skipping, settle
from tests.integration.servers import LocalRedisCluster, find_free_port

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)
DAY = Period.containing(TimeGroup.DAY, NOW)
# Far above what a working call takes on loopback, far below what an unbounded retry
# loop took (49 s for one bulk mark with a hung node through redis-py's ClusterPipeline).
PROMPT = 3.0


class TestRedisClusterContract(RepositoryContract):
    """Every contract test against the real cluster."""

    @pytest.fixture
    def repository(self, redis_cluster_url: str) -> Iterator[BitmapRepository]:
        repository = RedisRepository.from_url(redis_cluster_url, cluster=True)
        yield repository
        repository.close()


@pytest.fixture
def repository(redis_cluster_url: str) -> Iterator[RedisRepository]:
    # Every call tried: these tests are about what one failing call does.
    repository = RedisRepository.from_url(redis_cluster_url, cluster=True, breaker=never_skipping())
    yield repository
    repository.close()


def day_ids(events: list[str]) -> list[BitmapId]:
    return [BitmapId(event, DAY) for event in events]


def keys_per_node(cluster: LocalRedisCluster) -> list[int]:
    counts = []
    for server in cluster.servers:
        with server.client() as client:
            counts.append(int(client.dbsize()))
    return counts


EVENTS = [f"event:{i}" for i in range(40)]


# -- routing ---------------------------------------------------------------------------


def test_marks_spread_over_every_node_and_every_node_is_scanned_for_event_names(
    repository: RedisRepository, redis_cluster: LocalRedisCluster
) -> None:
    repository.mark(Mark.create(event, 7, NOW) for event in EVENTS)
    per_node = keys_per_node(redis_cluster)
    assert sum(per_node) == 3 * len(EVENTS)  # month, week and day of each event
    assert all(count > 0 for count in per_node), per_node
    assert repository.event_names() == frozenset(EVENTS)
    assert [list(b) for b in repository.fetch(day_ids(EVENTS))] == [[7]] * len(EVENTS)


def test_event_names_pass_over_keys_of_another_type_on_any_node(
    repository: RedisRepository, redis_cluster_url: str
) -> None:
    repository.mark(Mark.create(event, 7, NOW) for event in EVENTS[:10])
    with redis.cluster.RedisCluster.from_url(redis_cluster_url) as cluster:
        for i in range(10):
            cluster.hset(f"trackist_settings:{i}_2026-11", "theme", "dark")
    assert repository.event_names() == frozenset(EVENTS[:10])


def test_a_fetch_sends_one_pipeline_to_each_node_in_one_round(
    repository: RedisRepository,
    redis_cluster: LocalRedisCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repository.mark(Mark.create(event, 3, NOW) for event in EVENTS)
    sent: Counter[int] = Counter()
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        sent[self.port] += 1
        original(self, command, check_health)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    bitmaps = repository.fetch(day_ids(EVENTS))
    assert len(bitmaps) == len(EVENTS)
    assert sent == Counter({port: 1 for _, port in redis_cluster.nodes})


def test_a_bulk_mark_spanning_many_chunks_lands_on_every_node(
    redis_cluster_url: str,
) -> None:
    repository = RedisRepository.from_url(redis_cluster_url, cluster=True)
    repository.chunk_size = 1000
    marks = [Mark.create(EVENTS[uid % 10], uid, NOW) for uid in range(4321)]
    repository.mark(marks)
    bitmaps = repository.fetch(day_ids(EVENTS[:10]))
    repository.close()
    assert [list(b) for b in bitmaps] == [list(range(i, 4321, 10)) for i in range(10)]


def test_a_stale_slot_map_is_corrected_by_following_moved_once(
    repository: RedisRepository,
) -> None:
    repository.mark(Mark.create(event, 11, NOW) for event in EVENTS)
    client = repository.client
    assert isinstance(client, redis.cluster.RedisCluster)
    key = repository.key(BitmapId(EVENTS[0], DAY))
    slot = client.keyslot(key)
    owner = client.get_node_from_key(key)
    stranger = next(node for node in client.get_primaries() if node.name != owner.name)
    client.nodes_manager.slots_cache[slot] = [stranger]  # as after a resharding

    [bitmap] = repository.fetch([BitmapId(EVENTS[0], DAY)])
    assert list(bitmap) == [11]
    assert client.get_node_from_key(key).name == owner.name
    repository.mark([Mark.create(EVENTS[0], 12, NOW)])
    assert list(repository.fetch([BitmapId(EVENTS[0], DAY)])[0]) == [11, 12]


def test_a_cluster_that_keeps_redirecting_is_storage_unavailable(
    repository: RedisRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = repository.client
    assert isinstance(client, redis.cluster.RedisCluster)
    key = repository.key(BitmapId(EVENTS[0], DAY))
    owner = client.get_node_from_key(key)
    stranger = next(node for node in client.get_primaries() if node.name != owner.name)
    # A slot map that refreshing does not fix: a storm of MOVED replies.
    monkeypatch.setattr(client.nodes_manager, "initialize", lambda: None)
    client.nodes_manager.slots_cache[client.keyslot(key)] = [stranger]

    with pytest.raises(StorageUnavailable, match="still redirects") as caught:
        repository.mark([Mark.create(EVENTS[0], 1, NOW)])
    assert isinstance(caught.value.__cause__, redis.exceptions.ClusterError)
    with pytest.raises(StorageUnavailable, match="still redirects"):
        repository.fetch([BitmapId(EVENTS[0], DAY)])


def test_a_slot_no_node_serves_is_storage_unavailable(
    repository: RedisRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = repository.client
    assert isinstance(client, redis.cluster.RedisCluster)
    key = repository.key(BitmapId(EVENTS[0], DAY))
    monkeypatch.setattr(client.nodes_manager, "initialize", lambda: None)
    del client.nodes_manager.slots_cache[client.keyslot(key)]
    with pytest.raises(StorageUnavailable, match="not covered") as caught:
        repository.fetch([BitmapId(EVENTS[0], DAY)])
    assert isinstance(caught.value.__cause__, redis.exceptions.SlotNotCoveredError)


# -- the same answers as a single node -------------------------------------------------------


def history(seed: int) -> list[Mark]:
    """Sign-ups over 10 days, activity decaying with age, a paid subset, some refunds."""
    rng = random.Random(seed)
    marks: list[Mark] = []
    for day in range(10):
        moment = NOW - timedelta(days=9 - day)
        for uid in range(day * 300, day * 300 + 300):
            marks.append(Mark.create("user:signup", uid, moment))
            for later in range(day, 10):
                when = NOW - timedelta(days=9 - later, hours=rng.randrange(12))
                if rng.random() < 0.6 / (1 + later - day):
                    marks.append(Mark.create("user:active", uid, when, hourly=True))
                if rng.random() < 0.05:
                    marks.append(Mark.create("user:paid", uid, when))
                if rng.random() < 0.01:
                    marks.append(Mark.create("user:refunded", uid, when))
    return marks


def test_cohorts_on_the_cluster_equal_those_on_a_single_node(
    redis_cluster_url: str, redis_url: str
) -> None:
    cluster = RedisRepository.from_url(redis_cluster_url, cluster=True)
    single = RedisRepository.from_url(redis_url)
    marks = history(20261127)
    cluster.mark(marks)
    single.mark(marks)

    secondaries = [
        EventRef("user:active"),
        parse_expression("user:active & (user:paid | user:refunded)"),
        parse_expression("user:active & ~user:paid"),
    ]
    compared = 0
    for secondary in secondaries:
        for mode in CohortMode:
            for group, rows in (("days", 10), ("weeks", 3), ("hours", 24)):
                spec = CohortSpec.create(
                    EventRef("user:signup"),
                    secondary,
                    now=NOW,
                    time_group=group,
                    rows=rows,
                    cols=rows,
                    mode=mode,
                )
                on_cluster = CohortEngine(cluster).compute(spec)
                on_single = CohortEngine(single).compute(spec)
                assert on_cluster.as_lists() == on_single.as_lists(), (secondary, mode, group)
                assert on_cluster.totals == on_single.totals
                compared += 1
    assert compared == 27
    daily = CohortEngine(cluster).compute(
        CohortSpec.create(
            EventRef("user:signup"),
            EventRef("user:active"),
            now=NOW,
            time_group="days",
            rows=10,
            cols=10,
            mode=CohortMode.RECURRING,
        )
    )
    assert daily.totals == (300,) * 10
    first, second = daily.cells[0][0], daily.cells[0][1]
    assert first is not None and second is not None
    assert 0 < second < first <= 300  # not an empty table
    assert cluster.event_names() == single.event_names()
    cluster.close()
    single.close()


# -- nodes that die or hang ---------------------------------------------------------------------


def cluster_app(url: str) -> Flask:
    app = Flask("cluster-app")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL=url, BITMAPIST_REDIS_CLUSTER=True)
    FlaskBitmapist(app, clock=lambda: NOW)

    @app.route("/decorated")
    @mark("page:decorated", 5)
    def decorated() -> str:
        return "decorated"

    @app.route("/called")
    def called() -> str:
        mark_event("page:called", 5)
        return "called"

    return app


def timed(call: Any) -> tuple[float, Any]:
    start = time.monotonic()
    result = call()
    return time.monotonic() - start, result


def test_a_node_that_dies_fails_marks_open_and_reads_with_storage_unavailable(
    redis_cluster: LocalRedisCluster, redis_cluster_url: str
) -> None:
    app = cluster_app(redis_cluster_url)
    web = app.test_client()
    assert web.get("/decorated").status_code == 200
    assert web.get("/called").status_code == 200
    with app.app_context():
        state = current_state()
        assert isinstance(state.repository, RedisRepository) and state.repository.is_cluster
        assert get_cohort("page:decorated", "page:called", num_rows=1, num_cols=1)[0] == [[1]]

    # Kill the node that holds the day bitmap of page:called, so marking it must fail.
    key = "trackist_page:called_2026-11-27"
    client = state.repository.client
    assert isinstance(client, redis.cluster.RedisCluster)
    owner = client.get_node_from_key(key)
    index = [f"{host}:{port}" for host, port in redis_cluster.nodes].index(owner.name)
    redis_cluster.kill_node(index)

    for path in ("/decorated", "/called", "/called"):
        elapsed, response = timed(lambda: web.get(path))  # noqa: B023
        assert response.status_code == 200
        assert response.get_data(as_text=True) == path.strip("/")
        assert elapsed < PROMPT, (path, elapsed)
    with app.app_context():
        assert current_state().failed_marks >= 2
        elapsed, caught = timed(
            lambda: _raises(lambda: get_cohort("page:decorated", "page:called"))
        )
        assert isinstance(caught, StorageUnavailable)
        assert "unavailable (reading)" in str(caught)
        assert elapsed < PROMPT
    elapsed, caught = timed(lambda: _raises(state.repository.event_names))
    assert isinstance(caught, StorageUnavailable) and elapsed < PROMPT

    redis_cluster.restart_node(index)
    settle(state)
    # The restarted node is empty (nothing persisted) but serves its slots again, and
    # the marks made while it was dead were replayed into it.
    assert web.get("/called").status_code == 200
    with app.app_context():
        [bitmap] = state.repository.fetch([BitmapId("page:called", DAY)])
        assert list(bitmap) == [5]
        assert state.status().dropped == 0
    state.repository.close()


def test_a_cluster_reporting_itself_down_is_storage_unavailable(
    redis_cluster: LocalRedisCluster, repository: RedisRepository
) -> None:
    repository.mark(Mark.create(event, 1, NOW) for event in EVENTS)
    redis_cluster.kill_node(2)
    deadline = time.monotonic() + 30
    while redis_cluster.cluster_info(0).get("cluster_state") != "fail":
        assert time.monotonic() < deadline, "the cluster never noticed the dead node"
        time.sleep(0.1)
    # Keys on the surviving nodes: those nodes now answer CLUSTERDOWN.
    alive = [f"{host}:{port}" for host, port in redis_cluster.nodes[:2]]
    client = repository.client
    assert isinstance(client, redis.cluster.RedisCluster)
    survivors = [
        event
        for event in EVENTS
        if client.get_node_from_key(repository.key(BitmapId(event, DAY))).name in alive
    ]
    with pytest.raises(StorageUnavailable, match="cluster is down") as caught:
        repository.fetch(day_ids(survivors))
    assert isinstance(caught.value.__cause__, redis.exceptions.ClusterDownError)


def test_a_hung_node_fails_calls_within_one_timeout_instead_of_retrying(
    redis_cluster: LocalRedisCluster, repository: RedisRepository
) -> None:
    repository.mark(Mark.create(event, 1, NOW) for event in EVENTS)
    pid = redis_cluster.servers[1].pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        calls = {
            "mark": lambda: repository.mark(Mark.create(e, 2, NOW) for e in EVENTS),
            "fetch": lambda: repository.fetch(day_ids(EVENTS)),
            "event_names": repository.event_names,
        }
        for name, call in calls.items():
            elapsed, caught = timed(lambda: _raises(call))  # noqa: B023
            assert isinstance(caught, StorageUnavailable), name
            assert isinstance(caught.__cause__, redis.exceptions.TimeoutError), name
            assert elapsed < PROMPT, (name, elapsed)
    finally:
        os.kill(pid, signal.SIGCONT)
    redis_cluster.wait_until_healthy()
    repository.mark([Mark.create(EVENTS[0], 3, NOW)])
    assert 3 in repository.fetch([BitmapId(EVENTS[0], DAY)])[0]


def _raises(call: Any) -> BaseException:
    try:
        call()
    except BaseException as exc:
        return exc
    raise AssertionError(f"{call!r} did not raise")


def node_id(cluster: LocalRedisCluster, index: int) -> str:
    with cluster.servers[index].client() as client:
        return str(client.execute_command("CLUSTER MYID").decode())


def test_a_slot_being_migrated_is_followed_with_asking_then_moved(
    redis_cluster: LocalRedisCluster, repository: RedisRepository
) -> None:
    client = repository.client
    assert isinstance(client, redis.cluster.RedisCluster)
    repository.mark([Mark.create("user:moving", 1, NOW)])
    key = repository.key(BitmapId("user:moving", DAY))
    slot = client.keyslot(key)
    addresses = [f"{host}:{port}" for host, port in redis_cluster.nodes]
    source = addresses.index(client.get_node_from_key(key).name)
    target = (source + 1) % 3
    source_id, target_id = node_id(redis_cluster, source), node_id(redis_cluster, target)
    with (
        redis_cluster.servers[source].client() as old,
        redis_cluster.servers[target].client() as new,
    ):
        new.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", source_id)
        old.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", target_id)
        host, port = redis_cluster.nodes[target]
        old.execute_command("MIGRATE", host, port, key, 0, 5000)
        # redis-py 6 and later raise AskError without the reply's "ASK " word.
        with pytest.raises(redis.exceptions.ResponseError, match=f"^(ASK )?{slot} {host}:{port}$"):
            old.get(key)

        # The source answers ASK for keys it no longer has: read, and write, on the target.
        [bitmap] = repository.fetch([BitmapId("user:moving", DAY)])
        assert list(bitmap) == [1]
        repository.mark([Mark.create("user:moving", 2, NOW)])
        assert client.get_node_from_key(key).name == addresses[source]  # still migrating

        for server in redis_cluster.servers:
            with server.client() as each:
                each.execute_command("CLUSTER SETSLOT", slot, "NODE", target_id)
    # The slot map still names the source: it answers MOVED, followed after a refresh.
    assert list(repository.fetch([BitmapId("user:moving", DAY)])[0]) == [1, 2]
    assert client.get_node_from_key(key).name == addresses[target]
    # Hand the slot back, so the session's cluster keeps its layout.
    with redis_cluster.servers[target].client() as new:
        new.delete(key, *[k for k in new.scan_iter() if client.keyslot(k) == slot])
    for server in redis_cluster.servers:
        with server.client() as each:
            each.execute_command("CLUSTER SETSLOT", slot, "NODE", source_id)
    redis_cluster.wait_until_healthy()


@pytest.mark.parametrize("dead_first", [True, False], ids=["dead-first", "dead-last"])
def test_an_app_starts_when_a_node_its_url_lists_is_down(
    redis_cluster: LocalRedisCluster, redis_cluster_url: str, dead_first: bool
) -> None:
    host, port = redis_cluster.nodes[1]
    nodes = [f"127.0.0.1:{find_free_port()}", f"{host}:{port}"]  # nothing listens on the first
    app = cluster_app("redis://" + ",".join(nodes if dead_first else nodes[::-1]))
    with app.app_context():
        repository = current_state().repository
        assert isinstance(repository, RedisRepository) and repository.is_cluster
        for event in EVENTS[:10]:
            mark_event(event, 9)
        assert current_state().failed_marks == 0
        assert repository.event_names() == frozenset(EVENTS[:10])
        repository.close()


def test_an_app_starts_while_every_node_is_down_and_uses_the_cluster_once_it_is_up(
    redis_cluster: LocalRedisCluster, redis_cluster_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    nodes = [f"{host}:{port}" for host, port in redis_cluster.nodes]
    url = "redis://" + ",".join(nodes)
    for index in range(len(redis_cluster.servers)):
        redis_cluster.kill_node(index)
    try:
        elapsed, app = timed(lambda: cluster_app(url))
        assert elapsed < PROMPT
        web = app.test_client()
        for path in ("/decorated", "/called"):
            elapsed, response = timed(lambda: web.get(path))  # noqa: B023
            assert (response.status_code, response.get_data(as_text=True)) == (200, path[1:])
            assert elapsed < PROMPT, (path, elapsed)
        state = app.extensions["bitmapist"]
        assert state.failed_marks == 2
        # Both counted, one logged: the next log line waits for BITMAPIST_ERROR_LOG_INTERVAL.
        failures = [r for r in caplog.records if r.name == "flask_bitmapist"]
        assert len(failures) == 1
        assert "Redis Cluster" in failures[0].getMessage()
        with app.app_context():
            elapsed, caught = timed(
                lambda: _raises(lambda: get_cohort("page:decorated", "page:called"))
            )
        assert isinstance(caught, StorageUnavailable) and elapsed < PROMPT
        # Skipped at once (the breaker is open), naming the failure that opened it.
        assert caught.skipped and "cannot be connected" in str(caught)
        assert str(caught).startswith(f"Redis Cluster {', '.join(sorted(nodes))} is unavailable")
    finally:
        # Every node restarts from its cluster config file: same ids, same slots.
        redis_cluster.ensure_healthy()

    # The same app, not restarted: its next calls make the cluster client and use it;
    # the two marks made while every node was down are replayed first.
    settle(state)
    assert state.status().replayed == 2
    assert web.get("/decorated").status_code == 200
    assert web.get("/called").status_code == 200
    assert state.failed_marks == 2
    with app.app_context():
        assert get_cohort("page:decorated", "page:called", num_rows=1, num_cols=1)[0] == [[1]]
        assert state.repository.event_names() == {"page:decorated", "page:called"}
    state.repository.close()
