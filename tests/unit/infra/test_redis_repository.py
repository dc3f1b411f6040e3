"""RedisRepository over fakeredis: bitmapist's keys and bits, round trips, URLs, failures.

The behaviour every repository shares is in tests/contract; this module pins down what is
particular to Redis.
"""

from __future__ import annotations

import math
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Any

import fakeredis
import numpy as np
import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    BitmapId,
    CohortEngine,
    CohortSpec,
    EventRef,
    InvalidEventName,
    InvalidStorageConfig,
    InvalidUserId,
    Mark,
    Period,
    StorageUnavailable,
    TimeGroup,
)
from flask_bitmapist.infra import (
    InMemoryRepository,
    RedisIdMapper,
    RedisRepository,
    repository_from_url,
)
from flask_bitmapist.infra._resp import pack_bitfield_set, pack_bitfield_sets
from flask_bitmapist.infra.breaker import CircuitBreaker

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


@pytest.fixture
def client() -> redis.Redis:
    """An empty fake Redis of its own."""
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


@pytest.fixture
def repository(client: redis.Redis) -> RedisRepository:
    return RedisRepository(client)


class RoundTrips:
    """Counts requests sent to any Redis server (one per command or pipeline), once the
    client's connection is open (opening it sends a few handshake commands)."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def round_trips(client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> RoundTrips:
    client.ping()
    counter = RoundTrips()
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self: redis.connection.AbstractConnection, *args: Any, **kwargs: Any) -> None:
        counter.count += 1
        original(self, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return counter


def keys(client: redis.Redis) -> set[str]:
    return {key.decode() for key in client.scan_iter()}


# -- bitmapist's format ------------------------------------------------------------


def test_a_mark_writes_bitmapists_month_week_and_day_keys(
    client: redis.Redis, repository: RedisRepository
) -> None:
    repository.mark([Mark.create("user:paid", 9, NOW)])
    assert keys(client) == {
        "trackist_user:paid_2026-11",
        "trackist_user:paid_W2026-48",
        "trackist_user:paid_2026-11-27",
    }


def test_hourly_and_unique_marks_add_the_hour_and_the_u_key(
    client: redis.Redis, repository: RedisRepository
) -> None:
    repository.mark([Mark.create("active", 9, datetime(2027, 1, 2, 5), hourly=True, unique=True)])
    assert keys(client) == {
        "trackist_active_2027-1",
        "trackist_active_W2026-53",
        "trackist_active_2027-1-2",
        "trackist_active_2027-1-2-5",
        "trackist_active_u",
    }


def test_bits_are_in_redis_setbit_order(client: redis.Redis, repository: RedisRepository) -> None:
    repository.mark(Mark.create("active", uid, NOW) for uid in (0, 9, 23))
    assert client.get("trackist_active_2026-11-27") == b"\x80\x40\x01"
    assert [client.getbit("trackist_active_2026-11-27", uid) for uid in (0, 9, 23)] == [1, 1, 1]


def test_bits_set_with_setbit_are_read_back(
    client: redis.Redis, repository: RedisRepository
) -> None:
    for uid in (3, 64, 1000):
        client.setbit("trackist_active_W2026-48", uid, 1)
    week = BitmapId("active", Period.containing(TimeGroup.WEEK, NOW))
    assert [list(b) for b in repository.fetch([week])] == [[3, 64, 1000]]


def test_the_key_prefix_is_configurable(client: redis.Redis) -> None:
    repository = RedisRepository(client, prefix="stats:")
    repository.mark([Mark.create("active", 1, NOW, unique=True)])
    assert "stats:active_u" in keys(client)
    assert repository.event_names() == frozenset({"active"})
    assert RedisRepository(client).event_names() == frozenset()


def test_key_names_a_bitmap_as_bitmapist_does(repository: RedisRepository) -> None:
    day = Period.containing(TimeGroup.DAY, datetime(2026, 3, 5))
    assert repository.key(BitmapId("user:paid", day)) == "trackist_user:paid_2026-3-5"
    assert repository.key(BitmapId("user:paid", None)) == "trackist_user:paid_u"


# -- round trips and chunks --------------------------------------------------------


def test_a_mark_call_is_one_round_trip(
    repository: RedisRepository, round_trips: RoundTrips
) -> None:
    repository.mark([Mark.create("active", 1, NOW, hourly=True, unique=True)])
    assert round_trips.count == 1


def test_a_bulk_mark_is_one_round_trip_per_chunk(
    client: redis.Redis, round_trips: RoundTrips
) -> None:
    repository = RedisRepository(client, chunk_size=100)
    repository.mark(Mark.create(f"event{uid % 7}", uid, NOW) for uid in range(250))
    assert round_trips.count == 3


def test_a_fetch_is_one_round_trip(repository: RedisRepository, round_trips: RoundTrips) -> None:
    days = [Period.containing(TimeGroup.DAY, NOW).shift(-i) for i in range(30)]
    repository.fetch([BitmapId(event, day) for event in ("a", "b") for day in days])
    assert round_trips.count == 1


def test_a_bulk_mark_reads_its_input_lazily_chunk_by_chunk(client: redis.Redis) -> None:
    repository = RedisRepository(client, chunk_size=5)
    client.ping()
    taken: list[int] = []
    seen_at_writes: list[int] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def marks() -> Iterator[Mark]:
        for uid in range(12):
            taken.append(uid)
            yield Mark.create("active", uid, NOW)

    def spy(self: redis.connection.AbstractConnection, *args: Any, **kwargs: Any) -> None:
        seen_at_writes.append(len(taken))
        original(self, *args, **kwargs)  # type: ignore[no-untyped-call]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redis.connection.AbstractConnection, "send_packed_command", spy)
        repository.mark(marks())
    assert seen_at_writes == [5, 10, 12]


def test_a_bad_item_fails_its_chunk_before_the_chunk_is_written(client: redis.Redis) -> None:
    repository = RedisRepository(client, chunk_size=2)
    marks: list[object] = [Mark.create("active", uid, NOW) for uid in (1, 2, 3)]
    with pytest.raises(TypeError, match="expected a Mark, got None"):
        repository.mark([*marks, None])  # type: ignore[list-item]
    # The first chunk (users 1 and 2) was complete and written; user 3's chunk was not.
    assert client.get("trackist_active_2026-11-27") == b"\x60"


def test_a_mark_with_a_bad_event_name_is_refused(repository: RedisRepository) -> None:
    with pytest.raises(InvalidEventName, match="'bad name'"):
        repository.mark([Mark("bad name", 1, NOW)])
    assert repository.event_names() == frozenset()


def test_user_ids_are_refused_past_redis_bitmap_limit(repository: RedisRepository) -> None:
    with pytest.raises(InvalidUserId, match="4294967296"):
        repository.mark([Mark("active", 2**32, NOW)])


def test_unmarking_touches_only_existing_bitmaps(
    client: redis.Redis, repository: RedisRepository
) -> None:
    repository.mark([Mark.create("active", 3, NOW)])
    repository.unmark([Mark.create("active", 3, NOW, hourly=True, unique=True)])
    assert keys(client) == {
        "trackist_active_2026-11",
        "trackist_active_W2026-48",
        "trackist_active_2026-11-27",
    }
    assert client.get("trackist_active_2026-11-27") == b"\x00"


# -- event names -----------------------------------------------------------------


def test_event_names_parse_bitmapist_keys_and_skip_everything_else(
    client: redis.Redis, repository: RedisRepository
) -> None:
    for key in [
        "trackist_a_b_2026-11",
        "trackist_x_W2026-48",
        "trackist_y_2026-11-27-13",
        "trackist_z_u",
        "trackist_d_2026-1-2",
        "trackist_bitop_AND_trackist_x_2026-11-trackist_y_2026-11",
        "trackist_nosuffix",
        "trackist_x_notasuffix",
        "trackist__2026-11",
        "trackist_with space_2026-11",
        "trackist_with\ttab_2026-11",
        "trackist_new\nline_2026-11",
        "other_q_2026-11",
        "q_2026-11",
    ]:
        client.setbit(key, 1, 1)
    assert repository.event_names() == frozenset({"a_b", "x", "y", "z", "d", "with space"})


def test_events_another_bitmapist_client_named_with_spaces_are_listed_and_read(
    client: redis.Redis, repository: RedisRepository
) -> None:
    # bitmapist.mark_event("song played", 7) on 2026-11-27: its keys, set bit by bit.
    for suffix in ("2026-11", "W2026-48", "2026-11-27"):
        client.setbit(f"trackist_song played_{suffix}", 7, 1)
    client.setbit("trackist_signed up_2026-11-27", 7, 1)
    client.setbit("trackist_signed up_2026-11-27", 8, 1)

    assert repository.event_names() == frozenset({"song played", "signed up"})
    day = Period.containing(TimeGroup.DAY, NOW)
    [played] = repository.fetch([BitmapId("song played", day)])
    assert list(played) == [7]
    spec = CohortSpec.create(
        EventRef("signed up"), EventRef("song played"), now=NOW, rows=1, cols=1
    )
    cohort = CohortEngine(repository).compute(spec)
    assert cohort.totals == (2,)
    assert cohort.cells == ((1,),)


def test_event_names_leave_out_events_whose_bitmaps_are_all_empty(
    client: redis.Redis, repository: RedisRepository
) -> None:
    for day in range(1, 29):
        client.set(f"trackist_emptied_2026-2-{day}", b"\x00\x00")
        client.set(f"trackist_late_2026-2-{day}", b"\x00" if day != 28 else b"\x00\x01")
    client.set("trackist_plain_u", b"\x80")
    assert repository.event_names() == frozenset({"late", "plain"})


def test_event_names_pass_over_keys_of_another_type_under_the_prefix(
    client: redis.Redis, repository: RedisRepository
) -> None:
    repository.mark([Mark.create("active", 3, NOW)])
    client.hset("trackist_settings_2026-11", "theme", "dark")
    client.rpush("trackist_active_u", "not a bitmap")
    assert repository.event_names() == frozenset({"active"})


def test_event_names_scan_and_never_use_keys(
    client: redis.Redis, repository: RedisRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository.mark(Mark.create(f"event{i}", 1, NOW) for i in range(2500))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("KEYS blocks the server; event_names must SCAN")

    monkeypatch.setattr(client, "keys", refuse)
    assert repository.event_names() == frozenset(f"event{i}" for i in range(2500))


def test_one_listing_of_stored_months_serves_every_event(
    client: redis.Redis, repository: RedisRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lifecycle of 100 ORed events once made 100 SCANs of the whole keyspace (issue 19).
    events = [f"feature:{i}" for i in range(100)]
    repository.mark(Mark.create(e, 1, datetime(2025, 1 + i % 12, 5)) for i, e in enumerate(events))
    repository.mark(Mark.create(e, 2, NOW) for e in [*events, "feature:1x", "other"])
    patterns: list[str] = []
    scan = repository.transport.scan

    def counted(pattern: str) -> Iterator[bytes | str]:
        patterns.append(pattern)
        return scan(pattern)

    monkeypatch.setattr(repository.transport, "scan", counted)
    months = repository.stored_months(events)
    assert months == {
        e: frozenset({date(2025, 1 + i % 12, 1), date(2026, 11, 1)}) for i, e in enumerate(events)
    }
    # The server filters by the events' common start, and leaves out weeks and flags.
    assert patterns == ["trackist_feature:*_[0-9]*"]
    assert repository.stored_months(["feature:1"]) == {
        "feature:1": frozenset({date(2025, 2, 1), date(2026, 11, 1)})
    }
    assert patterns[1:] == ["trackist_feature:1_[0-9]*"]
    assert repository.stored_months([]) == {}
    assert len(patterns) == 2


def test_a_prefix_with_glob_characters_matches_only_itself(client: redis.Redis) -> None:
    repository = RedisRepository(client, prefix="app[1]*?_")
    repository.mark([Mark.create("active", 1, NOW)])
    client.setbit("app1xx_other_2026-11", 1, 1)
    client.setbit("app[1]xx_other_2026-11", 1, 1)
    assert repository.event_names() == frozenset({"active"})


# -- construction and configuration -----------------------------------------------


@pytest.mark.parametrize("prefix", ["", "has space", "tab\t", 42, None])
def test_a_bad_prefix_is_refused(client: redis.Redis, prefix: object) -> None:
    with pytest.raises(InvalidStorageConfig, match="prefix"):
        RedisRepository(client, prefix=prefix)  # type: ignore[arg-type]


def test_a_client_that_decodes_responses_is_refused() -> None:
    decoding = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    with pytest.raises(InvalidStorageConfig, match="decode_responses"):
        RedisRepository(decoding)


def test_something_else_than_a_redis_client_is_refused() -> None:
    with pytest.raises(InvalidStorageConfig, match=r"redis\.Redis"):
        RedisRepository("redis://localhost")  # type: ignore[arg-type]


@pytest.mark.parametrize("chunk_size", [0, -5, 2.5, True])
def test_a_bad_chunk_size_is_refused(client: redis.Redis, chunk_size: object) -> None:
    with pytest.raises(InvalidStorageConfig, match="chunk_size"):
        RedisRepository(client, chunk_size=chunk_size)  # type: ignore[arg-type]


def connection_kwargs(repository: RedisRepository) -> dict[str, Any]:
    assert isinstance(repository.client, redis.Redis)
    kwargs: dict[str, Any] = repository.client.connection_pool.connection_kwargs
    return kwargs


def test_from_url_keeps_host_port_password_and_db() -> None:
    repository = RedisRepository.from_url("redis://:s3cret@cache.internal:6380/3")
    kwargs = connection_kwargs(repository)
    assert (kwargs["host"], kwargs["port"], kwargs["password"], kwargs["db"]) == (
        "cache.internal",
        6380,
        "s3cret",
        3,
    )
    assert repository.server == "Redis at redis://cache.internal:6380/3"
    assert "s3cret" not in repr(repository)


def test_from_url_with_a_username() -> None:
    kwargs = connection_kwargs(RedisRepository.from_url("redis://app:pw@localhost/0"))
    assert (kwargs["username"], kwargs["password"]) == ("app", "pw")


def test_from_url_speaks_tls_for_rediss() -> None:
    repository = RedisRepository.from_url("rediss://cache.internal:6390/1")
    assert isinstance(repository.client, redis.Redis)
    assert repository.client.connection_pool.connection_class is redis.SSLConnection
    assert repository.server == "Redis at rediss://cache.internal:6390/1"


def test_from_url_uses_unix_sockets() -> None:
    repository = RedisRepository.from_url("unix:///run/redis/redis.sock?db=2")
    assert isinstance(repository.client, redis.Redis)
    assert repository.client.connection_pool.connection_class is redis.UnixDomainSocketConnection
    assert connection_kwargs(repository)["path"] == "/run/redis/redis.sock"
    assert repository.server == "Redis at unix:///run/redis/redis.sock (db 2)"


def test_from_url_sets_short_timeouts_by_default_and_takes_others() -> None:
    default = connection_kwargs(RedisRepository.from_url("redis://localhost"))
    assert (default["socket_timeout"], default["socket_connect_timeout"]) == (0.5, 0.5)
    custom = connection_kwargs(
        RedisRepository.from_url("redis://localhost", socket_timeout=2, connect_timeout=0.1)
    )
    assert (custom["socket_timeout"], custom["socket_connect_timeout"]) == (2.0, 0.1)


def test_from_url_passes_the_prefix() -> None:
    assert RedisRepository.from_url("redis://localhost", prefix="stats:").prefix == "stats:"


@pytest.mark.parametrize(
    "url", ["http://localhost", "localhost:6379", "", "memory://", "redis://:pw@host:port/0"]
)
def test_a_bad_url_is_refused_naming_it_without_its_password(url: str) -> None:
    with pytest.raises(InvalidStorageConfig) as caught:
        RedisRepository.from_url(url)
    assert "pw" not in str(caught.value)
    if url.startswith("redis://:pw@"):
        assert "redis://:***@host:port/0" in str(caught.value)
    else:
        assert repr(url) in str(caught.value)


def test_a_url_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidStorageConfig, match="must be a str, got 6379"):
        RedisRepository.from_url(6379)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, "1", True, None])
def test_a_bad_timeout_is_refused(timeout: object) -> None:
    with pytest.raises(InvalidStorageConfig, match="socket_timeout"):
        RedisRepository.from_url("redis://localhost", socket_timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(InvalidStorageConfig, match="connect_timeout"):
        RedisRepository.from_url("redis://localhost", connect_timeout=timeout)  # type: ignore[arg-type]


def test_a_cluster_url_must_be_tcp() -> None:
    with pytest.raises(InvalidStorageConfig, match="redis://, rediss://"):
        RedisRepository.from_url("unix:///tmp/redis.sock", cluster=True)


# -- repository_from_url ------------------------------------------------------------


def test_memory_url_gives_a_new_in_process_store_each_time() -> None:
    first, second = repository_from_url("memory://"), repository_from_url("memory://")
    assert isinstance(first, InMemoryRepository)
    assert isinstance(second, InMemoryRepository)
    first.mark([Mark.create("active", 1, NOW)])
    assert second.event_names() == frozenset()


def test_redis_urls_give_a_redis_repository_with_the_options() -> None:
    repository = repository_from_url(
        "redis://localhost:6379/4", prefix="stats:", socket_timeout=1.5, connect_timeout=0.2
    )
    assert isinstance(repository, RedisRepository)
    assert repository.prefix == "stats:"
    kwargs = connection_kwargs(repository)
    assert (kwargs["db"], kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (
        4,
        1.5,
        0.2,
    )


def test_memory_url_cannot_be_a_cluster() -> None:
    with pytest.raises(InvalidStorageConfig, match="in-process"):
        repository_from_url("memory://", cluster=True)


def test_repository_from_url_refuses_unknown_schemes() -> None:
    with pytest.raises(InvalidStorageConfig, match="'postgres://db'"):
        repository_from_url("postgres://db")


# -- failures ---------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["mark", "unmark", "fetch", "event_names"])
def test_an_unreachable_server_raises_storage_unavailable_naming_it(
    operation: str, refused_port: int
) -> None:
    port = refused_port
    repository = RedisRepository.from_url(f"redis://:pw@127.0.0.1:{port}/0")
    mark = Mark.create("active", 1, NOW)
    calls = {
        "mark": lambda: repository.mark([mark]),
        "unmark": lambda: repository.unmark([mark]),
        "fetch": lambda: repository.fetch(list(mark.targets())),
        "event_names": repository.event_names,
    }
    with pytest.raises(StorageUnavailable, match=f"127.0.0.1:{port}") as caught:
        calls[operation]()
    repository.close()
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
    assert "pw" not in str(caught.value)


@contextmanager
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A loopback server that accepts connections and never answers: its port, and the
    connections it accepted so far. A retried timeout opens a second connection, so
    counting them shows whether a call gave up after one timeout, without timing it (a
    loaded machine would make a wall-clock bound flaky)."""
    accepted: list[socket.socket] = []
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(0.05)
        stop = threading.Event()

        def accept() -> None:
            while not stop.is_set():
                try:
                    accepted.append(silent.accept()[0])
                except TimeoutError:
                    continue

        acceptor = threading.Thread(target=accept)
        acceptor.start()
        try:
            yield silent.getsockname()[1], accepted
        finally:
            stop.set()
            acceptor.join()
            for connection in accepted:
                connection.close()


# Every client the package makes states its retry policy: redis-py 6 and later retry
# timeouts by default, which made each of these open two connections on redis-py 8.1.0.
SILENT_SERVER_CALLS: dict[str, Callable[[RedisRepository], object]] = {
    "mark": lambda repository: repository.mark([Mark.create("active", 1, NOW)]),
    "fetch": lambda repository: repository.fetch(list(Mark.create("active", 1, NOW).targets())),
    "event_names": lambda repository: repository.event_names(),
    "id map": lambda repository: RedisIdMapper.of(repository).assign(["alice"]),
}


@pytest.mark.parametrize("operation", SILENT_SERVER_CALLS)
def test_a_server_that_does_not_answer_times_out_without_retrying(operation: str) -> None:
    with silent_server() as (port, accepted):
        repository = RedisRepository.from_url(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3)
        try:
            with pytest.raises(StorageUnavailable, match="Timeout") as caught:
                SILENT_SERVER_CALLS[operation](repository)
        finally:
            repository.close()
        assert len(accepted) == 1
    assert isinstance(caught.value.__cause__, redis.exceptions.TimeoutError)


def test_a_cluster_node_that_does_not_answer_times_out_without_retrying() -> None:
    # The client is made on first use: asking the silent node for the slot map times out.
    with silent_server() as (port, accepted):
        repository = RedisRepository.from_url(
            f"redis://127.0.0.1:{port}", cluster=True, socket_timeout=0.3
        )
        try:
            with pytest.raises(StorageUnavailable, match=f"127.0.0.1:{port}"):
                repository.mark([Mark.create("active", 1, NOW)])
        finally:
            repository.close()
        assert len(accepted) == 1


@pytest.mark.parametrize("operation", ["mark", "unmark", "fetch", "event_names", "client"])
def test_a_cluster_that_cannot_be_reached_is_made_and_raises_storage_unavailable_on_use(
    operation: str, refused_port: int
) -> None:
    port = refused_port
    repository = RedisRepository.from_url(
        f"redis://:pw@127.0.0.1:{port}", cluster=True, connect_timeout=0.2
    )
    mark = Mark.create("active", 1, NOW)
    calls: dict[str, Callable[[], object]] = {
        "mark": lambda: repository.mark([mark]),
        "unmark": lambda: repository.unmark([mark]),
        "fetch": lambda: repository.fetch(list(mark.targets())),
        "event_names": repository.event_names,
        "client": lambda: repository.client,
    }
    with pytest.raises(StorageUnavailable, match=f"Redis Cluster 127.0.0.1:{port} is") as caught:
        calls[operation]()
    assert isinstance(caught.value.__cause__, redis.exceptions.RedisClusterException)
    assert "pw" not in str(caught.value)
    repository.close()  # nothing to close: no client was made


def test_a_cluster_client_is_made_on_first_use_and_again_after_a_failed_attempt() -> None:
    attempts: list[int] = []

    def unreachable() -> redis.cluster.RedisCluster:
        attempts.append(len(attempts))
        raise redis.exceptions.RedisClusterException("Redis Cluster cannot be connected")

    # No pause between attempts (the default breaker would skip the next calls a while).
    never_skip = CircuitBreaker(interval=0, max_interval=0)
    repository = RedisRepository(unreachable, prefix="stats_", breaker=never_skip)
    assert attempts == []
    assert repository.is_cluster
    for _ in range(2):
        with pytest.raises(StorageUnavailable, match="cannot be connected"):
            repository.mark([Mark.create("active", 1, NOW)])
    with pytest.raises(StorageUnavailable, match=r"unavailable \(reading\)"):
        repository.fetch([BitmapId("active", None)])
    assert attempts == [0, 1, 2]


# -- the BITFIELD packer ------------------------------------------------------------


def parse_commands(packed: bytes) -> list[list[bytes]]:
    """Decode Redis protocol arrays of bulk strings (the request format), one per command."""
    commands = []
    rest = packed
    while rest:
        header, _, rest = rest.partition(b"\r\n")
        assert header.startswith(b"*")
        args = []
        for _ in range(int(header[1:])):
            length, _, rest = rest.partition(b"\r\n")
            assert length.startswith(b"$")
            size = int(length[1:])
            args.append(rest[:size])
            assert rest[size : size + 2] == b"\r\n"
            rest = rest[size + 2 :]
        commands.append(args)
    return commands


@given(
    commands=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=30).map(str.encode),
            st.lists(st.integers(min_value=0, max_value=2**32 - 1), min_size=1, max_size=200),
        ),
        min_size=1,
        max_size=6,
    ),
    value=st.sampled_from([0, 1]),
)
def test_packed_bitfields_are_the_commands_redis_py_would_send(
    commands: list[tuple[bytes, list[int]]], value: int
) -> None:
    keys = [key for key, _ in commands]
    arrays = [np.array(offsets, dtype=np.uint64) for _, offsets in commands]
    packed = b"".join(pack_bitfield_sets(keys, arrays, value))
    parsed = parse_commands(packed)
    assert len(parsed) == len(commands)
    for args, (key, offsets) in zip(parsed, commands, strict=True):
        assert args[:2] == [b"BITFIELD", key]
        ops = [args[i : i + 4] for i in range(2, len(args), 4)]
        assert all(op[:2] == [b"SET", b"u1"] and op[3] == b"%d" % value for op in ops)
        # Ascending, so that the server walks the bitmap front to back.
        assert [int(op[2]) for op in ops] == sorted(offsets)


def test_a_packed_bitfield_of_one_key_is_one_command() -> None:
    packed = b"".join(pack_bitfield_set(b"k", np.array([10, 7], dtype=np.uint64), 1))
    assert parse_commands(packed) == [
        [b"BITFIELD", b"k", b"SET", b"u1", b"7", b"1", b"SET", b"u1", b"10", b"1"]
    ]
