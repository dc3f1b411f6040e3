"""The embedded store: bitmaps as roaring bitmaps in one SQLite file (``sqlite://``).

For apps that do not run Redis: it persists across restarts, and every process on the
machine (gunicorn workers, the CLI) shares the one file (see
:mod:`~flask_bitmapist.infra.sqlite_file`). Bitmaps are split into containers of 65,536
ids, each stored as a serialized roaring bitmap of its ids' low 16 bits (pyroaring, the
``[sqlite]`` extra): a daily bitmap of 10,000 users spread over ids 0-999,999 takes about
20 KB where Redis holds 125 KB, and a mark rewrites only the small blobs of its
containers. Bitmaps are named as in Redis (event and bitmapist's key suffix), so copying
to Redis and back keeps them (``flask bitmapist copy``).

Behaves like :class:`~flask_bitmapist.infra.redis_repository.RedisRepository`:
unmarking never creates a bitmap, an event is listed while one of its bitmaps has a user,
``sizes`` are the bytes Redis would hold (the largest id ever marked, / 8, + 1), and
years cannot be fetched. Properties and saved cohorts (DESIGN section 13) live in the
same file, in containers stored the same way, and behave as the in-process store's.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Hashable, Iterable, Iterator, Sequence
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast
from zoneinfo import ZoneInfo

import numpy as np

from flask_bitmapist.domain import (
    MARK_CHUNK_SIZE,
    REDIS_MAX_USER_ID,
    Bitmap,
    BitmapId,
    EventListing,
    Mark,
    validate_event_name,
    validate_user_id,
)
from flask_bitmapist.domain.keys import month_label, parse_suffix
from flask_bitmapist.domain.repository import EventSearch, check_chunk_size, check_max_bytes, chunks
from flask_bitmapist.domain.segments import (
    PropertyAssignment,
    PropertyValue,
    UserSetId,
    validate_cohort_name,
)
from flask_bitmapist.exceptions import MissingExtra
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.sqlite_file import (
    DEFAULT_BUSY_TIMEOUT,
    SqliteFile,
    select_in,
    sqlite_path,
)
from flask_bitmapist.infra.user_sets import UserSetStore

if TYPE_CHECKING:
    from pyroaring import BitMap

__all__ = ["CONTAINER_BITS", "SqliteRepository", "import_pyroaring"]

#: Ids per container: 2**16, as in every roaring bitmap.
CONTAINER_BITS: Final = 16
_CONTAINER_SIZE: Final = 1 << CONTAINER_BITS
_CONTAINER_BYTES: Final = _CONTAINER_SIZE // 8
_LOW_MASK: Final = _CONTAINER_SIZE - 1
# Bitmap rows are never deleted (only their containers), so their ids can be kept.
_ROW_CACHE_LIMIT: Final = 65_536
_KEY_CACHE_LIMIT: Final = 4096
# Up to this many ids per bitmap are grouped by container in plain Python.
_SMALL: Final = 64
_T = TypeVar("_T")


def import_pyroaring() -> type[BitMap]:
    """pyroaring's ``BitMap``, or :class:`MissingExtra` naming the ``[sqlite]`` extra."""
    # Imported on first use: Redis-only installs never need it.
    try:
        from pyroaring import BitMap
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("pyroaring"):
            raise MissingExtra(
                "the SQLite store (sqlite:// URLs) needs pyroaring, which is not installed: "
                "pip install 'flask-bitmapist[sqlite]'"
            ) from exc
        raise
    return BitMap


class SqliteRepository(UserSetStore):
    """The repository port on one SQLite file (thread- and process-safe).

    >>> repository = SqliteRepository("/tmp/analytics.db")  # doctest: +SKIP
    >>> repository.mark([Mark.create("user:paid", 42, now)])  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | SqliteFile,
        *,
        read_only: bool = False,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        chunk_size: int = MARK_CHUNK_SIZE,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        """Keep bitmaps in the file at ``path`` (created on first use); writes wait up to
        ``busy_timeout`` seconds for another writer; bulk marks go ``chunk_size`` marks
        per transaction."""
        self.chunk_size = check_chunk_size(chunk_size)
        self._bitmap_class = import_pyroaring()
        self.file = (
            path
            if isinstance(path, SqliteFile)
            else SqliteFile(path, read_only=read_only, busy_timeout=busy_timeout, breaker=breaker)
        )
        self._rows: dict[tuple[str, str], int] = {}
        # The largest size each row was seen with (sizes only grow): a mark within it
        # need not update the row.
        self._sizes: dict[int, int] = {}
        self._keys: dict[Hashable, tuple[tuple[str, str], ...]] = {}

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        base: str | os.PathLike[str] | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        breaker: CircuitBreaker | None = None,
    ) -> SqliteRepository:
        """The store of ``sqlite:///name.db`` (relative to ``base``, the app's instance
        folder) or ``sqlite:////absolute/name.db``; ``?mode=ro`` opens it read-only."""
        path, read_only = sqlite_path(url, base)
        return cls(path, read_only=read_only, busy_timeout=busy_timeout, breaker=breaker)

    @property
    def server(self) -> str:
        """The file, for messages."""
        return self.file.server

    @property
    def breaker(self) -> CircuitBreaker:
        """Skips the file for a short, growing interval after a failure."""
        return self.file.breaker

    # -- writing ---------------------------------------------------------------------------

    def mark(self, marks: Iterable[Mark]) -> None:
        """Set the marks' bits: one transaction per ``chunk_size`` marks, each chunk
        validated in full before it writes."""
        for chunk in chunks(marks, self.chunk_size):
            by_key = self._ids_by_key(chunk)
            if by_key:
                self._write_set("marking", by_key)

    def unmark(self, marks: Iterable[Mark]) -> None:
        """Clear the marks' bits; a bitmap never grows nor is created by unmarking."""
        for chunk in chunks(marks, self.chunk_size):
            by_key = self._ids_by_key(chunk)
            if by_key:
                self.file.write("unmarking", functools.partial(self._clear, by_key=by_key))

    def _ids_by_key(self, chunk: list[Mark]) -> dict[tuple[str, str], list[int]]:
        """Group a chunk's user ids by (event, key suffix), validating every item; the
        calendar math is done once per event and local hour (or day)."""
        by_key: dict[tuple[str, str], list[int]] = {}
        for mark in chunk:
            if not isinstance(mark, Mark):
                raise TypeError(f"expected a Mark, got {mark!r} ({type(mark).__name__})")
            user_id = mark.user_id
            if type(user_id) is not int or not 0 <= user_id <= REDIS_MAX_USER_ID:
                validate_user_id(user_id, REDIS_MAX_USER_ID)
            for key in self._keys_of(mark):
                ids = by_key.get(key)
                if ids is None:
                    by_key[key] = [user_id]
                else:
                    ids.append(user_id)
        return by_key

    def _keys_of(self, mark: Mark) -> tuple[tuple[str, str], ...]:
        moment = mark.moment
        zone = moment.tzinfo
        group: Hashable
        if zone is timezone.utc or isinstance(zone, ZoneInfo):
            # Same zone, local day (and hour), and offset: the same periods.
            hour = moment.hour if mark.hourly else 0
            group = (
                mark.event,
                mark.hourly,
                mark.unique,
                zone,
                moment.utcoffset(),
                moment.toordinal(),
                hour,
            )
        else:
            group = (mark.event, mark.hourly, mark.unique, moment)
        keys = self._keys.get(group)
        if keys is None:
            validate_event_name(mark.event)
            keys = tuple((t.event, t.key_suffix) for t in mark.targets())
            if len(self._keys) >= _KEY_CACHE_LIMIT:
                self._keys.clear()
            self._keys[group] = keys
        return keys

    def _row(
        self, connection: sqlite3.Connection, key: tuple[str, str], create: bool
    ) -> int | None:
        row = self._rows.get(key)
        if row is not None:
            return row
        found = connection.execute(
            "SELECT id FROM bitmapist_bitmaps WHERE event = ? AND suffix = ?", key
        ).fetchone()
        if found is None:
            if not create:
                return None
            found = connection.execute(
                "INSERT INTO bitmapist_bitmaps (event, suffix, size) VALUES (?, ?, 0) RETURNING id",
                key,
            ).fetchone()
        if len(self._rows) >= _ROW_CACHE_LIMIT:
            self._rows.clear()
        self._rows[key] = int(found[0])
        return int(found[0])

    def _set(
        self, connection: sqlite3.Connection, by_key: dict[tuple[str, str], list[int]]
    ) -> None:
        roaring = self._bitmap_class
        work: dict[int, Iterable[int]] = {}
        for key, ids in by_key.items():
            row = self._row(connection, key, create=True)
            assert row is not None
            size = max(ids) // 8 + 1
            if self._sizes.get(row, 0) < size:
                connection.execute(
                    "UPDATE bitmapist_bitmaps SET size = ? WHERE id = ? AND size < ?",
                    (size, row, size),
                )
                if len(self._sizes) >= _ROW_CACHE_LIMIT:
                    self._sizes.clear()
                self._sizes[row] = size
            for number, low in _by_container(ids):
                work[row << CONTAINER_BITS | number] = low
        # Every container of the chunk read in one statement and written in another: a
        # request's mark (3 bitmaps) costs 4 statements with BEGIN and COMMIT, not 8.
        rowids = list(work)
        stored: dict[int, bytes] = dict(
            select_in(connection, "SELECT id, users FROM bitmapist_containers WHERE id IN", rowids)
        )
        rows = []
        for rowid, low in work.items():
            blob = stored.get(rowid)
            users = roaring() if blob is None else roaring.deserialize(blob)
            before = len(users)
            users.update(low)
            if len(users) != before:  # a repeated mark (a second login today) writes nothing
                users.run_optimize()
                rows.append((rowid, users.serialize()))
        connection.executemany(
            "INSERT INTO bitmapist_containers (id, users) VALUES (?, ?) "
            "ON CONFLICT (id) DO UPDATE SET users = excluded.users",
            rows,
        )

    def _write_set(self, doing: str, by_key: dict[tuple[str, str], list[int]]) -> None:
        """Set ``by_key``'s bits in one transaction (``doing`` names it in errors)."""
        try:
            self.file.write(doing, functools.partial(self._set, by_key=by_key))
        except BaseException:
            # A rolled-back insert's row id may be handed out again: forget them.
            self._forget()
            raise

    def _forget(self) -> None:
        """Forget the rows and sizes seen: a rolled-back transaction's are not stored."""
        self._rows.clear()
        self._sizes.clear()

    def _clear(
        self, connection: sqlite3.Connection, by_key: dict[tuple[str, str], list[int]]
    ) -> None:
        roaring = self._bitmap_class
        for key, ids in by_key.items():
            row = self._row(connection, key, create=False)
            if row is None:
                continue
            for number, low in _by_container(ids):
                rowid = row << CONTAINER_BITS | number
                found = connection.execute(
                    "SELECT users FROM bitmapist_containers WHERE id = ?", (rowid,)
                ).fetchone()
                if found is None:
                    continue
                users = roaring.deserialize(found[0])
                users.difference_update(roaring(low))
                if users:
                    users.run_optimize()
                    connection.execute(
                        "UPDATE bitmapist_containers SET users = ? WHERE id = ?",
                        (users.serialize(), rowid),
                    )
                else:
                    connection.execute("DELETE FROM bitmapist_containers WHERE id = ?", (rowid,))

    # -- reading ---------------------------------------------------------------------------

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        """The bitmaps of ``ids``, from one consistent snapshot of the file. With
        ``max_bytes`` only the containers below ``8 * max_bytes`` ids are read."""
        _check_stored(ids)
        end = check_max_bytes(max_bytes)
        if not ids:
            return []
        if end == 0:
            return [Bitmap() for _ in ids]
        keys = [(bitmap_id.event, bitmap_id.key_suffix) for bitmap_id in ids]
        limit = None if end is None else 8 * end

        def read(connection: sqlite3.Connection) -> list[Bitmap]:
            cache: dict[tuple[str, str], Bitmap] = {}
            for key in keys:
                if key not in cache:
                    cache[key] = self._read_bitmap(connection, key, limit)
            return [cache[key] for key in keys]

        return self.file.read("reading", read)

    def _read_bitmap(
        self, connection: sqlite3.Connection, key: tuple[str, str], limit: int | None
    ) -> Bitmap:
        found = connection.execute(
            "SELECT id, size FROM bitmapist_bitmaps WHERE event = ? AND suffix = ?", key
        ).fetchone()
        if found is None or not found[1]:
            return Bitmap()
        row, size = int(found[0]), int(found[1])
        last = (size * 8 - 1) >> CONTAINER_BITS
        if limit is not None:
            last = min(last, (limit - 1) >> CONTAINER_BITS)
        first_id = row << CONTAINER_BITS
        containers = connection.execute(
            "SELECT id, users FROM bitmapist_containers WHERE id BETWEEN ? AND ? ORDER BY id",
            (first_id, first_id | last),
        ).fetchall()
        if not containers:
            return Bitmap()
        return _to_bitmap(self._bitmap_class, containers, limit)

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        """How many bytes Redis would hold for each bitmap (0 when missing), from the
        bitmaps' rows alone."""
        _check_stored(ids)
        if not ids:
            return []
        keys = [(bitmap_id.event, bitmap_id.key_suffix) for bitmap_id in ids]

        def read(connection: sqlite3.Connection) -> list[int]:
            sizes = []
            for key in keys:
                found = connection.execute(
                    "SELECT size FROM bitmapist_bitmaps WHERE event = ? AND suffix = ?", key
                ).fetchone()
                sizes.append(0 if found is None else int(found[0]))
            return sizes

        return self.file.read("reading sizes", read)

    def event_names(self) -> frozenset[str]:
        """Events with at least one user in a stored bitmap (a bitmap whose users were all
        unmarked has no container left)."""

        def read(connection: sqlite3.Connection) -> frozenset[str]:
            rows = connection.execute(
                "SELECT DISTINCT event FROM bitmapist_bitmaps AS b WHERE EXISTS ("
                "SELECT 1 FROM bitmapist_containers WHERE id BETWEEN b.id << 16 "
                "AND (b.id << 16) | 65535)"
            ).fetchall()
            return frozenset(str(row[0]) for row in rows)

        return self.file.read("listing events", read)

    def search_events(self, search: EventSearch) -> EventListing:
        """One pass over the bitmaps' rows (at most ``max_keys`` of them), noting each
        event's newest period. ``max_seconds`` is not needed: the rows are local."""
        max_keys = search.max_keys

        def read(connection: sqlite3.Connection) -> list[tuple[str, str]]:
            query = "SELECT event, suffix FROM bitmapist_bitmaps ORDER BY id"
            if max_keys is None:
                return [(str(e), str(s)) for e, s in connection.execute(query)]
            return [
                (str(e), str(s)) for e, s in connection.execute(f"{query} LIMIT ?", (max_keys + 1,))
            ]

        rows = self.file.read("listing events", read)
        return search.newest((event, _label(parse_suffix(event, suffix))) for event, suffix in rows)

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        """Each event's month bitmaps, from the bitmaps' rows, as their labels."""
        wanted = sorted(set(events))

        def read(connection: sqlite3.Connection) -> dict[str, frozenset[date]]:
            found: dict[str, frozenset[date]] = {}
            for event in wanted:
                rows = connection.execute(
                    "SELECT suffix FROM bitmapist_bitmaps WHERE event = ?", (event,)
                ).fetchall()
                months = (month_label(str(row[0])) for row in rows)
                found[event] = frozenset(m for m in months if m is not None)
            return found

        return self.file.read("listing months", read)

    def stored_ids(self) -> list[BitmapId]:
        """Every stored bitmap that holds a user, sorted by event and key."""
        rows = self.file.read(
            "listing bitmaps",
            lambda c: c.execute(
                "SELECT event, suffix FROM bitmapist_bitmaps AS b WHERE EXISTS ("
                "SELECT 1 FROM bitmapist_containers WHERE id BETWEEN b.id << 16 "
                "AND (b.id << 16) | 65535) ORDER BY event, suffix"
            ).fetchall(),
        )
        found = (parse_suffix(str(event), str(suffix)) for event, suffix in rows)
        return [bitmap_id for bitmap_id in found if bitmap_id is not None]

    def merge(self, bitmaps: Iterable[tuple[BitmapId, Bitmap]]) -> None:
        """Add each bitmap's users to the stored one: one transaction per bitmap, which
        rewrites only the containers it has users in."""
        for bitmap_id, bitmap in bitmaps:
            _check_stored([bitmap_id])
            users = list(bitmap)
            if not users:
                continue
            by_key = {(bitmap_id.event, bitmap_id.key_suffix): users}
            self._write_set("copying", by_key)

    # -- segments (DESIGN section 13) -----------------------------------------------------

    def _property_chunk(self) -> int:
        return self.chunk_size

    def _assign_properties(self, work: list[PropertyAssignment], max_values: int) -> list[int]:
        """One transaction per ``chunk_size`` assignments (each chunk checked in full
        before it writes, as :meth:`mark`), so no other writer sees a user in two values
        of a property."""
        return self.file.write(
            "setting properties",
            functools.partial(self._assign, work=work, max_values=max_values),
        )

    def _assign(
        self, connection: sqlite3.Connection, work: list[PropertyAssignment], max_values: int
    ) -> list[int]:
        """Apply a chunk inside its transaction; the positions refused by the cap.

        The containers the chunk touches are read once, moved in memory, and only those
        changed written back: a container left without users is deleted, and a value with
        no container left is no longer listed.
        """
        roaring = self._bitmap_class
        # (property, container number) -> value -> its users in that container.
        containers: dict[tuple[str, int], dict[str, BitMap]] = {}
        # Each property's values, as far as this chunk knows: exact unless the property
        # is in ``emptied`` (a container lost its last user), then read again when the
        # cap needs room.
        values_of: dict[str, set[str]] = {}
        emptied: set[str] = set()
        changed: set[tuple[str, int, str]] = set()
        refused: list[int] = []
        for position, item in enumerate(work):
            name, number = item.name, item.user_id >> CONTAINER_BITS
            low = item.user_id & _LOW_MASK
            here = containers.get((name, number))
            if here is None:
                here = containers[name, number] = {
                    str(value): roaring.deserialize(blob)
                    for value, blob in connection.execute(
                        "SELECT value, users FROM bitmapist_properties "
                        "WHERE name = ? AND container = ?",
                        (name, number),
                    )
                }
            values = values_of.get(name)
            if values is None:
                values = values_of[name] = {
                    str(row[0])
                    for row in connection.execute(
                        "SELECT DISTINCT value FROM bitmapist_properties WHERE name = ?", (name,)
                    )
                }
            left = None  # the value the user leaves, to put them back when refused
            for value, users in here.items():
                if value != item.value and low in users:
                    users.discard(low)
                    left = value
                    changed.add((name, number, value))
                    if not users:
                        emptied.add(name)
            new = item.value is not None and item.value not in values
            if new and len(values) >= max_values and name in emptied:
                values = values_of[name] = _values_with_users(connection, name, containers)
                emptied.discard(name)
            if new and len(values) >= max_values:
                refused.append(position)
                if left is not None:
                    here[left].add(low)
                    values.add(left)
                continue
            if item.value is not None:
                joined = here.get(item.value)
                if joined is None:
                    joined = here[item.value] = roaring()
                if low not in joined:
                    joined.add(low)
                    changed.add((name, number, item.value))
                values.add(item.value)
        kept, dropped = [], []
        for name, number, value in changed:
            users = containers[name, number][value]
            if users:
                kept.append((name, value, number, _serialized(users)))
            else:
                dropped.append((name, value, number))
        connection.executemany(
            "DELETE FROM bitmapist_properties WHERE name = ? AND value = ? AND container = ?",
            dropped,
        )
        connection.executemany(
            "INSERT INTO bitmapist_properties (name, value, container, users) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET users = excluded.users",
            kept,
        )
        return refused

    def property_values(self) -> dict[str, frozenset[str]]:
        """Every property and its values, from one read of the values' rows."""
        rows = self.file.read(
            "listing properties",
            lambda c: _segment_rows(c, "SELECT DISTINCT name, value FROM bitmapist_properties"),
        )
        found: dict[str, set[str]] = {}
        for name, value in rows:
            found.setdefault(str(name), set()).add(str(value))
        return {name: frozenset(values) for name, values in found.items()}

    def _save_cohort(self, name: str, users: Bitmap) -> None:
        """Replace the cohort's containers in one transaction (a cohort of nobody is one
        row holding no id, so that it is listed)."""
        if not isinstance(users, Bitmap):
            raise TypeError(f"expected a Bitmap, got {users!r} ({type(users).__name__})")
        rows = [(name, number, blob) for number, blob in _blobs_of(self._bitmap_class, users)]
        if not rows:
            rows = [(name, 0, _serialized(self._bitmap_class()))]

        def write(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM bitmapist_cohorts WHERE name = ?", (name,))
            connection.executemany(
                "INSERT INTO bitmapist_cohorts (name, container, users) VALUES (?, ?, ?)", rows
            )

        self.file.write("saving a cohort", write)

    def delete_cohort(self, name: str) -> bool:
        """Delete the cohort's rows in one transaction; whether there were any."""
        name = validate_cohort_name(name)
        deleted = self.file.write(
            "deleting a cohort",
            lambda c: c.execute("DELETE FROM bitmapist_cohorts WHERE name = ?", (name,)).rowcount,
        )
        return bool(deleted)

    def cohort_names(self) -> frozenset[str]:
        """The names of the cohorts' rows."""
        rows = self.file.read(
            "listing saved cohorts",
            lambda c: _segment_rows(c, "SELECT DISTINCT name FROM bitmapist_cohorts"),
        )
        return frozenset(str(row[0]) for row in rows)

    def _fetch_user_sets(self, ids: list[UserSetId], end: int | None) -> list[Bitmap]:
        """The user sets of ``ids``, from one consistent snapshot of the file. With
        ``max_bytes`` only the containers below ``8 * max_bytes`` ids are read."""
        queries: list[tuple[str, tuple[str, ...]]] = []
        for item in ids:
            if isinstance(item, PropertyValue):
                queries.append(
                    (
                        "SELECT container, users FROM bitmapist_properties WHERE name = ? "
                        "AND value = ? AND container <= ? ORDER BY container",
                        (item.name, item.value),
                    )
                )
            else:
                queries.append(
                    (
                        "SELECT container, users FROM bitmapist_cohorts WHERE name = ? "
                        "AND container <= ? ORDER BY container",
                        (item.name,),
                    )
                )
        if not ids:
            return []
        if end == 0:
            return [Bitmap() for _ in ids]
        limit = None if end is None else 8 * end
        last = _LOW_MASK if limit is None else (limit - 1) >> CONTAINER_BITS
        roaring = self._bitmap_class

        def read(connection: sqlite3.Connection) -> list[Bitmap]:
            cache: dict[tuple[str, tuple[str, ...]], Bitmap] = {}
            for query in queries:
                if query not in cache:
                    sql, parameters = query
                    rows = [
                        (int(number), bytes(blob))
                        for number, blob in _segment_rows(connection, sql, (*parameters, last))
                        if len(blob) > _EMPTY_BLOB_BYTES
                    ]
                    cache[query] = _to_bitmap(roaring, rows, limit) if rows else Bitmap()
            return [cache[query] for query in queries]

        return self.file.read("reading user sets", read)

    def close(self) -> None:
        """Close this process's connections to the file (the next call reopens it)."""
        self.file.close()

    def __repr__(self) -> str:
        return f"SqliteRepository({str(self.file.path)!r})"


def _values_with_users(
    connection: sqlite3.Connection,
    name: str,
    containers: dict[tuple[str, int], dict[str, BitMap]],
) -> set[str]:
    """The values of property ``name`` that hold a user: in the containers a chunk has in
    memory (``containers``), or in a stored container it has not read."""
    read = {number: here for (other, number), here in containers.items() if other == name}
    found = {value for here in read.values() for value, users in here.items() if users}
    for value, number in connection.execute(
        "SELECT value, container FROM bitmapist_properties WHERE name = ?", (name,)
    ):
        if int(number) not in read:
            found.add(str(value))
    return found


def _segment_rows(
    connection: sqlite3.Connection, sql: str, parameters: tuple[object, ...] = ()
) -> list[Any]:
    """The rows of a read of properties or saved cohorts; none from a file opened read-only
    that was written before they were stored (its tables are created by the first write)."""
    try:
        return connection.execute(sql, parameters).fetchall()
    except sqlite3.OperationalError as exc:
        if str(exc).startswith("no such table: bitmapist_"):
            return []
        raise


def _serialized(users: BitMap) -> bytes:
    users.run_optimize()
    return users.serialize()


def _blobs_of(roaring: type[BitMap], bitmap: Bitmap) -> Iterator[tuple[int, bytes]]:
    """(container number, roaring blob) of each container of ``bitmap`` holding a user."""
    data = np.frombuffer(bitmap.to_redis_bytes(), dtype=np.uint8)
    for start in range(0, data.size, _CONTAINER_BYTES):
        part = data[start : start + _CONTAINER_BYTES]
        if part.any():
            users = roaring()
            users.update(
                cast("Iterable[int]", np.flatnonzero(np.unpackbits(part)).astype(np.uint32))
            )
            yield start // _CONTAINER_BYTES, _serialized(users)


def _by_container(ids: list[int]) -> Iterator[tuple[int, Iterable[int]]]:
    """(container number, the low 16 bits of its ids) for the containers ``ids`` touch."""
    if len(ids) <= _SMALL:
        # A request's mark: plain ints cost less than numpy's per-call overhead.
        groups: dict[int, list[int]] = {}
        for user_id in ids:
            groups.setdefault(user_id >> CONTAINER_BITS, []).append(user_id & _LOW_MASK)
        yield from groups.items()
        return
    array = np.asarray(ids, dtype=np.uint64)
    numbers = array >> CONTAINER_BITS
    low = (array & _LOW_MASK).astype(np.uint32)
    order = np.argsort(numbers, kind="stable")
    numbers, low = numbers[order], low[order]
    starts = np.flatnonzero(np.diff(numbers)) + 1
    for part_numbers, part in zip(np.split(numbers, starts), np.split(low, starts), strict=True):
        yield int(part_numbers[0]), cast("Iterable[int]", part)


def _to_bitmap(
    roaring: type[BitMap], containers: list[tuple[int, bytes]], limit: int | None
) -> Bitmap:
    """The Redis-order bitmap of a bitmap's containers (rowid, blob), ascending."""
    last = int(containers[-1][0]) & _LOW_MASK
    data = np.zeros((last + 1) * _CONTAINER_BYTES, dtype=np.uint8)
    scratch = np.zeros(_CONTAINER_SIZE, dtype=bool)
    for rowid, blob in containers:
        number = int(rowid) & _LOW_MASK
        start = number * _CONTAINER_BYTES
        target = data[start : start + _CONTAINER_BYTES]
        if not _read_container(blob, target, scratch):
            scratch[:] = False
            scratch[np.frombuffer(roaring.deserialize(blob).to_array(), dtype=np.uint32)] = True
            target[:] = np.packbits(scratch)
        if limit is not None and limit < (number + 1) << CONTAINER_BITS:
            _clear_from(target, max(0, limit - (number << CONTAINER_BITS)))
    return Bitmap(data.view(np.uint64))


# Roaring's portable serialization (RoaringFormatSpec), read for the one container a blob
# holds: 3 to 5 times faster than deserializing it and listing its ids, which took most
# of a cohort's time over 1M users (55 us a container).
_COOKIE_NO_RUNS: Final = 12346
_COOKIE_RUNS: Final = 12347
_NO_OFFSET_THRESHOLD: Final = 4
#: A serialized roaring bitmap of no id (a cookie and a count of 0 containers): the row
#: that lists a saved cohort of nobody.
_EMPTY_BLOB_BYTES: Final = 8
_ARRAY_MAX: Final = 4096
#: Each byte with its bits in reverse order: roaring's bitsets are least significant bit
#: first, Redis's bitmaps most significant bit first.
_REVERSED_BITS: Final = np.array([int(f"{i:08b}"[::-1], 2) for i in range(256)], dtype=np.uint8)


def _read_container(blob: bytes, target: np.ndarray, scratch: np.ndarray) -> bool:
    """Write the users of a one-container blob (key 0) into ``target`` (8,192 bytes, Redis
    order), using ``scratch`` (65,536 bools); False, writing nothing, for any other blob
    (then pyroaring reads it)."""
    if len(blob) < 8:
        return False
    cookie = int.from_bytes(blob[:4], "little")
    if cookie & 0xFFFF == _COOKIE_RUNS:
        size = (cookie >> 16) + 1
        is_run = bool(blob[4] & 1)
        position = 4 + (size + 7) // 8
        offsets = size >= _NO_OFFSET_THRESHOLD
    elif cookie == _COOKIE_NO_RUNS:
        size = int.from_bytes(blob[4:8], "little")
        is_run, position, offsets = False, 8, True
    else:
        return False
    if size != 1 or int.from_bytes(blob[position : position + 2], "little") != 0:
        return False
    cardinality = int.from_bytes(blob[position + 2 : position + 4], "little") + 1
    position += 8 if offsets else 4
    if is_run:
        runs = int.from_bytes(blob[position : position + 2], "little")
        pairs = np.frombuffer(blob, dtype="<u2", count=2 * runs, offset=position + 2).tolist()
        scratch[:] = False
        for first, length in zip(pairs[0::2], pairs[1::2], strict=True):
            scratch[first : first + length + 1] = True
        target[:] = np.packbits(scratch)
    elif cardinality <= _ARRAY_MAX:
        scratch[:] = False
        scratch[np.frombuffer(blob, dtype="<u2", count=cardinality, offset=position)] = True
        target[:] = np.packbits(scratch)
    else:
        words = np.frombuffer(blob, dtype=np.uint8, count=_CONTAINER_BYTES, offset=position)
        np.take(_REVERSED_BITS, words, out=target)
    return True


def _clear_from(target: np.ndarray, first: int) -> None:
    """Clear the bits of ids ``first`` and above of a container's Redis-order bytes."""
    index, kept = divmod(first, 8)
    if kept:
        target[index] &= (0xFF00 >> kept) & 0xFF
        index += 1
    target[index:] = 0


def _label(bitmap_id: BitmapId | None) -> datetime | None:
    """The local start of the period a key names (None: a lifetime flag, or no period)."""
    return None if bitmap_id is None or bitmap_id.period is None else bitmap_id.period.label


def _check_stored(ids: Sequence[BitmapId]) -> None:
    for bitmap_id in ids:
        if bitmap_id.period is not None and not bitmap_id.period.group.is_stored:
            raise ValueError(f"{bitmap_id.period} is not stored: fetch its months")
