"""The SQLite store's URLs, its file, and its faults: a locked, corrupt, unreadable or
read-only file is StorageUnavailable naming the path; pyroaring missing is MissingExtra."""

from __future__ import annotations

import multiprocessing
import sqlite3
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    InvalidStorageConfig,
    Mark,
    Period,
    StorageUnavailable,
    TimeGroup,
)
from flask_bitmapist.domain.segments import PropertyAssignment, PropertyValue, SavedCohort
from flask_bitmapist.exceptions import MissingExtra
from flask_bitmapist.infra import InMemoryRepository, repository_from_url
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.sqlite_file import (
    IN_BATCH,
    SqliteFile,
    absolute_sqlite_url,
    select_in,
    sqlite_path,
)
from flask_bitmapist.infra.sqlite_repository import SqliteRepository

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)
DAY = BitmapId("user:paid", Period.containing(TimeGroup.DAY, NOW))


def no_breaker() -> CircuitBreaker:
    """A breaker that never skips the store (each test call reaches the file)."""
    return CircuitBreaker(interval=0, max_interval=0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteRepository]:
    repository = SqliteRepository(tmp_path / "store.db", busy_timeout=0.05, breaker=no_breaker())
    yield repository
    repository.close()


# -- URLs ------------------------------------------------------------------------------


def test_a_relative_url_is_in_the_base_folder_and_an_absolute_one_is_absolute() -> None:
    assert sqlite_path("sqlite:///demo.db", "/srv/instance") == (
        Path("/srv/instance/demo.db"),
        False,
    )
    assert sqlite_path("sqlite:///data/a.db", "/srv") == (Path("/srv/data/a.db"), False)
    assert sqlite_path("sqlite:////var/lib/app/a.db", "/srv") == (Path("/var/lib/app/a.db"), False)
    assert sqlite_path("SQLITE:////var/a%20b.db?mode=ro") == (Path("/var/a b.db"), True)
    assert absolute_sqlite_url("sqlite:///demo.db", "/i") == "sqlite:////i/demo.db"
    assert absolute_sqlite_url("memory://", "/i") == "memory://"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "names a host"),
        ("sqlite://host/a.db", "names a host"),
        ("sqlite:///", "names no file"),
        ("sqlite:///folder/", "names no file"),
        ("sqlite:///:memory:", "names no file"),
        ("sqlite:///a.db?journal=off", "unknown option 'journal'"),
        ("sqlite:///a.db?mode=rwc", "mode must be ro or rw"),
    ],
)
def test_a_bad_url_is_refused_naming_it(url: str, message: str) -> None:
    with pytest.raises(InvalidStorageConfig, match=message) as error:
        repository_from_url(url)
    assert repr(url) in str(error.value)


def test_repository_from_url_makes_the_store_in_the_base_folder(tmp_path: Path) -> None:
    repository = repository_from_url("sqlite:///a.db", base=tmp_path, socket_timeout=2.0)
    assert isinstance(repository, SqliteRepository)
    assert repository.file.path == tmp_path / "a.db"
    assert repository.file.busy_timeout == 2.0
    with pytest.raises(InvalidStorageConfig, match="a cluster needs a redis"):
        repository_from_url("sqlite:///a.db", base=tmp_path, cluster=True)


def test_without_pyroaring_the_store_names_the_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyroaring", None)
    with pytest.raises(MissingExtra, match=r"pip install 'flask-bitmapist\[sqlite\]'"):
        SqliteRepository(tmp_path / "a.db")


# -- the file --------------------------------------------------------------------------


def test_the_file_is_in_wal_mode_and_persists_across_repositories(tmp_path: Path) -> None:
    first = SqliteRepository(tmp_path / "a.db")
    first.mark([Mark.create("user:paid", 70_000, NOW)])
    first.close()
    second = SqliteRepository(tmp_path / "a.db")
    assert [list(b) for b in second.fetch([DAY])] == [[70_000]]
    second.close()
    with sqlite3.connect(tmp_path / "a.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()


def test_a_mark_stores_one_small_blob_per_container(store: SqliteRepository) -> None:
    store.mark(Mark.create("user:paid", uid, NOW) for uid in (3, 65_535, 65_536, 1_000_000))
    with sqlite3.connect(store.file.path) as connection:
        rows = connection.execute(
            "SELECT c.id & 65535, length(c.users) FROM bitmapist_containers AS c "
            "JOIN bitmapist_bitmaps AS b ON c.id >> 16 = b.id WHERE b.suffix = '2026-11-27'"
        ).fetchall()
    connection.close()
    assert [number for number, _ in rows] == [0, 1, 15]
    assert all(size < 64 for _, size in rows)


# -- faults ----------------------------------------------------------------------------


def test_a_locked_file_waits_the_busy_timeout_then_is_unavailable(
    store: SqliteRepository,
) -> None:
    store.mark([Mark.create("user:paid", 1, NOW)])
    other = sqlite3.connect(store.file.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(StorageUnavailable, match="is locked by another writer") as error:
            store.mark([Mark.create("user:paid", 2, NOW)])
        assert str(store.file.path) in str(error.value)
        assert "busy timeout" in str(error.value)
        # Readers never wait for the writer (WAL): the committed data is read.
        assert [list(b) for b in store.fetch([DAY])] == [[1]]
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.mark([Mark.create("user:paid", 2, NOW)])
    assert [list(b) for b in store.fetch([DAY])] == [[1, 2]]


def test_a_busy_file_while_a_connection_is_set_up_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Switching to WAL takes the lock without SQLite's busy wait: a new connection may
    # find the file busy at once, and tries again within the busy timeout.
    store = SqliteRepository(tmp_path / "busy.db", busy_timeout=5, breaker=no_breaker())
    set_up = SqliteFile._set_up
    refusals = iter([True, True])

    def busy_twice(file: SqliteFile, connection: sqlite3.Connection) -> None:
        if next(refusals, False):
            raise sqlite3.OperationalError("database is locked")
        set_up(file, connection)

    monkeypatch.setattr(SqliteFile, "_set_up", busy_twice)
    monkeypatch.setattr("flask_bitmapist.infra.sqlite_file.time.sleep", lambda _: None)
    store.mark([Mark.create("user:paid", 1, NOW)])
    assert [list(b) for b in store.fetch([DAY])] == [[1]]
    store.close()


def test_connections_opened_together_on_a_new_file_all_work(tmp_path: Path) -> None:
    # Eight threads open their connections on a new file at once, twenty times.
    for round_ in range(20):
        store = SqliteRepository(tmp_path / f"new-{round_}.db", breaker=no_breaker())
        start = threading.Barrier(8)
        failures: list[BaseException] = []
        threads = [
            threading.Thread(target=first_read, args=(store, start, failures)) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        store.close()
        assert failures == []


def first_read(
    store: SqliteRepository, start: threading.Barrier, failures: list[BaseException]
) -> None:
    start.wait()
    try:
        store.fetch([DAY])
    except BaseException as exc:
        failures.append(exc)


def test_a_corrupt_file_is_unavailable_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is no database, it is a text file\n" * 200)
    repository = SqliteRepository(path, breaker=no_breaker())
    for call in (repository.event_names, lambda: repository.fetch([DAY])):
        with pytest.raises(StorageUnavailable, match="is not a valid SQLite database") as error:
            call()
        assert str(path) in str(error.value)
    with pytest.raises(StorageUnavailable, match=f"SQLite file {path}"):
        repository.mark([Mark.create("user:paid", 1, NOW)])


def test_a_file_that_cannot_be_opened_is_unavailable_naming_the_path(tmp_path: Path) -> None:
    for path in (tmp_path / "a-folder", tmp_path / "missing-folder" / "a.db"):
        if path.name == "a-folder":
            path.mkdir()
        repository = SqliteRepository(path, breaker=no_breaker())
        with pytest.raises(StorageUnavailable, match="cannot be opened") as error:
            repository.event_names()
        assert str(path) in str(error.value)


def test_a_read_only_file_is_read_and_refuses_marks_naming_the_path(tmp_path: Path) -> None:
    writer = SqliteRepository(tmp_path / "a.db")
    writer.mark([Mark.create("user:paid", 5, NOW)])
    writer.close()
    reader = repository_from_url(f"sqlite:///{tmp_path}/a.db?mode=ro")
    assert isinstance(reader, SqliteRepository)
    assert reader.file.read_only
    assert [list(b) for b in reader.fetch([DAY])] == [[5]]
    with pytest.raises(StorageUnavailable, match="is read-only") as error:
        reader.mark([Mark.create("user:paid", 6, NOW)])
    assert str(tmp_path / "a.db") in str(error.value)
    reader.close()


def test_a_file_written_before_segments_reads_read_only_as_none_and_gains_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    writer = SqliteRepository(path)
    writer.mark([Mark.create("user:paid", 5, NOW)])
    writer.close()
    with sqlite3.connect(path) as connection:  # as the store wrote files before segments
        connection.execute("DROP TABLE bitmapist_properties")
        connection.execute("DROP TABLE bitmapist_cohorts")
    connection.close()
    reader = SqliteRepository(path, read_only=True)
    assert reader.property_values() == {}
    assert reader.cohort_names() == frozenset()
    assert reader.fetch_user_sets([PropertyValue("plan", "pro"), SavedCohort("beta")]) == [
        Bitmap(),
        Bitmap(),
    ]
    reader.close()
    writer = SqliteRepository(path)  # a writer creates the tables
    writer.set_properties([PropertyAssignment.create(5, "plan", "pro")])
    writer.save_cohort("beta", Bitmap.from_ids([5]))
    assert writer.property_values() == {"plan": frozenset({"pro"})}
    assert [list(b) for b in writer.fetch([DAY])] == [[5]]
    writer.close()


def test_after_a_failure_the_breaker_skips_the_file_for_a_while(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"x" * 4096)
    repository = SqliteRepository(path)  # the default breaker
    with pytest.raises(StorageUnavailable) as first:
        repository.event_names()
    assert not first.value.skipped
    with pytest.raises(StorageUnavailable) as second:
        repository.event_names()
    assert second.value.skipped
    assert "not a valid SQLite database" in str(second.value)


# Python 3.12+ warns when a process with threads (other tests' replay threads) forks.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_opens_its_own_connection_and_both_write(tmp_path: Path) -> None:
    # As gunicorn --preload does: the parent used the store before forking its workers.
    store = SqliteRepository(tmp_path / "a.db")
    store.mark([Mark.create("user:paid", 1, NOW)])
    context = multiprocessing.get_context("fork")
    child = context.Process(target=store.mark, args=([Mark.create("user:paid", 2, NOW)],))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    store.mark([Mark.create("user:paid", 3, NOW)])
    assert [list(b) for b in store.fetch([DAY])] == [[1, 2, 3]]
    store.close()


def test_a_repeated_mark_writes_nothing_to_the_file(store: SqliteRepository) -> None:
    mark = Mark.create("user:paid", 70_000, NOW)
    store.mark([mark])
    log = Path(f"{store.file.path}-wal")  # every page a commit writes is appended here
    written = log.stat().st_size
    store.mark([mark, mark])  # a second login today: its bits are set already
    assert log.stat().st_size == written
    store.mark([Mark.create("user:paid", 70_001, NOW)])
    assert log.stat().st_size > written
    assert [list(b) for b in store.fetch([DAY])] == [[70_000, 70_001]]


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param(list(range(0, 70_000, 3)), id="a dense container (a bitset)"),
        pytest.param([*range(1_000, 9_000), 65_536], id="a run of ids"),
        pytest.param([i for i in range(65_536) if i // 3 % 2 == 0], id="many runs"),
        pytest.param([5, 8_000, 65_535, 65_536, 200_000], id="sparse containers (arrays)"),
    ],
)
def test_every_kind_of_container_reads_back_as_the_in_process_store_does(
    store: SqliteRepository, ids: list[int]
) -> None:
    marks = [Mark.create("user:paid", uid, NOW) for uid in ids]
    memory = InMemoryRepository()
    memory.mark(marks)
    store.mark(marks)
    for max_bytes in (None, 1, 1_000, 8_191, 8_192, 8_193, 30_000):
        assert store.fetch([DAY], max_bytes=max_bytes) == memory.fetch([DAY], max_bytes=max_bytes)


def test_a_failed_write_forgets_its_rows_so_later_bitmaps_are_not_mixed_up(
    store: SqliteRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_set = store._set

    def set_then_fail(
        connection: sqlite3.Connection, by_key: dict[tuple[str, str], list[int]]
    ) -> None:
        real_set(connection, by_key)  # the rows are created, then rolled back
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(store, "_set", set_then_fail)
    with pytest.raises(RuntimeError, match="disk went away"):
        store.mark([Mark.create("a", 1, NOW)])
    with pytest.raises(RuntimeError, match="disk went away"):
        store.merge([(BitmapId("c", DAY.period), Bitmap.from_ids([4]))])
    monkeypatch.undo()
    # "b" is given the row ids "a" and "c" had in the rolled-back transactions.
    store.mark([Mark.create("b", 2, NOW)])
    store.mark([Mark.create("a", 3, NOW)])
    store.merge([(BitmapId("c", DAY.period), Bitmap.from_ids([5]))])
    a, b, c = store.fetch([BitmapId(event, DAY.period) for event in "abc"])
    assert (list(a), list(b), list(c)) == ([3], [2], [5])


def test_select_in_asks_for_every_value_a_batch_at_a_time() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, twice INTEGER)")
    connection.executemany("INSERT INTO t VALUES (?, ?)", [(n, 2 * n) for n in range(3000)])
    wanted = [*range(0, 3000, 2), 5000]  # more values than SQLite 3.31 binds at once
    assert len(wanted) > 2 * IN_BATCH
    rows = select_in(connection, "SELECT n, twice FROM t WHERE n IN", wanted)
    assert sorted(rows) == [(n, 2 * n) for n in range(0, 3000, 2)]
    assert list(select_in(connection, "SELECT n FROM t WHERE n IN", [])) == []
    connection.close()


def test_ids_and_containers_past_one_batch_are_all_found(store: SqliteRepository) -> None:
    users = range(0, (IN_BATCH + 7) << 16, 1 << 16)  # one user per container
    store.mark([Mark.create("a", user, NOW) for user in users])
    store.mark([Mark.create("a", user + 1, NOW) for user in users])  # reads every container
    (day,) = store.fetch([BitmapId("a", DAY.period)])
    assert len(day) == 2 * len(users)
