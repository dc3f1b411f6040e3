"""First-time cohorts, stickiness and funnels on a real redis-server and a real Redis
Cluster equal the in-process store's, and write nothing."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from flask import Flask

from flask_bitmapist import (
    FlaskBitmapist,
    current_state,
    get_cohort,
    get_funnel,
    get_stickiness,
    mark_event,
)

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


def app_on(url: str, name: str, **config: object) -> Flask:
    app = Flask(name)
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL=url, **config)
    FlaskBitmapist(app, clock=lambda: NOW)
    return app


def answers_on(url: str, name: str, marks: list[tuple[str, int, datetime]]) -> list[Any]:
    app = app_on(url, name, BITMAPIST_TRACK_HOURLY=True)
    with app.app_context(), closing_storage():
        for event, user_id, moment in marks:
            mark_event(event, user_id, moment)
        return [
            get_cohort("paid", "active", None, "days", 20, 10, True, first_time=True),
            get_cohort("paid", "active", None, "weeks", 6, 6, first_time=True),
            get_cohort("paid", "paid", None, "months", 4, 4, mode="cumulative", first_time=True),
            get_cohort("paid", "paid", None, "hours", 24, 6, True, first_time=True),
            get_stickiness("active", "days", 30).counts,
            get_stickiness("active | paid", "weeks", 10).counts,
            get_funnel(["signup", "active", "paid"], "days", 30).counts,
            get_funnel(["active", "paid & ~refunded"], "weeks", 8).counts,
        ]


@contextmanager
def closing_storage() -> Iterator[None]:
    """Close the app's storage connections on the way out (no socket left to the GC)."""
    try:
        yield
    finally:
        close = getattr(current_state().repository, "close", None)
        if close is not None:
            close()


def history() -> list[tuple[str, int, datetime]]:
    """Two years of marks for 300 users: many paid first long before the windows."""
    rng = random.Random(11)
    return [
        (event, user_id, NOW - timedelta(days=rng.randrange(730), hours=rng.randrange(24)))
        for event in ("signup", "active", "paid", "refunded")
        for user_id in range(300)
        for _ in range(rng.randrange(4))
    ] + [
        (event, user_id, NOW - timedelta(hours=rng.randrange(60)))
        for event in ("active", "paid")
        for user_id in range(0, 300, 7)
    ]


def keys(url: str) -> list[bytes]:
    with redis.Redis.from_url(url) as client:
        return sorted(client.keys("*"))


def test_answers_on_redis_equal_the_in_process_store(redis_url: str) -> None:
    marks = history()
    on_redis = answers_on(redis_url, "redis", marks)
    before = keys(redis_url)
    in_memory = answers_on("memory://", "memory", marks)

    assert on_redis == in_memory
    assert any(on_redis[0][2]) and any(on_redis[4]) and on_redis[6][0] > 0
    # Reading wrote nothing.
    app = app_on(redis_url, "again")
    with app.app_context(), closing_storage():
        get_cohort("paid", "active", None, "days", 20, 10, first_time=True)
        get_funnel(["signup", "active", "paid"])
    assert keys(redis_url) == before


@pytest.mark.parametrize("answer", ["first_time", "stickiness", "funnel"])
def test_answers_on_a_cluster_equal_the_in_process_store(
    redis_cluster_url: str, answer: str
) -> None:
    marks = history()[::3]
    app = app_on(redis_cluster_url, "cluster", BITMAPIST_REDIS_CLUSTER=True)
    memory = app_on("memory://", "memory-for-cluster")
    results: list[object] = []
    for each in (app, memory):
        with each.app_context(), closing_storage():
            for event, user_id, moment in marks:
                mark_event(event, user_id, moment)
            if answer == "first_time":
                results.append(get_cohort("paid", "active", None, "weeks", 8, 8, first_time=True))
            elif answer == "stickiness":
                results.append(get_stickiness("active", "days", 60).counts)
            else:
                results.append(get_funnel(["signup", "active", "paid"], "weeks", 12).counts)
    assert results[0] == results[1]
