"""What every store does alike with properties and saved cohorts (DESIGN section 13): the
port's segment methods check their input here, once for the in-process, Redis and SQLite
stores, and each store only writes and reads."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence

from flask_bitmapist.domain import Bitmap, BitmapRepository
from flask_bitmapist.domain.repository import check_max_bytes, chunks
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

__all__ = ["UserSetStore"]


class UserSetStore(BitmapRepository):
    """A repository that keeps properties and saved cohorts: :meth:`set_properties`,
    :meth:`save_cohort` and :meth:`fetch_user_sets` check what they are given, then hand
    it to the store's ``_assign_properties``, ``_save_cohort`` and ``_fetch_user_sets``."""

    def set_properties(
        self,
        assignments: Iterable[PropertyAssignment],
        *,
        max_values: int = DEFAULT_MAX_PROPERTY_VALUES,
    ) -> list[int]:
        """Apply the assignments in order, in chunks of :meth:`_property_chunk` (each
        checked in full before it is written); the positions (from 0) of those the cap
        refused, in order."""
        check_max_values(max_values)
        refused: list[int] = []
        start = 0
        for chunk in chunks(assignments, self._property_chunk()):
            work = checked_assignments(chunk)
            refused += [start + position for position in self._assign_properties(work, max_values)]
            start += len(work)
        return sorted(refused)

    def _property_chunk(self) -> int | None:
        """How many assignments one write applies (None: all of them at once)."""
        return None

    @abc.abstractmethod
    def _assign_properties(self, work: list[PropertyAssignment], max_values: int) -> list[int]:
        """Apply checked assignments, each atomically; the positions (in ``work``) of
        those refused because their property has ``max_values`` values already."""

    def save_cohort(self, name: str, users: Bitmap) -> None:
        self._save_cohort(validate_cohort_name(name), users)

    @abc.abstractmethod
    def _save_cohort(self, name: str, users: Bitmap) -> None:
        """Keep ``users`` under the (valid) name, replacing an older cohort, atomically."""

    def fetch_user_sets(
        self, ids: Sequence[UserSetId], *, max_bytes: int | None = None
    ) -> list[Bitmap]:
        wanted = [_checked_user_set(item) for item in ids]
        return self._fetch_user_sets(wanted, check_max_bytes(max_bytes))

    @abc.abstractmethod
    def _fetch_user_sets(self, ids: list[UserSetId], end: int | None) -> list[Bitmap]:
        """The user sets of ``ids``, in order, each read as far as its first ``end`` bytes
        (None: whole), in one call; a missing one is the empty set."""

    def count_user_sets(
        self, ids: Sequence[UserSetId], *, max_bytes: int | None = None
    ) -> list[int]:
        wanted = [_checked_user_set(item) for item in ids]
        return self._count_user_sets(wanted, check_max_bytes(max_bytes))

    def _count_user_sets(self, ids: list[UserSetId], end: int | None) -> list[int]:
        """How many users each of ``ids`` holds, counted in its first ``end`` bytes. This
        default is the port's (it reads them a batch at a time); a store that counts
        where it stores overrides it."""
        return BitmapRepository.count_user_sets(self, ids, max_bytes=end)


def _checked_user_set(item: object) -> UserSetId:
    if not isinstance(item, PropertyValue | SavedCohort):
        raise TypeError(f"expected a PropertyValue or a SavedCohort, got {item!r}")
    return item
