"""An in-process repository: for unit tests, the demo, and the ``memory://`` URL."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timezone

import numpy as np

from flask_bitmapist.domain import (
    REDIS_MAX_USER_ID,
    Bitmap,
    BitmapId,
    EventListing,
    Mark,
    TimeGroup,
    validate_event_name,
    validate_user_id,
)
from flask_bitmapist.domain.keys import parse_suffix
from flask_bitmapist.domain.repository import EventSearch, check_max_bytes
from flask_bitmapist.domain.segments import PropertyAssignment, PropertyValue, UserSetId
from flask_bitmapist.infra.user_sets import UserSetStore

__all__ = ["InMemoryRepository"]


class InMemoryRepository(UserSetStore):
    """Keeps each bitmap as a bytearray in Redis's bit order, behind one lock.

    Behaves like :class:`~flask_bitmapist.infra.redis_repository.RedisRepository`:
    unmarking never creates a bitmap, an event is listed while one of its bitmaps has a
    user, and years cannot be fetched (they are the OR of their months). Marks carrying a
    retention policy give their bitmaps an expiry, as on Redis: a bitmap is gone once
    ``clock`` (default: the system clock) reaches it.
    """

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self._bitmaps: dict[BitmapId, bytearray] = {}
        # property -> value -> its users; a value without users is dropped.
        self._properties: dict[str, dict[str, bytearray]] = {}
        self._cohorts: dict[str, bytes] = {}
        self._expiries: dict[BitmapId, int] = {}
        self._clock = clock or _utc_now
        self._lock = threading.Lock()

    def expiry_ms(self, bitmap_id: BitmapId) -> int | None:
        """When ``bitmap_id`` expires (ms since the epoch), or None (kept, or missing)."""
        with self._lock:
            self._drop_expired()
            return self._expiries.get(_stored(bitmap_id))

    def _drop_expired(self) -> None:
        """Forget the bitmaps whose expiry has passed (called under the lock)."""
        if not self._expiries:
            return
        now = int(self._clock().timestamp() * 1000)
        for bitmap_id, at in list(self._expiries.items()):
            if at <= now:
                del self._expiries[bitmap_id]
                self._bitmaps.pop(bitmap_id, None)

    def mark(self, marks: Iterable[Mark]) -> None:
        self._write(marks, True)

    def unmark(self, marks: Iterable[Mark]) -> None:
        self._write(marks, False)

    def _write(self, marks: Iterable[Mark], value: bool) -> None:
        # Resolve every target before taking the lock: a bad mark fails before any write.
        work = [
            (_stored(target), at, mark.user_id) for mark in marks for target, at in _targets(mark)
        ]
        with self._lock:
            self._drop_expired()
            for target, expire_at, user_id in work:
                index, bit = user_id >> 3, 0x80 >> (user_id & 7)
                if value:
                    data = self._bitmaps.setdefault(target, bytearray())
                    if index >= len(data):
                        data.extend(bytes(index + 1 - len(data)))
                    data[index] |= bit
                    if expire_at is not None:
                        self._expiries[target] = expire_at
                else:
                    data = self._bitmaps.get(target, bytearray())
                    if index < len(data):
                        data[index] &= ~bit & 0xFF

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        _check_stored(ids)
        end = check_max_bytes(max_bytes)
        with self._lock:
            self._drop_expired()
            raw = [bytes(self._bitmaps.get(_stored(i), b"")[:end]) for i in ids]
        return [Bitmap.from_redis_bytes(data) for data in raw]

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        _check_stored(ids)
        with self._lock:
            self._drop_expired()
            return [len(self._bitmaps.get(_stored(i), b"")) for i in ids]

    def count(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[int]:
        """Counted in place, each bitmap's first ``max_bytes`` bytes only (as Redis's
        ``BITCOUNT key 0 end``)."""
        _check_stored(ids)
        end = check_max_bytes(max_bytes)
        with self._lock:
            self._drop_expired()
            return [
                int.from_bytes(self._bitmaps.get(_stored(i), b"")[:end], "big").bit_count()
                for i in ids
            ]

    def event_names(self) -> frozenset[str]:
        with self._lock:
            self._drop_expired()
            return frozenset(i.event for i, data in self._bitmaps.items() if any(data))

    def search_events(self, search: EventSearch) -> EventListing:
        """Every stored bitmap is a key: the pass stops after ``max_keys`` of them (in the
        order they were first written). ``max_seconds`` is not needed in process."""
        with self._lock:
            self._drop_expired()
            ids = list(self._bitmaps)
        return search.newest((i.event, None if i.period is None else i.period.label) for i in ids)

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        wanted = set(events)
        found: dict[str, set[date]] = {event: set() for event in wanted}
        with self._lock:
            self._drop_expired()
            for bitmap_id in self._bitmaps:
                period = bitmap_id.period
                if bitmap_id.event not in wanted or period is None:
                    continue
                if period.group is TimeGroup.MONTH:
                    # The key's label, as Redis's key names it: not its zone's span.
                    found[bitmap_id.event].add(period.label.date())
        return {event: frozenset(months) for event, months in found.items()}

    def stored_ids(self) -> list[BitmapId]:
        """Every bitmap held, sorted by event and key."""
        with self._lock:
            ids = list(self._bitmaps)
        return sorted(ids, key=lambda i: (i.event, i.key_suffix))

    def merge(self, bitmaps: Iterable[tuple[BitmapId, Bitmap]]) -> None:
        """OR each bitmap into the one held under its id."""
        work = list(bitmaps)
        _check_stored([bitmap_id for bitmap_id, _ in work])
        with self._lock:
            for bitmap_id, bitmap in work:
                data = self._bitmaps.setdefault(_stored(bitmap_id), bytearray())
                extra = np.frombuffer(bitmap.to_redis_bytes(), dtype=np.uint8)
                if extra.size > len(data):
                    data.extend(bytes(extra.size - len(data)))
                view = np.frombuffer(data, dtype=np.uint8)
                view[: extra.size] |= extra
                del view  # a bytearray cannot grow while a view of it is alive

    # -- segments -----------------------------------------------------------------------

    def _assign_properties(self, work: list[PropertyAssignment], max_values: int) -> list[int]:
        refused: list[int] = []
        # Values that lost a user: dropped when empty, checked once at the end (or when
        # the cap needs room), not after every move: a check reads the whole bitmap.
        dirty: set[tuple[str, str]] = set()
        with self._lock:
            for position, item in enumerate(work):
                values = self._properties.setdefault(item.name, {})
                left = None  # the value the user leaves, to restore it when refused
                for value, data in values.items():
                    if value != item.value and _clear_bit(data, item.user_id):
                        left = (value, data)
                        dirty.add((item.name, value))
                is_new = item.value is not None and item.value not in values
                if is_new and len(values) >= max_values:
                    self._drop_empty(dirty)
                    values = self._properties.setdefault(item.name, {})
                if is_new and len(values) >= max_values:
                    refused.append(position)
                    if left is not None:
                        _set_bit(left[1], item.user_id)
                        values[left[0]] = left[1]
                    continue
                if item.value is not None:
                    _set_bit(values.setdefault(item.value, bytearray()), item.user_id)
            self._drop_empty(dirty)
            for name in [name for name, values in self._properties.items() if not values]:
                del self._properties[name]
        return refused

    def _drop_empty(self, dirty: set[tuple[str, str]]) -> None:
        for name, value in dirty:
            values = self._properties.get(name, {})
            data = values.get(value)
            if data is not None and data.count(0) == len(data):
                del values[value]
        dirty.clear()

    def property_values(self) -> dict[str, frozenset[str]]:
        with self._lock:
            return {name: frozenset(values) for name, values in self._properties.items()}

    def _save_cohort(self, name: str, users: Bitmap) -> None:
        data = users.to_redis_bytes()
        with self._lock:
            self._cohorts[name] = data

    def delete_cohort(self, name: str) -> bool:
        with self._lock:
            return self._cohorts.pop(name, None) is not None

    def cohort_names(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._cohorts)

    def _fetch_user_sets(self, ids: list[UserSetId], end: int | None) -> list[Bitmap]:
        raw: list[bytes] = []
        with self._lock:
            for item in ids:
                if isinstance(item, PropertyValue):
                    data = self._properties.get(item.name, {}).get(item.value, b"")
                else:
                    data = self._cohorts.get(item.name, b"")
                raw.append(bytes(data[:end]))
        return [Bitmap.from_redis_bytes(data) for data in raw]

    def snapshot(self) -> list[tuple[BitmapId, int, int | None]]:
        """Every stored bitmap with its length in bytes and its expiry (ms, or None): what
        the storage report and the retention command read."""
        with self._lock:
            self._drop_expired()
            return [(i, len(data), self._expiries.get(i)) for i, data in self._bitmaps.items()]

    def set_expiries(self, expiries: Iterable[tuple[BitmapId, int]]) -> None:
        """Give bitmaps an expiry (ms since the epoch); one already past drops them."""
        with self._lock:
            for bitmap_id, at in expiries:
                if _stored(bitmap_id) in self._bitmaps:
                    self._expiries[_stored(bitmap_id)] = at
            self._drop_expired()

    def clear(self) -> None:
        """Forget everything (for tests and the demo)."""
        with self._lock:
            self._bitmaps.clear()
            self._expiries.clear()
            self._properties.clear()
            self._cohorts.clear()


def _set_bit(data: bytearray, user_id: int) -> None:
    index = user_id >> 3
    if index >= len(data):
        data.extend(bytes(index + 1 - len(data)))
    data[index] |= 0x80 >> (user_id & 7)


def _clear_bit(data: bytearray, user_id: int) -> bool:
    """Clear ``user_id``'s bit; whether it was set."""
    index, bit = user_id >> 3, 0x80 >> (user_id & 7)
    if index >= len(data) or not data[index] & bit:
        return False
    data[index] &= ~bit & 0xFF
    return True


@functools.lru_cache(maxsize=65536)
def _stored(bitmap_id: BitmapId) -> BitmapId:
    """The id a bitmap is held under: its key (event and suffix), as Redis and SQLite hold
    it. A period carries the zone it was taken in; the same week taken in Los Angeles and
    in Tokyo is one key, so one bitmap here too."""
    if bitmap_id.period is None:
        return bitmap_id
    stored = parse_suffix(bitmap_id.event, bitmap_id.key_suffix)
    return bitmap_id if stored is None else stored


def _check_stored(ids: Sequence[BitmapId]) -> None:
    for bitmap_id in ids:
        if bitmap_id.period is not None and not bitmap_id.period.group.is_stored:
            raise ValueError(f"{bitmap_id.period} is not stored: fetch its months")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _targets(mark: object) -> tuple[tuple[BitmapId, int | None], ...]:
    if not isinstance(mark, Mark):
        raise TypeError(f"expected a Mark, got {mark!r} ({type(mark).__name__})")
    # Marks made by Mark.create are valid; one built directly might not be.
    validate_event_name(mark.event)
    validate_user_id(mark.user_id, REDIS_MAX_USER_ID)  # the app's own cap is checked earlier
    return mark.expiries()
