"""Hostile data and hostile input on a real redis-server (issue 11; DESIGN section 12).

Memory figures come from Redis itself (MEMORY USAGE, STRLEN) and, for this process, from
tracemalloc (numpy and redis-py's replies are traced).
"""

from __future__ import annotations

import contextlib
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import redis
from flask import Flask

from flask_bitmapist import (
    FlaskBitmapist,
    StorageUnavailable,
    current_state,
    get_cohort,
    get_event_data,
    mark_event,
    unmark_event,
)
from flask_bitmapist.domain import (
    DEFAULT_MAX_USER_ID,
    BitmapId,
    InvalidEventName,
    InvalidUserId,
    Period,
    TimeGroup,
)
from flask_bitmapist.infra import RedisRepository
from tests.integration.outages import wait_for

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)
MiB = 2**20
#: A user id another client may write (bitmapist allows up to 2**32 - 1): 64 MiB per key,
#: eight times the default cap, small enough for a test server.
HUGE_ID = 2**29


def app_on(url: str, **config: object) -> Flask:
    app = Flask("hostile")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL=url, BITMAPIST_SOCKET_TIMEOUT=5.0)
    app.config.update(config)
    FlaskBitmapist(app, clock=lambda: NOW)
    return app


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url) as raw:
        yield raw


def memory_usage(client: redis.Redis) -> dict[str, int]:
    return {
        key.decode(): int(client.memory_usage(key) or 0)  # type: ignore[arg-type]
        for key in client.scan_iter()
    }


def peak_traced(action: Callable[[], Any]) -> tuple[Any, int]:
    """What ``action`` returns and the most memory this process held while it ran."""
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


# -- 1. one id, one mark: bounded ---------------------------------------------------------


def test_one_mark_with_the_largest_default_id_costs_redis_under_64_mb(
    redis_url: str, client: redis.Redis
) -> None:
    app = app_on(redis_url, BITMAPIST_TRACK_HOURLY=True, BITMAPIST_TRACK_UNIQUE=True)
    with app.app_context():
        mark_event("e", DEFAULT_MAX_USER_ID, now=NOW)
    usage = memory_usage(client)
    assert len(usage) == 5  # month, week, day, hour, lifetime
    assert all(client.strlen(key) == 2**23 for key in usage)  # 8 MiB each
    assert sum(usage.values()) < 64 * MiB, usage


def test_an_id_above_the_default_is_refused_and_nothing_is_written(
    redis_url: str, client: redis.Redis
) -> None:
    app = app_on(redis_url)
    with app.app_context():
        with pytest.raises(InvalidUserId, match=r"BITMAPIST_MAX_USER_ID.*BITMAPIST_MAP_IDS"):
            mark_event("e", 2**32 - 1, now=NOW)
        assert current_state().failed_marks == 0
    assert client.dbsize() == 0


# -- 1. reads bounded on data another writer made -------------------------------------------


@pytest.fixture
def huge_secondary(redis_url: str, client: redis.Redis) -> Flask:
    """Ten users who signed up and came back, and one huge id another client (bitmapist)
    wrote in the secondary's bitmaps of today."""
    app = app_on(redis_url)
    with app.app_context():
        for day in range(20, 28):
            for user in range(10):
                mark_event("signed_up", user * 7 + day, now=NOW.replace(day=day))
                mark_event("came_back", user * 7 + day, now=NOW.replace(day=day))
    # What bitmapist.mark_event("came_back", HUGE_ID, now=NOW) does: SETBIT on the month,
    # ISO week and day keys (benchmarks/hostile.py runs bitmapist itself, at 2**32 - 1).
    for suffix in ("2026-11", "W2026-48", "2026-11-27"):
        client.setbit(f"trackist_came_back_{suffix}", HUGE_ID, 1)
    assert client.strlen("trackist_came_back_2026-11-27") == HUGE_ID // 8 + 1
    return app


def test_a_cohort_reads_the_secondary_only_as_far_as_its_rows_users(
    huge_secondary: Flask,
) -> None:
    with huge_secondary.app_context():
        (cohort, _, totals), peak = peak_traced(
            lambda: get_cohort(
                "signed_up", "came_back", time_group="days", num_rows=10, num_cols=10
            )
        )
    assert totals[-1] == 10
    assert cohort[-1][0] == 10  # today's signups came back today; the huge id is no signup
    assert peak < 4 * MiB, f"{peak / MiB:.1f} MiB"


def test_get_event_data_and_the_primary_stop_at_the_apps_largest_id(
    huge_secondary: Flask,
) -> None:
    with huge_secondary.app_context():
        users, peak = peak_traced(lambda: list(get_event_data("came_back", "days", now=NOW)))
        (_, _, totals), _ = peak_traced(
            lambda: get_cohort("came_back", "signed_up", num_rows=10, num_cols=10)
        )
    assert HUGE_ID not in users and len(users) == 10
    assert peak < 3 * 2**23  # the read stops at 8 MiB, the default cap's key size
    assert totals[-1] == 10


def test_the_events_page_and_api_keep_answering_and_say_at_least(huge_secondary: Flask) -> None:
    web = huge_secondary.test_client()
    start = time.perf_counter()
    api = web.get("/bitmapist/api/events")
    page = web.get("/bitmapist/")
    elapsed = time.perf_counter() - start
    assert api.status_code == page.status_code == 200
    assert elapsed < 5
    events = {e["name"]: e for e in api.json["events"]}  # type: ignore[index]
    assert events["came_back"]["day"] == 10
    assert events["came_back"]["at_least"] == ["day", "week", "month", "year"]
    assert "at_least" not in events["signed_up"]
    assert "≥ 10" in page.get_data(as_text=True)


def test_raising_the_cap_reads_the_huge_id_again(redis_url: str, huge_secondary: Flask) -> None:
    app = app_on(redis_url, BITMAPIST_MAX_USER_ID=2**32 - 1)
    with app.app_context():
        assert HUGE_ID in get_event_data("came_back", "days", now=NOW)
        response = app.test_client().get("/bitmapist/api/events")
    events = {e["name"]: e for e in response.json["events"]}  # type: ignore[index]
    assert events["came_back"]["day"] == 11 and "at_least" not in events["came_back"]


# -- 2. unmarking never grows a key -------------------------------------------------------


@pytest.mark.parametrize("config", [{}, {"BITMAPIST_MAX_USER_ID": 2**32 - 1}])
def test_unmarking_an_id_never_marked_leaves_the_key_as_it_was(
    redis_url: str, client: redis.Redis, config: dict[str, object]
) -> None:
    app = app_on(redis_url, **config)
    with app.app_context():
        mark_event("e", 5, now=NOW)
        before = memory_usage(client)
        unmark_event("e", DEFAULT_MAX_USER_ID, now=NOW)
        if config:
            unmark_event("e", 2**32 - 1, now=NOW)
        unmark_event("never", 7, now=NOW)
        assert current_state().failed_marks == 0
    assert memory_usage(client) == before
    assert all(client.strlen(key) == 1 for key in before)


# -- 4. error replies are StorageUnavailable / 503 -----------------------------------------


@pytest.fixture
def busy(redis_url: str, client: redis.Redis) -> Iterator[None]:
    """The server runs a script that never ends: every other client gets BUSY."""
    client.config_set("busy-reply-threshold", 10)
    looper = redis.Redis.from_url(redis_url)
    thread = threading.Thread(
        target=lambda: _swallow(lambda: looper.eval("while true do end", 0)), daemon=True
    )
    thread.start()
    wait_for(lambda: _is_busy(client), "the server answering BUSY")
    try:
        yield
    finally:
        client.script_kill()
        thread.join(5)
        looper.close()
        client.config_set("busy-reply-threshold", 5000)


def _is_busy(client: redis.Redis) -> bool:
    try:
        client.ping()
    except redis.exceptions.BusyLoadingError:
        return True
    except redis.exceptions.ResponseError as exc:
        return "BUSY" in str(exc)
    return False


def _swallow(call: Callable[[], object]) -> None:
    with contextlib.suppress(redis.exceptions.ResponseError):  # killed: "ERR ... killed"
        call()


def test_a_busy_server_is_storage_unavailable_and_503(redis_url: str, busy: None) -> None:
    repository = RedisRepository.from_url(redis_url, socket_timeout=5.0)
    day = BitmapId("e", Period.containing(TimeGroup.DAY, NOW))
    for read in (lambda: repository.fetch([day]), lambda: repository.sizes([day])):
        with pytest.raises(StorageUnavailable, match="BUSY"):
            read()
    app = app_on(redis_url)
    web = app.test_client()
    for path in (
        "/bitmapist/",
        "/bitmapist/api/events",
        "/bitmapist/api/cohort?primary=a&secondary=b",
    ):
        assert web.get(path).status_code == 503
    with app.app_context():
        mark_event("e", 1, now=NOW)  # fails open
        assert current_state().failed_marks == 1
        current_state().recorder.close()  # its replay must not write into the next test


def test_an_out_of_memory_server_fails_marks_open(redis_url: str, client: redis.Redis) -> None:
    client.config_set("maxmemory", 1)
    try:
        app = app_on(redis_url)
        with app.app_context():
            mark_event("e", 1, now=NOW)
            assert current_state().failed_marks == 1
        assert app.test_client().get("/bitmapist/api/events").status_code == 200
    finally:
        with app.app_context():
            current_state().recorder.close()  # its replay must not write into the next test
        client.config_set("maxmemory", 0)


# -- 7. the id map stops at the cap ---------------------------------------------------------


def test_the_id_map_never_hands_out_an_int_above_the_cap(
    redis_url: str, client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_on(redis_url, BITMAPIST_MAP_IDS=True, BITMAPIST_MAX_USER_ID=2)
    with app.app_context():
        for user in ("a", "b", "c", "d", "e", "f"):
            mark_event("seen", user, now=NOW)
        assert current_state().failed_marks == 3
        assert sorted(get_event_data("seen", "days", now=NOW)) == ["a", "b", "c"]
    assert client.get("{trackist_ids}:next") == b"3"
    assert client.hlen("{trackist_ids}:int") == client.hlen("{trackist_ids}:id") == 3
    assert client.strlen("trackist_seen_2026-11-27") == 1
    assert "the id map is full: every int up to 2 (BITMAPIST_MAX_USER_ID)" in caplog.text


# -- 10. names --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a\ud800", "user:\u202epaid", "user:\u200bpaid"], ids=ascii)
def test_names_that_cannot_be_stored_or_shown_are_refused_before_writing(
    redis_url: str, client: redis.Redis, name: str
) -> None:
    app = app_on(redis_url)
    with app.app_context():
        with pytest.raises(InvalidEventName):
            mark_event(name, 1, now=NOW)
        assert current_state().failed_marks == 0
    assert client.dbsize() == 0
