"""One SQLite file shared by the embedded store's bitmaps and id map (``sqlite://`` URLs).

The file is opened with the standard library's sqlite3, in WAL mode: readers never wait
for the writer, and a commit is one append to the log (``synchronous=NORMAL``: a power
cut may lose the last commits, never corrupt the file; the log is copied into the file
every 10,000 pages). Every write is one
``BEGIN IMMEDIATE`` transaction, so writers in several processes (gunicorn workers, the
CLI) queue on SQLite's lock; one that waits past the busy timeout gives up, and the call
raises :class:`~flask_bitmapist.domain.StorageUnavailable` (marks fail open and are
replayed). Each thread of each process has its own connection; a connection made before a
``fork`` is never used (nor closed) by the child.

Every sqlite3 error becomes :class:`StorageUnavailable` naming the file: locked, not a
database (corrupt), unreadable, read-only.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import parse_qs, quote, unquote

from flask_bitmapist.domain import InvalidStorageConfig, StorageUnavailable

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
from flask_bitmapist.infra.breaker import CircuitBreaker

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "IN_BATCH",
    "SCHEMA",
    "SQLITE_SCHEME",
    "SqliteFile",
    "absolute_sqlite_url",
    "is_sqlite_url",
    "select_in",
    "sqlite_path",
]

#: Values bound in one ``IN (...)``: SQLite before 3.32 binds at most 999 variables per
#: statement (32,766 since), so stay far below.
IN_BATCH: Final = 500
#: ``sqlite:///relative.db`` (to the app's instance folder), ``sqlite:////abs/path.db``.
SQLITE_SCHEME: Final = "sqlite"
#: Seconds a write waits for another writer's lock before the call counts as unavailable
#: (the same default as a Redis socket timeout: marking must never stall a request).
DEFAULT_BUSY_TIMEOUT: Final = 0.5

#: The tables, created on first use. A bitmap is one row of ``bitmapist_bitmaps`` (its
#: event, bitmapist's key suffix and its length in bytes as Redis would hold it) and one
#: row of ``bitmapist_containers`` per 65,536 ids that hold a user: the container's rowid is
#: ``bitmap id << 16 | container number``, so one B-tree finds a container, and a bitmap's
#: containers are one range of it, in order. Properties and saved cohorts (DESIGN section
#: 13) are stored the same way, one row per container that holds a user:
#: ``bitmapist_properties`` by (property, value, container number), so a value is listed
#: while it has a row and is dropped with its last user; ``bitmapist_cohorts`` by (name,
#: container number), a cohort of nobody being one row of container 0 holding no id.
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS bitmapist_bitmaps (
    id INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    suffix TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    UNIQUE (event, suffix)
);
CREATE TABLE IF NOT EXISTS bitmapist_containers (
    id INTEGER PRIMARY KEY,
    users BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS bitmapist_properties (
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    container INTEGER NOT NULL,
    users BLOB NOT NULL,
    PRIMARY KEY (name, value, container)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bitmapist_properties_by_container
    ON bitmapist_properties (name, container);
CREATE TABLE IF NOT EXISTS bitmapist_cohorts (
    name TEXT NOT NULL,
    container INTEGER NOT NULL,
    users BLOB NOT NULL,
    PRIMARY KEY (name, container)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bitmapist_ids (
    number INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE,
    original TEXT NOT NULL
);
"""

_T = TypeVar("_T")
# Connections a forked child inherited: kept referenced so that the garbage collector never
# closes them in the child (closing could checkpoint or unlock what the parent uses).
_ORPHANS: list[sqlite3.Connection] = []


def is_sqlite_url(url: object) -> bool:
    """Whether ``url`` names an SQLite file (``sqlite://...``, any case).

    >>> is_sqlite_url("sqlite:///analytics.db"), is_sqlite_url("redis://localhost")
    (True, False)
    """
    return isinstance(url, str) and url.lower().startswith(f"{SQLITE_SCHEME}://")


def sqlite_path(url: str, base: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """The file ``url`` names, and whether it is opened read-only (``?mode=ro``).

    As SQLAlchemy writes SQLite URLs: ``sqlite:///name.db`` is relative to ``base`` (the
    app's instance folder; the working directory without one), ``sqlite:////abs/name.db``
    absolute.

    >>> sqlite_path("sqlite:///demo.db", "/srv/instance")
    (PosixPath('/srv/instance/demo.db'), False)
    >>> sqlite_path("sqlite:////var/lib/app/analytics.db?mode=ro")
    (PosixPath('/var/lib/app/analytics.db'), True)
    """
    if not is_sqlite_url(url):
        raise InvalidStorageConfig(f"storage URL {url!r} must start with sqlite:///")
    rest = url.partition("://")[2]
    if not rest.startswith("/"):
        raise InvalidStorageConfig(
            f"storage URL {url!r} names a host; write sqlite:///name.db (in the instance "
            "folder) or sqlite:////absolute/path.db"
        )
    path_text, _, query = rest[1:].partition("?")
    options = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(options) - {"mode"})
    if unknown:
        raise InvalidStorageConfig(f"storage URL {url!r}: unknown option {unknown[0]!r}")
    modes = options.get("mode", ["rw"])
    if modes not in (["rw"], ["ro"]):
        raise InvalidStorageConfig(f"storage URL {url!r}: mode must be ro or rw, got {modes!r}")
    path_text = unquote(path_text)
    if not path_text or path_text.endswith("/") or path_text == ":memory:":
        raise InvalidStorageConfig(
            f"storage URL {url!r} names no file: write sqlite:///name.db (in the instance "
            "folder) or sqlite:////absolute/path.db (memory:// is the in-process store)"
        )
    path = Path(path_text)
    if not path.is_absolute():
        path = Path(base if base is not None else os.getcwd()) / path
    return path, modes == ["ro"]


def absolute_sqlite_url(url: str, base: str | os.PathLike[str]) -> str:
    """``url`` with its file made absolute against ``base`` (other URLs unchanged), so
    that every process of an app, whatever its working directory, opens the same file.

    >>> absolute_sqlite_url("sqlite:///demo.db", "/srv/instance")
    'sqlite:////srv/instance/demo.db'
    """
    if not is_sqlite_url(url):
        return url
    path, read_only = sqlite_path(url, base)
    return f"{SQLITE_SCHEME}:///{path}{'?mode=ro' if read_only else ''}"


class SqliteFile:
    """Connections to one SQLite file, per thread and process, and the errors it raises.

    ``busy_timeout``: seconds a write waits for the lock of another writer. ``breaker``:
    skip the file for a while after it failed (a file locked for long, a full disk), as the
    Redis adapters skip a silent server.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float)):
            raise InvalidStorageConfig(f"busy_timeout must be seconds, got {busy_timeout!r}")
        if not 0 < busy_timeout < 3600:
            raise InvalidStorageConfig(
                f"busy_timeout must be more than 0 and under 3600 seconds, got {busy_timeout!r}"
            )
        self.path = Path(path)
        self.read_only = read_only
        self.busy_timeout = float(busy_timeout)
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self._local = threading.local()
        self._schema_ready = False
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._lock_files: list[int] = []
        self._pid = os.getpid()

    @property
    def server(self) -> str:
        """The file, for messages."""
        return f"SQLite file {self.path}"

    # -- connections ---------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        if pid != self._pid:
            # A forked child: its parent's connections are not its own.
            with self._lock:
                if pid != self._pid:
                    _ORPHANS.extend(self._connections)
                    self._connections = []
                    # flock is per open file: the parent's descriptors are its own.
                    self._lock_files = []
                    self._local = threading.local()
                    self._pid = pid
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            target, uri = f"file:{quote(str(self.path))}?mode=ro", True
        else:
            target, uri = str(self.path), False
        connection = sqlite3.connect(
            target,
            timeout=self.busy_timeout,
            isolation_level=None,  # transactions are begun and ended here, explicitly
            check_same_thread=False,  # only its thread uses it, but another may close it
            uri=uri,
        )
        try:
            self._prepare(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        """Set a new connection up: WAL mode, and the schema on first use.

        Switching a file to WAL takes its lock without SQLite's busy wait, so connections
        opened together on a new file (threads, or workers starting at once) can find it
        busy at once: they try again until the busy timeout, as any other wait would.
        """
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.001
        while True:
            try:
                self._set_up(connection)
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                time.sleep(delay)
                delay = min(2 * delay, 0.05)

    def _set_up(self, connection: sqlite3.Connection) -> None:
        # Any query reads the header: a file that is no database fails here.
        connection.execute("PRAGMA synchronous = NORMAL")
        # A checkpoint (WAL copied into the file, with an fsync) every 10,000 pages
        # rather than SQLite's 1,000: a mark writes 3 or 4 pages, so one came every
        # ~300 marks, and cost more than the marks did. The log is cut back to 64 MiB.
        connection.execute("PRAGMA wal_autocheckpoint = 10000")
        connection.execute("PRAGMA journal_size_limit = 67108864")
        if self.read_only:
            return
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot use WAL mode (got {mode!r})")
        if not self._schema_ready:
            connection.executescript(f"BEGIN IMMEDIATE; {SCHEMA} COMMIT;")
            self._schema_ready = True

    # -- calls -----------------------------------------------------------------------------

    def read(self, action: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in one read transaction (a consistent snapshot of the file)."""
        with self._guarded(action) as connection:
            connection.execute("BEGIN")
            try:
                return work(connection)
            finally:
                connection.execute("COMMIT")

    def write(self, action: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction: all of it or none."""
        with self._guarded(action) as connection, self._writers_queue():
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return result

    @contextmanager
    def _writers_queue(self) -> Iterator[None]:
        """Hold the file's writer lock (``<file>-lock``, flock) around a write transaction.

        SQLite's own wait for a busy file sleeps 1, 2, 5, 10, 15, 20, 25... ms between
        tries, far longer than a mark's transaction (about 0.1 ms): 4 processes marking
        together spent most of their time asleep. Writers first queue here, trying again
        every 0.05 to 0.5 ms, up to the busy timeout; SQLite's lock still guards the file
        (and other programs writing it). Without fcntl (Windows), SQLite's wait alone.
        """
        if fcntl is None or self.read_only:
            yield
            return
        handle: int | None = getattr(self._local, "lock_file", None)
        if handle is None:
            handle = os.open(f"{self.path}-lock", os.O_RDWR | os.O_CREAT, 0o644)
            self._local.lock_file = handle
            with self._lock:
                self._lock_files.append(handle)
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.00005
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(delay)
                delay = min(2 * delay, 0.0005)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def _guarded(self, action: str) -> Iterator[sqlite3.Connection]:
        self.breaker.before_call(self.server, action)
        try:
            connection = self._connection()
            yield connection
        except sqlite3.Error as exc:
            error = StorageUnavailable(f"{self.server} {self._explain(exc)} ({action})")
            self.breaker.failed(error)
            self._forget_broken()
            raise error from exc
        except BaseException:
            self.breaker.succeeded()
            raise
        self.breaker.succeeded()

    def _forget_broken(self) -> None:
        """Drop this thread's connection after an error: the next call opens a new one
        (and so sees a file that was replaced or repaired meanwhile)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            return
        self._local.connection = None
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
        try:
            if connection.in_transaction:
                connection.rollback()
            connection.close()
        except sqlite3.Error:
            pass

    def _explain(self, error: sqlite3.Error) -> str:
        text = str(error)
        lowered = text.lower()
        if _is_busy(error):
            return (
                f"is locked by another writer for more than {self.busy_timeout:g} s "
                f"(busy timeout): {text}"
            )
        if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
            return f"is not a valid SQLite database (corrupt, or another kind of file): {text}"
        if "readonly" in lowered or "read-only" in lowered:
            return f"is read-only: {text}"
        if "unable to open" in lowered:
            return f"cannot be opened (missing folder, no permission, or not a file): {text}"
        return f"failed: {text}"

    def close(self) -> None:
        """Close every connection of this process (the next call opens a new one)."""
        with self._lock:
            connections, self._connections = self._connections, []
            lock_files, self._lock_files = self._lock_files, []
            self._local = threading.local()
        if os.getpid() != self._pid:
            _ORPHANS.extend(connections)
            return
        for handle in lock_files:
            with suppress(OSError):
                os.close(handle)
        for connection in connections:
            with suppress(sqlite3.Error):
                connection.close()

    def __repr__(self) -> str:
        return f"SqliteFile({str(self.path)!r}{', read-only' if self.read_only else ''})"


def select_in(connection: sqlite3.Connection, sql: str, values: Sequence[object]) -> Iterator[Any]:
    """The rows of ``sql``, a SELECT ending in ``IN``, for every one of ``values``: one
    statement per :data:`IN_BATCH` of them."""
    for start in range(0, len(values), IN_BATCH):
        batch = values[start : start + IN_BATCH]
        yield from connection.execute(f"{sql} ({','.join('?' * len(batch))})", batch)


def _is_busy(error: sqlite3.Error) -> bool:
    """Whether SQLite refused because another connection holds the file's lock."""
    text = str(error).lower()
    return "locked" in text or "busy" in text
