"""The repository port: what the engine and the facade need from storage."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from typing import Final

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.events import BitmapId, Mark
from flask_bitmapist.domain.periods import Period
from flask_bitmapist.domain.segments import (
    DEFAULT_MAX_PROPERTY_VALUES,
    PropertyAssignment,
    UserSetId,
)

__all__ = ["MARK_CHUNK_SIZE", "BitmapRepository", "check_max_bytes"]

#: Marks written per storage call by every bulk writer (import, demo data, a repository's
#: round trips): bounds the memory a write uses whatever its size, and large enough that
#: per-call costs vanish (a chunk takes milliseconds to pack, a round trip far less).
MARK_CHUNK_SIZE: Final = 10_000


def check_max_bytes(max_bytes: object) -> int | None:
    """``max_bytes`` if it is None or an int of 0 or more (what ``fetch`` takes), else a
    ValueError naming it; repositories call it before reading."""
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"max_bytes must be None or an int of 0 or more, got {max_bytes!r}")
    return max_bytes


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
    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        """The bitmaps for ``ids``, in order, in one call; a missing bitmap is the empty set.

        Only stored periods (not years) and lifetime flags can be fetched. With
        ``max_bytes`` each bitmap is read only as far as its first ``max_bytes`` bytes, i.e.
        holds only its users below ``8 * max_bytes``: what a read costs is then bounded by
        the question, whatever another writer stored (bitmapist allows ids up to 2**32 - 1,
        512 MiB per key). ``max_bytes=0`` reads nothing and gives empty sets.
        """

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        """How many bytes each bitmap of ``ids`` holds (0 when missing), in one call, without
        reading them: whether ``fetch(..., max_bytes=n)`` saw all of a bitmap.

        This default reads the bitmaps; storage that knows lengths answers without.
        """
        return [len(bitmap.to_redis_bytes()) for bitmap in self.fetch(ids)]

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

    # -- segments (DESIGN section 13) -------------------------------------------------
    # Not abstract, as stored_months: repositories written before them keep working for
    # every answer, and raise here, naming what is missing.

    def set_properties(
        self,
        assignments: Iterable[PropertyAssignment],
        *,
        max_values: int = DEFAULT_MAX_PROPERTY_VALUES,
    ) -> list[int]:
        """Apply each assignment atomically (concurrent writers never leave a user in two
        values of a property): the user leaves every value of the property but the new
        one, then joins it (``value=None``: leaves them all). A value left without users
        is dropped from the property's values.

        An assignment that would give a property more than ``max_values`` values is not
        applied (the user keeps their value); the others are. Returns the positions (from
        0) of those refused, for the caller to report
        (:func:`~flask_bitmapist.domain.segments.too_many_values`).
        """
        raise self._missing("set_properties()", "properties")

    def property_values(self) -> dict[str, frozenset[str]]:
        """Every property that has a value with users, and those values, in one call."""
        raise self._missing("property_values()", "properties")

    def save_cohort(self, name: str, users: Bitmap) -> None:
        """Keep ``users`` under the saved cohort ``name`` (a valid name), replacing an
        older one, atomically."""
        raise self._missing("save_cohort()", "saved cohorts")

    def delete_cohort(self, name: str) -> bool:
        """Forget the saved cohort ``name``; whether there was one."""
        raise self._missing("delete_cohort()", "saved cohorts")

    def cohort_names(self) -> frozenset[str]:
        """The names of every saved cohort, in one call."""
        raise self._missing("cohort_names()", "saved cohorts")

    def fetch_user_sets(
        self, ids: Sequence[UserSetId], *, max_bytes: int | None = None
    ) -> list[Bitmap]:
        """The users of property values and saved cohorts, in order, in one call (a
        missing one is the empty set); ``max_bytes`` bounds each as in :meth:`fetch`."""
        raise self._missing("fetch_user_sets()", "segments")

    def _missing(self, method: str, need: str) -> NotImplementedError:
        return NotImplementedError(
            f"{type(self).__name__} does not implement {method}, which {need} need"
        )
