"""An in-process repository: for unit tests, the demo, and the ``memory://`` URL."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from flask_bitmapist.domain import Bitmap, BitmapId, BitmapRepository, Mark

__all__ = ["InMemoryRepository"]


class InMemoryRepository(BitmapRepository):
    """Keeps each bitmap as a bytearray in Redis's bit order, behind one lock."""

    def __init__(self) -> None:
        self._bitmaps: dict[BitmapId, bytearray] = {}
        self._lock = threading.Lock()

    def mark(self, marks: Iterable[Mark]) -> None:
        self._write(marks, True)

    def unmark(self, marks: Iterable[Mark]) -> None:
        self._write(marks, False)

    def _write(self, marks: Iterable[Mark], value: bool) -> None:
        # Resolve every target before taking the lock: a bad mark fails before any write.
        work = [(target, mark.user_id) for mark in marks for target in mark.targets()]
        with self._lock:
            for target, user_id in work:
                data = self._bitmaps.setdefault(target, bytearray())
                index, bit = user_id >> 3, 0x80 >> (user_id & 7)
                if value:
                    if index >= len(data):
                        data.extend(bytes(index + 1 - len(data)))
                    data[index] |= bit
                elif index < len(data):
                    data[index] &= ~bit & 0xFF

    def fetch(self, ids: Sequence[BitmapId]) -> list[Bitmap]:
        with self._lock:
            raw = [bytes(self._bitmaps.get(i, b"")) for i in ids]
        return [Bitmap.from_redis_bytes(data) for data in raw]

    def event_names(self) -> frozenset[str]:
        with self._lock:
            return frozenset(i.event for i, data in self._bitmaps.items() if any(data))

    def clear(self) -> None:
        """Forget everything (for tests and the demo)."""
        with self._lock:
            self._bitmaps.clear()
