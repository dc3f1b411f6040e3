"""An in-process repository: for unit tests, the demo, and the ``memory://`` URL."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from flask_bitmapist.domain import (
    REDIS_MAX_USER_ID,
    Bitmap,
    BitmapId,
    BitmapRepository,
    Mark,
    Period,
    TimeGroup,
    validate_event_name,
    validate_user_id,
)
from flask_bitmapist.domain.repository import check_max_bytes
from flask_bitmapist.domain.segments import (
    DEFAULT_MAX_PROPERTY_VALUES,
    PropertyAssignment,
    PropertyValue,
    SavedCohort,
    UserSetId,
    check_max_values,
    checked_assignments,
    validate_cohort_name,
)

__all__ = ["InMemoryRepository"]


class InMemoryRepository(BitmapRepository):
    """Keeps each bitmap as a bytearray in Redis's bit order, behind one lock.

    Behaves like :class:`~flask_bitmapist.infra.redis_repository.RedisRepository`:
    unmarking never creates a bitmap, an event is listed while one of its bitmaps has a
    user, and years cannot be fetched (they are the OR of their months).
    """

    def __init__(self) -> None:
        self._bitmaps: dict[BitmapId, bytearray] = {}
        # property -> value -> its users; a value without users is dropped.
        self._properties: dict[str, dict[str, bytearray]] = {}
        self._cohorts: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def mark(self, marks: Iterable[Mark]) -> None:
        self._write(marks, True)

    def unmark(self, marks: Iterable[Mark]) -> None:
        self._write(marks, False)

    def _write(self, marks: Iterable[Mark], value: bool) -> None:
        # Resolve every target before taking the lock: a bad mark fails before any write.
        work = [(target, mark.user_id) for mark in marks for target in _targets(mark)]
        with self._lock:
            for target, user_id in work:
                index, bit = user_id >> 3, 0x80 >> (user_id & 7)
                if value:
                    data = self._bitmaps.setdefault(target, bytearray())
                    if index >= len(data):
                        data.extend(bytes(index + 1 - len(data)))
                    data[index] |= bit
                else:
                    data = self._bitmaps.get(target, bytearray())
                    if index < len(data):
                        data[index] &= ~bit & 0xFF

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        _check_stored(ids)
        end = check_max_bytes(max_bytes)
        with self._lock:
            raw = [bytes(self._bitmaps.get(i, b"")[:end]) for i in ids]
        return [Bitmap.from_redis_bytes(data) for data in raw]

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        _check_stored(ids)
        with self._lock:
            return [len(self._bitmaps.get(i, b"")) for i in ids]

    def event_names(self) -> frozenset[str]:
        with self._lock:
            return frozenset(i.event for i, data in self._bitmaps.items() if any(data))

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[Period]]:
        wanted = set(events)
        found: dict[str, set[Period]] = {event: set() for event in wanted}
        with self._lock:
            for bitmap_id in self._bitmaps:
                period = bitmap_id.period
                if bitmap_id.event not in wanted or period is None:
                    continue
                if period.group is TimeGroup.MONTH:
                    found[bitmap_id.event].add(period)
        return {event: frozenset(months) for event, months in found.items()}

    # -- segments -----------------------------------------------------------------------

    def set_properties(
        self,
        assignments: Iterable[PropertyAssignment],
        *,
        max_values: int = DEFAULT_MAX_PROPERTY_VALUES,
    ) -> list[int]:
        check_max_values(max_values)
        work = checked_assignments(assignments)
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

    def save_cohort(self, name: str, users: Bitmap) -> None:
        validate_cohort_name(name)
        data = users.to_redis_bytes()
        with self._lock:
            self._cohorts[name] = data

    def delete_cohort(self, name: str) -> bool:
        with self._lock:
            return self._cohorts.pop(name, None) is not None

    def cohort_names(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._cohorts)

    def fetch_user_sets(
        self, ids: Sequence[UserSetId], *, max_bytes: int | None = None
    ) -> list[Bitmap]:
        end = check_max_bytes(max_bytes)
        raw: list[bytes] = []
        with self._lock:
            for item in ids:
                if isinstance(item, PropertyValue):
                    data = self._properties.get(item.name, {}).get(item.value, b"")
                elif isinstance(item, SavedCohort):
                    data = self._cohorts.get(item.name, b"")
                else:
                    raise TypeError(f"expected a PropertyValue or a SavedCohort, got {item!r}")
                raw.append(bytes(data[:end]))
        return [Bitmap.from_redis_bytes(data) for data in raw]

    def clear(self) -> None:
        """Forget everything (for tests and the demo)."""
        with self._lock:
            self._bitmaps.clear()
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


def _check_stored(ids: Sequence[BitmapId]) -> None:
    for bitmap_id in ids:
        if bitmap_id.period is not None and not bitmap_id.period.group.is_stored:
            raise ValueError(f"{bitmap_id.period} is not stored: fetch its months")


def _targets(mark: object) -> tuple[BitmapId, ...]:
    if not isinstance(mark, Mark):
        raise TypeError(f"expected a Mark, got {mark!r} ({type(mark).__name__})")
    # Marks made by Mark.create are valid; one built directly might not be.
    validate_event_name(mark.event)
    validate_user_id(mark.user_id, REDIS_MAX_USER_ID)  # the app's own cap is checked earlier
    return mark.targets()
