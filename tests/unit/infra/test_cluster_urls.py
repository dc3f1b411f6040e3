"""Cluster URLs: one node or several, separated by commas, sharing credentials and options."""

from __future__ import annotations

import pytest

from flask_bitmapist.domain import InvalidStorageConfig, StorageUnavailable
from flask_bitmapist.infra import RedisRepository
from flask_bitmapist.infra.urls import cluster_seeds


def seeds(url: str) -> tuple[str, list[str]]:
    first, others = cluster_seeds(url)
    return first, [node.name for node in others]


def test_one_node_is_the_url_itself() -> None:
    assert seeds("redis://node-1:6379") == ("redis://node-1:6379", [])
    assert seeds("rediss://:s3cret@node-1:7000/0?ssl_cert_reqs=none") == (
        "rediss://:s3cret@node-1:7000/0?ssl_cert_reqs=none",
        [],
    )


def test_further_nodes_become_startup_nodes_with_the_first_ones_options() -> None:
    assert seeds("redis://user:pw@10.0.0.1:7000,10.0.0.2:7001,node-3/0?protocol=2") == (
        "redis://user:pw@10.0.0.1:7000/0?protocol=2",
        ["10.0.0.2:7001", "node-3:6379"],
    )


def test_a_password_with_commas_and_at_signs_is_not_split() -> None:
    assert seeds("redis://:a,b@c@node-1:1,node-2:2") == ("redis://:a,b@c@node-1:1", ["node-2:2"])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://node-1:6379/2", "only database 0, got '2'"),
        ("redis://node-1:6379?db=2", "only database 0, got 2"),
        ("redis://node-1:6379?decode_responses=True", "decode_responses must be off"),
        ("redis://node-1:6379?socket_timeout=soon", "socket_timeout"),
        ("redis://node-1:6379,:7000", "':7000' is not a host:port cluster node"),
        ("redis://node-1:6379,node-2:x", "'node-2:x' is not a host:port cluster node"),
    ],
)
def test_a_malformed_cluster_url_is_refused_naming_the_part(url: str, message: str) -> None:
    with pytest.raises(InvalidStorageConfig, match=message):
        RedisRepository.from_url(url, cluster=True)


def test_the_password_stays_out_of_errors() -> None:
    with pytest.raises(InvalidStorageConfig) as caught:
        RedisRepository.from_url("redis://:s3cret@node-1:6379/3", cluster=True)
    assert "s3cret" not in str(caught.value)


def test_a_cluster_none_of_whose_listed_nodes_answers_is_unavailable_on_use() -> None:
    repository = RedisRepository.from_url(
        "redis://127.0.0.1:9,127.0.0.1:7", cluster=True, connect_timeout=0.2
    )
    assert repository.server == "Redis Cluster 127.0.0.1:7, 127.0.0.1:9"
    with pytest.raises(StorageUnavailable) as caught:
        repository.event_names()
    assert "Redis Cluster 127.0.0.1:7, 127.0.0.1:9 is unavailable (listing events)" in str(
        caught.value
    )
