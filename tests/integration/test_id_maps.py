"""The Redis id map on a real redis-server and a real Redis Cluster.

Writers in separate processes map the same new ids at once and agree on every int; the
map's keys share one hash slot; bitmapist and event listings never see them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis
from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state, get_cohort, get_event_data, mark_event
from flask_bitmapist.domain import IdMapper, Mark, StorageUnavailable
from flask_bitmapist.infra import RedisIdMapper, RedisRepository
from tests.contract.id_mapper_contract import IdMapperContract
from tests.integration.id_map_writer import shared_ids
from tests.integration.outages import never_skipping
from tests.integration.servers import LocalRedisServer

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 27, 13, tzinfo=timezone.utc)


class TestRedisIdMapperContract(IdMapperContract):
    """Every contract test against the real server."""

    @pytest.fixture
    def id_mapper(self, redis_url: str) -> Iterator[IdMapper]:
        repository = RedisRepository.from_url(redis_url)
        mapper = RedisIdMapper(repository.client, batch_size=1000)
        yield mapper
        repository.close()


class TestRedisClusterIdMapperContract(IdMapperContract):
    """Every contract test against the real cluster."""

    @pytest.fixture
    def id_mapper(self, redis_cluster_url: str) -> Iterator[IdMapper]:
        repository = RedisRepository.from_url(redis_cluster_url, cluster=True)
        mapper = RedisIdMapper(repository.client, batch_size=1000)
        yield mapper
        repository.close()


def run_writers(url: str, *, cluster: bool, writers: int, count: int) -> list[dict[str, int]]:
    """Start ``writers`` processes mapping the same ``count`` new ids at the same moment."""
    start = time.time() + 2.0  # every interpreter is up and connected by then
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.id_map_writer",
                url,
                "cluster" if cluster else "single",
                str(seed),
                str(start),
                str(count),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in range(writers)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    return results


@pytest.mark.parametrize("cluster", [False, True], ids=["single", "cluster"])
def test_writers_in_separate_processes_agree_on_every_new_id(
    cluster: bool, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("redis_cluster_url" if cluster else "redis_url")
    count = 2000
    results = run_writers(url, cluster=cluster, writers=4, count=count)
    assert all(result == results[0] for result in results[1:])
    assert sorted(results[0].values()) == list(range(count))
    repository = RedisRepository.from_url(url, cluster=cluster)
    mapper = RedisIdMapper.of(repository)
    assert mapper.count() == count
    ids = shared_ids(count)
    ints = mapper.find(ids)
    assert mapper.originals([n for n in ints if n is not None]) == ids
    repository.close()


def test_the_map_keys_share_one_slot_on_the_cluster(redis_cluster_url: str) -> None:
    repository = RedisRepository.from_url(redis_cluster_url, cluster=True)
    mapper = RedisIdMapper.of(repository)
    mapper.assign(["a", "b"])
    client = repository.client
    assert isinstance(client, redis.cluster.RedisCluster)
    keys = [mapper.forward_key, mapper.reverse_key, mapper.counter_key]
    assert keys == ["{trackist_ids}:int", "{trackist_ids}:id", "{trackist_ids}:next"]
    assert len({client.keyslot(key) for key in keys}) == 1
    repository.close()


def test_the_map_is_invisible_to_event_listings_and_bitmapist(redis_url: str) -> None:
    repository = RedisRepository.from_url(redis_url)
    mapper = RedisIdMapper.of(repository)
    [n] = mapper.assign(["alice"])
    repository.mark([Mark.create("user:paid", n, NOW)])
    assert repository.event_names() == frozenset({"user:paid"})
    # bitmapist's own listing is a SCAN of 'trackist_*'.
    client = repository.client
    assert sorted(client.scan_iter(match="trackist_*")) == [
        b"trackist_user:paid_2026-11",
        b"trackist_user:paid_2026-11-27",
        b"trackist_user:paid_W2026-48",
    ]
    repository.close()


def test_the_script_is_loaded_again_after_a_script_flush(redis_url: str) -> None:
    repository = RedisRepository.from_url(redis_url)
    mapper = RedisIdMapper.of(repository)
    assert mapper.assign(["a"]) == [0]
    repository.client.script_flush()
    assert mapper.assign(["a", "b"]) == [0, 1]
    repository.close()


def test_a_map_on_a_dead_server_is_storage_unavailable(tmp_path: Path) -> None:
    server = LocalRedisServer(tmp_path)
    server.start()
    repository = RedisRepository.from_url(server.url, breaker=never_skipping())
    mapper = RedisIdMapper.of(repository)
    assert mapper.assign(["a"]) == [0]
    server.kill()
    for call in (
        lambda: mapper.assign(["b"]),
        lambda: mapper.find(["a"]),
        lambda: mapper.originals([0]),
    ):
        with pytest.raises(StorageUnavailable, match=r"unavailable \(mapping ids\)") as caught:
            call()
        assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
    repository.close()


def test_mapped_ids_through_the_facade_on_a_single_node_and_a_cluster(
    redis_url: str, redis_cluster_url: str
) -> None:
    people = [f"customer-{i}" for i in range(40)] + [uuid.UUID(int=i) for i in range(40)]
    answers: dict[bool, dict[str, object]] = {}
    for url, cluster in ((redis_url, False), (redis_cluster_url, True)):
        app = Flask(f"mapped-{cluster}")
        app.config.update(
            TESTING=True,
            BITMAPIST_REDIS_URL=url,
            BITMAPIST_REDIS_CLUSTER=cluster,
            BITMAPIST_MAP_IDS=True,
            BITMAPIST_RAISE_ON_ERROR=True,
        )
        FlaskBitmapist(app, clock=lambda: NOW)
        with app.app_context():
            for day in range(5):
                for index, person in enumerate(people):
                    if index % (day + 1) == 0:
                        mark_event("user:active", person, now=NOW - timedelta(days=4 - day))
                    if day == 0 and index % 3 == 0:
                        mark_event("user:signed_up", person, now=NOW - timedelta(days=4))
            active = get_event_data("user:active", "days", now=NOW)
            assert people[0] in active and people[40] in active and people[1] not in active
            cohort, _, totals = get_cohort(
                "user:signed_up", "user:active", num_rows=5, num_cols=5, now=NOW
            )
            repository = current_state().repository
            assert isinstance(repository, RedisRepository) and repository.is_cluster is cluster
        cell = app.test_client().get(
            "/bitmapist/api/cohort/cell?primary=user:signed_up&secondary=user:active"
            "&time_group=day&rows=5&cols=5&row=0&col=4&mode=recurring"
        )
        answers[cluster] = {
            "active": list(active),
            "cohort": cohort,
            "totals": totals,
            "cell": cell.get_json()["user_ids"],
        }
        repository.close()
    assert answers[True] == answers[False]
    assert answers[False]["active"] == [people[i] for i in range(0, 80, 5)]
    assert answers[False]["totals"] == [27, 0, 0, 0, 0]  # every third of the 80, on day one
    assert answers[False]["cell"] == [str(people[i]) for i in range(0, 80, 15)]
