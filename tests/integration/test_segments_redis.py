"""Segments on a real redis-server and a real three-node Redis Cluster: the scripts that
move users between values run as Redis runs them (a property's keys in one slot), and a
segment resolves to the users of the set model."""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from flask_bitmapist.domain import Mark, PropertyAssignment, PropertyValue
from flask_bitmapist.infra import RedisRepository
from flask_bitmapist.services.segments import resolve_segment
from tests.integration.servers import LocalRedisCluster, LocalRedisServer
from tests.segment_answers_support import (
    NOW,
    REQUESTS,
    ZONES,
    Marks,
    Moves,
    answers_over,
    check_moves_leave_each_user_in_one_group,
    marked,
    marks_strategy,
    moves_strategy,
)
from tests.segment_model import World, segments, store, worlds

EXAMPLES = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@EXAMPLES
@given(data=st.data(), world=worlds(max_user=5000))
def test_a_segment_on_redis_is_the_set_models(
    redis_server: LocalRedisServer, data: st.DataObject, world: World
) -> None:
    with redis_server.client() as client:
        client.flushall()
    with closing(RedisRepository.from_url(redis_server.url)) as repository:
        store(repository, world)
        text, expected = data.draw(segments(world))
        assert set(resolve_segment(repository, text)) == expected


@EXAMPLES
@given(data=st.data(), world=worlds(max_user=5000))
def test_a_segment_on_a_cluster_is_the_set_models(
    redis_cluster: LocalRedisCluster, data: st.DataObject, world: World
) -> None:
    redis_cluster.ensure_healthy()
    redis_cluster.flush_primaries()
    with closing(RedisRepository.from_url(redis_cluster.url, cluster=True)) as repository:
        store(repository, world)
        text, expected = data.draw(segments(world))
        assert set(resolve_segment(repository, text)) == expected


def test_properties_spread_over_the_cluster_each_in_one_slot(redis_cluster_url: str) -> None:
    with closing(RedisRepository.from_url(redis_cluster_url, cluster=True)) as repository:
        names = [f"p{i}" for i in range(30)]
        repository.set_properties(
            PropertyAssignment.create(uid, name, value)
            for name in names
            for uid, value in enumerate(["a", "b", "c", "a"])
        )
        slots = {key_slot(repository.property_key(name).encode()) for name in names}
        assert len(slots) > 1  # properties are spread, each one in its own slot
        for name in names:
            a, b, c = repository.fetch_user_sets(
                [PropertyValue(name, "a"), PropertyValue(name, "b"), PropertyValue(name, "c")]
            )
            assert (list(a), list(b), list(c)) == ([0, 3], [1], [2])


@pytest.mark.parametrize("batch", [1, 500])
def test_moving_users_back_and_forth_leaves_each_in_exactly_one_value(
    redis_url: str, batch: int
) -> None:
    with closing(RedisRepository.from_url(redis_url)) as repository:
        plans = ["free", "pro", "team"]
        for round_ in range(6):
            repository.set_properties(
                PropertyAssignment.create(uid, "plan", plans[(uid + round_) % 3])
                for uid in range(batch)
            )
        users = repository.fetch_user_sets([PropertyValue("plan", p) for p in plans])
        assert sum(len(u) for u in users) == batch
        for index, holders in enumerate(users):
            assert list(holders) == [u for u in range(batch) if (u + 5) % 3 == index]


@EXAMPLES
@given(moves=moves_strategy())
def test_users_moved_between_values_on_redis_are_each_in_exactly_one_group(
    redis_server: LocalRedisServer, moves: Moves
) -> None:
    with redis_server.client() as client:
        client.flushall()
    with closing(RedisRepository.from_url(redis_server.url)) as repository:
        check_moves_leave_each_user_in_one_group(repository, moves)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moves=moves_strategy())
def test_users_moved_between_values_on_a_cluster_are_each_in_exactly_one_group(
    redis_cluster: LocalRedisCluster, moves: Moves
) -> None:
    redis_cluster.ensure_healthy()
    redis_cluster.flush_primaries()
    with closing(RedisRepository.from_url(redis_cluster.url, cluster=True)) as repository:
        check_moves_leave_each_user_in_one_group(repository, moves)


@EXAMPLES
@given(data=st.data(), world=worlds(max_user=60), marks=marks_strategy())
@pytest.mark.parametrize(("kind", "fields", "drills"), REQUESTS)
def test_a_segment_answer_on_redis_is_the_answer_on_its_users_marks(
    redis_server: LocalRedisServer,
    kind: str,
    fields: dict[str, Any],
    drills: list[dict[str, Any]],
    data: st.DataObject,
    world: World,
    marks: Marks,
) -> None:
    with redis_server.client() as client:
        client.flushall()
    text, users = data.draw(segments(world))
    with closing(RedisRepository.from_url(redis_server.url)) as repository:
        repository.mark(Mark.create(e, u, NOW - timedelta(hours=h)) for e, u, h in marks)
        store(repository, world)
        answers = answers_over(repository)
        got = answers.answer(kind, fields, segment=text, warn=False).to_dict()
        want = answers_over(marked(m for m in marks if m[1] in users))
        assert got.pop("segment") == text
        assert got == want.answer(kind, fields, warn=False).to_dict()
        for drill in drills:
            restricted = answers.drill(kind, {**fields, **drill, "segment": text}).users
            assert restricted == want.drill(kind, {**fields, **drill}).users


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), world=worlds(max_user=60), marks=marks_strategy())
def test_segment_and_breakdown_answers_on_a_cluster_are_the_models(
    redis_cluster: LocalRedisCluster, data: st.DataObject, world: World, marks: Marks
) -> None:
    redis_cluster.ensure_healthy()
    redis_cluster.flush_primaries()
    kind, fields, _ = data.draw(st.sampled_from(REQUESTS))
    text, users = data.draw(segments(world))
    zone = data.draw(st.sampled_from(ZONES))
    with closing(RedisRepository.from_url(redis_cluster.url, cluster=True)) as repository:
        repository.mark(Mark.create(e, u, NOW - timedelta(hours=h)) for e, u, h in marks)
        store(repository, world)
        answers = answers_over(repository, zone)
        got = answers.answer(kind, fields, segment=text, warn=False).result
        want = answers_over(marked(m for m in marks if m[1] in users), zone)
        assert got == want.answer(kind, fields, warn=False).result
        found = answers.breakdown(kind, fields, breakdown="plan", segment=text, warn=False)
        for value, answer in found.groups[:-1]:
            alone = answers.answer(kind, fields, segment=f"plan={value} & ({text})", warn=False)
            assert answer.result == alone.result
