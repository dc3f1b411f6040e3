"""The repository port: what the engine and the facade need from storage."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from typing import Final

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.events import BitmapId, Mark
from flask_bitmapist.domain.periods import Period

__all__ = ["MARK_CHUNK_SIZE", "BitmapRepository"]

#: Marks written per storage call by every bulk writer (import, demo data, a repository's
#: round trips): bounds the memory a write uses whatever its size, and large enough that
#: per-call costs vanish (a chunk takes milliseconds to pack, a round trip far less).
MARK_CHUNK_SIZE: Final = 10_000


class BitmapRepository(abc.ABC):
    """Stores one bitmap per (event, period). Implementations must be thread-safe.

    Storage failures raise :class:`~flask_bitmapist.domain.errors.StorageUnavailable`.
    """

    @abc.abstractmethod
    def mark(self, marks: Iterable[Mark]) -> None:
        """Set the bit of every mark's user in every bitmap the mark targets."""

    @abc.abstractmethod
    def unmark(self, marks: Iterable[Mark]) -> None:
        """Clear those bits again."""

    @abc.abstractmethod
    def fetch(self, ids: Sequence[BitmapId]) -> list[Bitmap]:
        """The bitmaps for ``ids``, in order, in one call; a missing bitmap is the empty set.

        Only stored periods (not years) and lifetime flags can be fetched.
        """

    @abc.abstractmethod
    def event_names(self) -> frozenset[str]:
        """Every event that has at least one stored bitmap."""

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[Period]]:
        """The months for which each of ``events`` has a stored bitmap, from the key listing.

        First-ever answers (:mod:`flask_bitmapist.domain.history`) read every earlier month
        an event has, and only those: this is how "everything earlier the storage holds"
        is bounded without a cutoff. A month listed may hold no user (all unmarked); a
        month not listed holds none. Not abstract, so that repositories written before it
        keep working for every other answer; they raise here, naming what is missing.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement stored_months(), which first-ever "
            "answers (lifecycle 'new', first-time cohorts) need to find an event's history"
        )
