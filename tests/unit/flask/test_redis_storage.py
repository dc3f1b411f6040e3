"""The facade over Redis storage: fakeredis for the format, dead and hung servers on
loopback for the faults, and the storage URL kept whole (0.1.2 kept only host and port)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import fakeredis
import pytest
import redis
from flask import Flask

from flask_bitmapist import (
    DayEvents,
    FlaskBitmapist,
    InvalidEventName,
    InvalidStorageConfig,
    MonthEvents,
    Settings,
    StorageUnavailable,
    chain_events,
    current_state,
    get_cohort,
    get_event_data,
    get_event_names,
    mark,
    mark_event,
)
from flask_bitmapist.flask.extension import repository_for
from flask_bitmapist.infra import InMemoryRepository, RedisRepository
from tests.unit.flask.support import NOW, FixedClock, make_app


@pytest.fixture
def server() -> fakeredis.FakeServer:
    """One fake Redis server."""
    return fakeredis.FakeServer()


@pytest.fixture
def redis_app(server: fakeredis.FakeServer, clock: FixedClock) -> Flask:
    """An app whose storage is a RedisRepository over fakeredis."""
    app = make_app(BITMAPIST_REDIS_URL="redis://fake:6379/0")

    def over_fakeredis(settings: Settings) -> RedisRepository:
        return RedisRepository(fakeredis.FakeRedis(server=server), prefix=settings.key_prefix)

    FlaskBitmapist(app, clock=clock, repository_factory=over_fakeredis)
    return app


def keys(server: fakeredis.FakeServer) -> list[str]:
    """Every key on the server, sorted."""
    client = fakeredis.FakeRedis(server=server, decode_responses=True)
    return sorted(str(key) for key in client.scan_iter())


def test_marks_are_stored_in_bitmapists_key_format(
    redis_app: Flask, server: fakeredis.FakeServer
) -> None:
    @redis_app.route("/")
    @mark("index:visited", 1)
    def index() -> str:
        return "hello world"

    assert redis_app.test_client().get("/").status_code == 200

    assert keys(server) == [
        "trackist_index:visited_2026-11",
        "trackist_index:visited_2026-11-27",
        "trackist_index:visited_W2026-48",
    ]
    client = fakeredis.FakeRedis(server=server)
    assert client.getbit("trackist_index:visited_2026-11-27", 1) == 1


def test_the_key_prefix_is_configurable(server: fakeredis.FakeServer, clock: FixedClock) -> None:
    app = make_app(BITMAPIST_KEY_PREFIX="shop_")
    FlaskBitmapist(
        app,
        clock=clock,
        repository_factory=lambda s: RedisRepository(
            fakeredis.FakeRedis(server=server), prefix=s.key_prefix
        ),
    )

    with app.app_context():
        mark_event("user:paid", 3)
        assert list(MonthEvents("user:paid", 2026, 11)) == [3]

    assert keys(server)[0].startswith("shop_user:paid_")


def test_systems_default_is_the_redis_client(redis_app: Flask) -> None:
    extension = redis_app.extensions["bitmapist"].extension

    client = extension.SYSTEMS["default"]

    assert isinstance(client, redis.Redis)
    assert client is redis_app.extensions["bitmapist"].repository.client


def test_reads_and_cohorts_over_redis_match_the_in_process_store(
    redis_app: Flask, clock: FixedClock
) -> None:
    memory_app = make_app("memory")
    FlaskBitmapist(memory_app, clock=clock)
    history = [
        ("signup", 1, datetime(2026, 11, 20)),
        ("signup", 2, datetime(2026, 11, 21)),
        ("active", 1, datetime(2026, 11, 22)),
        ("active", 2, datetime(2026, 11, 22)),
        ("paid", 2, datetime(2026, 11, 25)),
        ("refunded", 1, datetime(2026, 11, 25)),
    ]
    results = []
    for app in (redis_app, memory_app):
        with app.app_context():
            for event, user_id, moment in history:
                mark_event(event, user_id, moment)
            chain = [{"name": "paid", "op": "or"}, {"name": "refunded", "op": "or"}]
            results.append(
                (
                    get_cohort("signup", "active", chain, "days", 8, 8),
                    list(get_event_data("active", "weeks", datetime(2026, 11, 22))),
                )
            )

    assert results[0] == results[1]
    assert results[0][1] == [1, 2]


def marked_by_bitmapist(server: fakeredis.FakeServer, event: str, user_id: int, day: int) -> None:
    """What bitmapist's ``mark_event(event, user_id)`` sets on ``day`` November 2026:
    bitmapist accepts any event name, spaces included."""
    client = fakeredis.FakeRedis(server=server)
    week = datetime(2026, 11, day).isocalendar().week
    for suffix in ("2026-11", f"W2026-{week}", f"2026-11-{day}"):
        client.setbit(f"trackist_{event}_{suffix}", user_id, 1)


def test_events_bitmapist_named_with_spaces_are_read_but_never_written(
    redis_app: Flask, server: fakeredis.FakeServer
) -> None:
    marked_by_bitmapist(server, "signed up", 1, 25)
    marked_by_bitmapist(server, "signed up", 2, 25)
    marked_by_bitmapist(server, "song played", 1, 27)
    marked_by_bitmapist(server, "song skipped", 2, 27)
    before = keys(server)

    with redis_app.app_context():
        assert get_event_names() == ["signed up", "song played", "song skipped"]
        assert list(get_event_data("song played")) == [1]
        assert list(DayEvents("song played", 2026, 11, 27)) == [1]
        assert list(MonthEvents("signed up", 2026, 11)) == [1, 2]
        chain = [{"name": "song skipped", "op": "or"}]
        assert list(chain_events("song played", chain, NOW, "days")) == [1, 2]
        cohort, _, totals = get_cohort("signed up", "song played", chain, "days", 3, 3)
        assert totals == [2, 0, 0]
        assert cohort[0] == [0, 0, 2]

        with pytest.raises(InvalidEventName, match="'song played' contains ' '"):
            mark_event("song played", 3)
    assert keys(server) == before


def test_a_wide_cohort_writes_no_temporary_keys(
    redis_app: Flask, server: fakeredis.FakeServer
) -> None:
    # 0.1.2 left bitop_ keys behind, with names doubling in length every column.
    with redis_app.app_context():
        for day in range(1, 28):
            mark_event("signup", day, datetime(2026, 11, day))
            mark_event("active", day * 2, datetime(2026, 11, day))
        before = keys(server)

        cohort, _, totals = get_cohort("signup", "active", None, "days", 35, 35)

    assert keys(server) == before
    assert not any(key.startswith("trackist_bitop") for key in before)
    assert len(cohort) == 35 and all(len(row) == 35 for row in cohort)
    assert sum(totals) == 27


# -- the storage URL (0.1.2 kept only host and port) ----------------------------------------


def test_the_default_url_is_a_local_redis_with_short_timeouts() -> None:
    app = Flask("defaults")

    FlaskBitmapist(app)

    repository = app.extensions["bitmapist"].repository
    assert isinstance(repository, RedisRepository)
    kwargs = repository.client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"]) == ("localhost", 6379)
    assert kwargs["socket_timeout"] == 0.5
    assert kwargs["socket_connect_timeout"] == 0.5


def test_password_user_database_and_tls_are_kept() -> None:
    app = make_app(
        BITMAPIST_REDIS_URL="rediss://analytics:s3cret@cache.internal:6380/3",
        BITMAPIST_SOCKET_TIMEOUT=1.5,
        BITMAPIST_CONNECT_TIMEOUT=0.25,
    )

    FlaskBitmapist(app)

    state = app.extensions["bitmapist"]
    pool = state.redis_client.connection_pool
    kwargs = pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache.internal", 6380, 3)
    assert (kwargs["username"], kwargs["password"]) == ("analytics", "s3cret")
    assert pool.connection_class is redis.SSLConnection
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (1.5, 0.25)
    assert state.extension.redis_url == "rediss://analytics:s3cret@cache.internal:6380/3"
    assert "s3cret" not in repr(state)


def test_a_unix_socket_url_is_kept() -> None:
    app = make_app(BITMAPIST_REDIS_URL="unix:///run/redis/redis.sock?db=2")

    FlaskBitmapist(app)

    pool = app.extensions["bitmapist"].redis_client.connection_pool
    assert pool.connection_class is redis.UnixDomainSocketConnection
    assert pool.connection_kwargs["path"] == "/run/redis/redis.sock"
    assert pool.connection_kwargs["db"] == 2


def test_memory_url_is_the_in_process_store() -> None:
    settings = Settings.from_config({"BITMAPIST_REDIS_URL": "memory://"})

    assert isinstance(repository_for(settings), InMemoryRepository)


def test_an_unknown_url_scheme_is_refused_at_init_app() -> None:
    app = make_app(BITMAPIST_REDIS_URL="http://localhost:6379")

    with pytest.raises(InvalidStorageConfig, match="'http://localhost:6379'"):
        FlaskBitmapist(app)


# -- storage down or hung ---------------------------------------------------------------


@pytest.fixture
def hung_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers (a hung Redis)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        listener.close()


def app_on(url: str, clock: FixedClock, **config: object) -> Flask:
    """An app on ``url`` with a marked view that answers "still here"."""
    app = make_app("facade-test", BITMAPIST_REDIS_URL=url, **config)
    FlaskBitmapist(app, clock=clock)

    @app.route("/")
    @mark("index:visited", 1)
    def index() -> str:
        mark_event("index:rendered", 1)
        return "still here"

    return app


# A Redis Cluster down at start-up behaves as a single Redis does: the app starts (the
# cluster client is made on first use), marks fail open, reads raise.
SINGLE_OR_CLUSTER = pytest.mark.parametrize("cluster", [False, True], ids=["single", "cluster"])


@SINGLE_OR_CLUSTER
def test_storage_down_the_view_still_answers(
    clock: FixedClock, cluster: bool, refused_port: int
) -> None:
    app = app_on(
        f"redis://127.0.0.1:{refused_port}/0",
        clock,
        BITMAPIST_REDIS_CLUSTER=cluster,
        BITMAPIST_MAP_IDS=True,  # the id map too connects on first use
    )
    client = app.test_client()

    responses = [client.get("/") for _ in range(3)]

    assert [(r.status_code, r.text) for r in responses] == [(200, "still here")] * 3
    assert app.extensions["bitmapist"].failed_marks == 6


@SINGLE_OR_CLUSTER
def test_storage_hung_the_view_still_answers_promptly(
    clock: FixedClock, hung_server: int, cluster: bool
) -> None:
    app = app_on(
        f"redis://127.0.0.1:{hung_server}/0",
        clock,
        BITMAPIST_SOCKET_TIMEOUT=0.2,
        BITMAPIST_CONNECT_TIMEOUT=0.2,
        BITMAPIST_REDIS_CLUSTER=cluster,
    )

    started = time.monotonic()
    response = app.test_client().get("/")
    elapsed = time.monotonic() - started

    assert (response.status_code, response.text) == (200, "still here")
    assert app.extensions["bitmapist"].failed_marks == 2
    # Without socket timeouts the request would wait for the hung server forever.
    assert elapsed < 5


@SINGLE_OR_CLUSTER
def test_storage_down_reads_raise_storage_unavailable(
    clock: FixedClock, cluster: bool, refused_port: int
) -> None:
    app = app_on(f"redis://127.0.0.1:{refused_port}/0", clock, BITMAPIST_REDIS_CLUSTER=cluster)

    with app.app_context():
        with pytest.raises(StorageUnavailable):
            get_event_data("index:visited")
        with pytest.raises(StorageUnavailable):
            get_cohort("index:visited", "index:rendered")


@SINGLE_OR_CLUSTER
def test_storage_down_with_raise_on_error_raises(
    clock: FixedClock, cluster: bool, refused_port: int
) -> None:
    app = app_on(
        f"redis://127.0.0.1:{refused_port}/0",
        clock,
        BITMAPIST_RAISE_ON_ERROR=True,
        BITMAPIST_REDIS_CLUSTER=cluster,
    )

    with app.app_context(), pytest.raises(StorageUnavailable):
        mark_event("user:paid", 1)


def test_marks_at_a_given_moment_land_in_that_periods_keys(
    redis_app: Flask, server: fakeredis.FakeServer
) -> None:
    with redis_app.app_context():
        mark_event("user:paid", 9, datetime(2027, 1, 1, 23, 30, tzinfo=timezone.utc))

    assert "trackist_user:paid_W2026-53" in keys(server)
    assert "trackist_user:paid_2027-1-1" in keys(server)
    with redis_app.app_context():
        assert current_state().now() == NOW
