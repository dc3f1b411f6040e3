"""The repository port: what the engine and the facade need from storage."""

from __future__ import annotations

import abc
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Final, TypeVar

import attrs

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.errors import InvalidStorageConfig
from flask_bitmapist.domain.events import BitmapId, Mark
from flask_bitmapist.domain.segments import (
    DEFAULT_MAX_PROPERTY_VALUES,
    PropertyAssignment,
    UserSetId,
)

__all__ = [
    "MARK_CHUNK_SIZE",
    "BitmapRepository",
    "EventListing",
    "EventSearch",
    "check_chunk_size",
    "check_max_bytes",
    "chunks",
    "contains_ignoring_ascii_case",
]

#: Marks written per storage call by every bulk writer (import, demo data, a repository's
#: round trips): bounds the memory a write uses whatever its size, and large enough that
#: per-call costs vanish (a chunk takes milliseconds to pack, a round trip far less).
MARK_CHUNK_SIZE: Final = 10_000

#: User sets one default :meth:`BitmapRepository.count_user_sets` call holds at once:
#: 64 of a million users are 8 MB.
_COUNT_BATCH: Final = 64

_T = TypeVar("_T")


def check_max_bytes(max_bytes: object) -> int | None:
    """``max_bytes`` if it is None or an int of 0 or more (what ``fetch`` takes), else a
    ValueError naming it; repositories call it before reading."""
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"max_bytes must be None or an int of 0 or more, got {max_bytes!r}")
    return max_bytes


def check_chunk_size(chunk_size: object) -> int:
    """``chunk_size`` if it is a positive int (how many marks a store writes per call),
    else :class:`~flask_bitmapist.domain.InvalidStorageConfig` naming it."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidStorageConfig(f"chunk_size must be a positive int, got {chunk_size!r}")
    return chunk_size


def chunks(items: Iterable[_T], size: int | None) -> Iterator[list[_T]]:
    """``items`` in lists of ``size`` (the last one shorter; None: one list of them all,
    none when there are none).

    >>> list(chunks(range(5), 2)), list(chunks(range(3), None)), list(chunks([], 2))
    ([[0, 1], [2, 3], [4]], [[0, 1, 2]], [])
    """
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def contains_ignoring_ascii_case(name: str, query: str) -> bool:
    """Whether ``name`` contains ``query``, ASCII letters compared without case (what a
    Redis glob can filter with ``[aA]``; other characters compare exactly).

    >>> contains_ignoring_ascii_case("user:Paid", "PAI"), contains_ignoring_ascii_case("É", "é")
    (True, False)
    """
    return query.translate(_ASCII_LOWER) in name.translate(_ASCII_LOWER)


_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@attrs.frozen
class EventListing:
    """The event names one bounded pass over the stored keys found, most recently active
    first, then by name.

    ``newest[i]`` is the local start (naive, as its key names it) of the newest period
    ``names[i]`` has a bitmap for, or None when it has only lifetime flags (or periods no
    calendar holds; those come last). The pass stops after ``max_keys`` keys (or its time
    budget): ``complete`` is then False, and ``keys_read`` says how far it got. A name is
    listed while it has a stored bitmap, even one that unmarking emptied (checking every
    name's bitmaps would cost a read per name).
    """

    names: Sequence[str]
    newest: Sequence[datetime | None]
    complete: bool = True
    keys_read: int = 0

    @classmethod
    def ordered(
        cls, newest: Mapping[str, datetime | None], *, complete: bool = True, keys_read: int = 0
    ) -> EventListing:
        """The listing of ``newest`` (each name's newest period start), put in order.

        >>> listing = EventListing.ordered({"b": datetime(2026, 1, 2), "a": None, "c": None})
        >>> listing.names
        ('b', 'a', 'c')
        """
        names = sorted(newest)
        # Stable: names of the same date stay in name order.
        names.sort(key=lambda name: newest[name] or _UNDATED, reverse=True)
        return cls(
            tuple(names),
            tuple(newest[name] for name in names),
            complete=complete,
            keys_read=keys_read,
        )


# Sorts a name with no dated period after every dated one.
_UNDATED: Final = datetime.min


@attrs.frozen
class EventSearch:
    """What an event listing asks for (see :meth:`BitmapRepository.list_events`): the
    events whose names contain ``containing`` (ASCII letters in any case), in one pass
    over the stored keys that stops after ``max_keys`` keys or ``max_seconds``."""

    containing: str = ""
    max_keys: int | None = None
    max_seconds: float | None = None

    def matches(self, name: str) -> bool:
        """Whether the event ``name`` is one the search asks for."""
        return contains_ignoring_ascii_case(name, self.containing)

    def newest(self, keys: Iterable[tuple[str, datetime | None]]) -> EventListing:
        """The listing of a pass over stored keys, each given as its event and its
        period's local start (None: a lifetime flag, or a period no calendar holds), in
        the order the store keeps them: each event asked for with its newest period. The
        pass stops after ``max_keys`` keys (``complete`` is False when keys remain).

        >>> search = EventSearch(containing="PAID", max_keys=2)
        >>> day = datetime(2026, 11, 27)
        >>> listing = search.newest([("user:paid", None), ("user:paid", day), ("paid", day)])
        >>> listing.names, listing.newest, listing.complete
        (('user:paid',), (datetime.datetime(2026, 11, 27, 0, 0),), False)
        """
        newest: dict[str, datetime | None] = {}
        read = 0
        for event, label in keys:
            if self.max_keys is not None and read >= self.max_keys:
                return EventListing.ordered(newest, complete=False, keys_read=read)
            read += 1
            if not self.matches(event):
                continue
            known = newest.get(event)
            if event not in newest or (label is not None and (known is None or label > known)):
                newest[event] = label
        return EventListing.ordered(newest, complete=True, keys_read=read)


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

    def count(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[int]:
        """How many users each stored bitmap of ``ids`` holds (0 when missing), in one
        call, counted in its first ``max_bytes`` bytes only (as :meth:`fetch` reads them).

        This default reads the bitmaps; storage that counts where it stores (Redis's
        ``BITCOUNT key 0 end``) sends numbers instead of bitmaps.
        """
        return [len(bitmap) for bitmap in self.fetch(ids, max_bytes=max_bytes)]

    @abc.abstractmethod
    def event_names(self) -> frozenset[str]:
        """Every event that has at least one stored bitmap."""

    def list_events(
        self,
        *,
        containing: str = "",
        max_keys: int | None = None,
        max_seconds: float | None = None,
    ) -> EventListing:
        """The events whose names contain ``containing`` (ASCII letters in any case: see
        :func:`contains_ignoring_ascii_case`), each with its newest stored period, in one
        pass over the keys that stops after ``max_keys`` keys or ``max_seconds`` (then
        ``complete`` is False): what the events page and its search page through, whatever
        another writer stored.

        Storage answers through :meth:`search_events`.
        """
        return self.search_events(EventSearch(containing, max_keys, max_seconds))

    def search_events(self, search: EventSearch) -> EventListing:
        """:meth:`list_events` as one :class:`EventSearch`. This default lists
        :meth:`event_names` (complete, with no periods known); storage that can list its
        keys in one bounded pass says more."""
        return EventListing.ordered(
            {name: None for name in self.event_names() if search.matches(name)}
        )

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        """The months for which each of ``events`` has a stored bitmap, from one key listing
        for all of them: each month as its label, the date of its first day.

        A month key names a month of the calendar it was written in (``2026-11``), not a
        span of time: which moments it covers depends on the app's zone, which storage does
        not know. So months come back as labels, and the caller reads them in its calendar
        (:meth:`~flask_bitmapist.domain.history.FirstEver.plan` does, in its periods' zone).

        First-ever answers (:mod:`flask_bitmapist.domain.history`) read every earlier month
        an event has, and only those: this is how "everything earlier the storage holds"
        is bounded without a cutoff. A month listed may hold no user (all unmarked); a
        month not listed holds none. One call serves every event of an answer, so storage
        that must walk its keys walks them once, not once per event. Not abstract, so that
        repositories written before it keep working for every other answer; they raise
        here, naming what is missing.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement stored_months(), which first-ever "
            "answers (lifecycle 'new', first-time cohorts) need to find an event's history"
        )

    def stored_ids(self) -> list[BitmapId]:
        """Every stored bitmap (months, weeks, days, hours, lifetime flags), for copying a
        store to another (``flask bitmapist copy``). Not abstract, as ``stored_months``:
        repositories written before it raise here, naming what is missing."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement stored_ids(), which copying a store "
            "needs to list its bitmaps"
        )

    def merge(self, bitmaps: Iterable[tuple[BitmapId, Bitmap]]) -> None:
        """Add each bitmap's users to the stored bitmap of its id (set their bits), for
        copying a store into another. Not abstract, as ``stored_months``."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement merge(), which copying a store into "
            "it needs to write whole bitmaps"
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

    def count_user_sets(
        self, ids: Sequence[UserSetId], *, max_bytes: int | None = None
    ) -> list[int]:
        """How many users each property value or saved cohort of ``ids`` holds (0 when
        missing), counted as :meth:`fetch_user_sets` reads them: what a breakdown ranks its
        values by before it reads only those it keeps.

        This default reads them :data:`_COUNT_BATCH` at a time (so memory is bounded
        however many values a property has); storage that counts where it stores (Redis's
        ``BITCOUNT key 0 end``) sends numbers instead of bitmaps.
        """
        return [
            len(users)
            for batch in chunks(ids, _COUNT_BATCH)
            for users in self.fetch_user_sets(batch, max_bytes=max_bytes)
        ]

    def _missing(self, method: str, need: str) -> NotImplementedError:
        return NotImplementedError(
            f"{type(self).__name__} does not implement {method}, which {need} need"
        )
