"""The bitmap reader: one batched read from the repository for every bitmap an answer
needs, each read no further than the app's largest user id."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.events import BitmapId
from flask_bitmapist.domain.expressions import Expression
from flask_bitmapist.domain.periods import Period
from flask_bitmapist.domain.repository import BitmapRepository

__all__ = ["BitmapReader", "EventPeriod", "ReadingEngine"]

EventPeriod = tuple[str, Period]
#: The most bytes of bitmaps one read for unions (a year's months) holds when the
#: bitmaps' lengths are known: 64 MiB, eight keys of the default cap's 8 MiB.
_UNION_BATCH_BYTES = 64 * 2**20


class BitmapReader:
    """Reads "who did E in period p" from a :class:`BitmapRepository`: every bitmap an
    answer needs in one call, years as the OR of their months, written nothing.

    With ``max_user_id`` (an app's ``BITMAPIST_MAX_USER_ID``) no read goes past that
    user's byte: bits another writer set beyond it (bitmapist allows ids up to 2**32 - 1,
    512 MiB per key) are not read, so one such id cannot make a read cost rows x 512 MiB.
    :meth:`beyond_limit` says which bitmaps hold more than was read. Every engine reads
    through one, called ``reader``.

    With ``universe`` (a segment's users) every bitmap read is intersected with it, so every
    user set an answer is made of (first-ever history and drill-downs included) holds
    only those users: an answer's sets are expressions without a lone negation, so
    restricting what they are made of restricts them. With ``excluded`` the users in it are
    taken out of every bitmap read the same way (a breakdown's group of everyone else).
    """

    def __init__(
        self,
        repository: BitmapRepository,
        *,
        max_user_id: int | None = None,
        universe: Bitmap | None = None,
        excluded: Bitmap | None = None,
    ) -> None:
        self.repository = repository
        self.max_user_id = max_user_id
        #: The users every bitmap read is restricted to (None: everyone).
        self.universe = universe
        #: The users taken out of every bitmap read (None: nobody).
        self.excluded = excluded
        #: The most bytes read of any one bitmap (None: all of it).
        self.read_limit = None if max_user_id is None else max_user_id // 8 + 1

    # -- reading --------------------------------------------------------------------

    def fetch(
        self, wanted: Iterable[EventPeriod], *, max_bytes: int | None = None
    ) -> dict[EventPeriod, Bitmap]:
        """The bitmap of each (event, period), years included, in one repository call;
        each stored bitmap read up to ``max_bytes`` bytes at most (and the engine's
        ``read_limit``)."""
        return self._fetch(wanted, max_bytes=max_bytes)[0]

    def fetch_stored(self, ids: Iterable[BitmapId]) -> dict[BitmapId, Bitmap]:
        """The stored bitmaps ``ids`` (keys as they are, a plan's history), in one
        repository call, each read up to the engine's ``read_limit``."""
        return self._fetch((), ids)[1]

    def _fetch(
        self,
        wanted: Iterable[EventPeriod],
        extra: Iterable[BitmapId] = (),
        *,
        max_bytes: int | None = None,
    ) -> tuple[dict[EventPeriod, Bitmap], dict[BitmapId, Bitmap]]:
        """:meth:`fetch`, reading the stored bitmaps ``extra`` in the same call; returns
        both (``extra``'s by id)."""
        wanted = set(wanted)
        parts = {item: item[1].stored_parts() for item in wanted}
        # Sorted for a deterministic request; by key suffix because periods of different
        # groups (a day and a month, as the events page asks) have no natural order.
        ids = sorted(
            {BitmapId(event, part) for (event, _), ps in parts.items() for part in ps} | set(extra),
            key=lambda i: (i.event, i.key_suffix),
        )
        stored = dict(zip(ids, self._read(ids, max_bytes), strict=True))
        bitmaps = {
            (event, period): Bitmap.union([stored[BitmapId(event, part)] for part in ps])
            for (event, period), ps in parts.items()
        }
        return bitmaps, stored

    def users(self, expression: Expression, period: Period) -> Bitmap:
        """The users matching ``expression`` in ``period``."""
        return self.users_by_period(expression, [period])[period]

    def users_by_period(
        self, expression: Expression, periods: Sequence[Period], *, max_bytes: int | None = None
    ) -> dict[Period, Bitmap]:
        """The users matching ``expression`` in each of ``periods``, in one read (of each
        bitmap's first ``max_bytes`` bytes at most: its users below ``8 * max_bytes``)."""
        events = expression.events()
        bitmaps = self.fetch(
            ((event, period) for period in periods for event in events), max_bytes=max_bytes
        )
        return {p: expression.evaluate(_in_period(bitmaps, p)) for p in periods}

    def counts(self, events: Iterable[str], periods: Sequence[Period]) -> dict[EventPeriod, int]:
        """How many users did each event in each period, each read up to the engine's
        ``read_limit`` (:meth:`beyond_limit` says which counts are then lower bounds).

        Stored periods are counted by the repository in one call (on Redis, ``BITCOUNT key
        0 end``: numbers come back, not bitmaps). A year is the union of its months: they
        are read in one call too, unless their lengths (asked first) add up to more than
        :data:`_UNION_BATCH_BYTES`; then a few events' months at a time.
        """
        events = list(events)
        stored = list(dict.fromkeys(p for p in periods if p.group.is_stored))
        pairs = [(event, period) for event in events for period in stored]
        found = dict(zip(pairs, self._count([BitmapId(*pair) for pair in pairs]), strict=True))
        unions = list(dict.fromkeys(p for p in periods if not p.group.is_stored))
        for batch in self._union_batches(events, unions):
            bitmaps = self.fetch((event, period) for event in batch for period in unions)
            found.update((key, len(bitmap)) for key, bitmap in bitmaps.items())
        return found

    def _union_batches(self, events: list[str], unions: list[Period]) -> list[list[str]]:
        """``events`` in groups whose bitmaps in ``unions`` (as far as they are read) hold
        at most :data:`_UNION_BATCH_BYTES` together: one group unless another writer's
        long keys would make one read hold gigabytes."""
        if not unions or not events:
            return []
        parts = [part for period in unions for part in period.stored_parts()]
        ids = [BitmapId(event, part) for event in events for part in parts]
        sizes = self.repository.sizes(ids)
        limit = self.read_limit
        batches: list[list[str]] = [[]]
        held = 0
        for index, event in enumerate(events):
            own = sizes[index * len(parts) : (index + 1) * len(parts)]
            cost = sum(size if limit is None else min(size, limit) for size in own)
            if batches[-1] and held + cost > _UNION_BATCH_BYTES:
                batches.append([])
                held = 0
            batches[-1].append(event)
            held += cost
        return batches

    def beyond_limit(
        self, events: Iterable[str], periods: Sequence[Period]
    ) -> frozenset[EventPeriod]:
        """The (event, period) pairs with a stored bitmap longer than ``read_limit``: their
        counts are lower bounds ("at least"). One call asking lengths, reading no bitmap;
        none at all without a limit."""
        if self.read_limit is None:
            return frozenset()
        parts = {(event, period): period.stored_parts() for event in events for period in periods}
        ids = sorted(
            {BitmapId(event, part) for (event, _), ps in parts.items() for part in ps},
            key=lambda i: (i.event, i.key_suffix),
        )
        if not ids:
            return frozenset()
        sizes = self.repository.sizes(ids)
        long = {i for i, size in zip(ids, sizes, strict=True) if size > self.read_limit}
        return frozenset(
            (event, period)
            for (event, period), ps in parts.items()
            if any(BitmapId(event, part) in long for part in ps)
        )

    def _count(self, ids: Sequence[BitmapId]) -> list[int]:
        """The repository's counts of ``ids``, each up to ``read_limit`` (within the
        ``universe``: then the bitmaps are read and counted here)."""
        if self.universe is not None or self.excluded is not None:
            return [len(bitmap) for bitmap in self._read(ids, None)]
        if self.read_limit is None:
            return self.repository.count(ids)
        if self.read_limit == 0 or not ids:
            return [0] * len(ids)
        return self.repository.count(ids, max_bytes=self.read_limit)

    def _read(self, ids: Sequence[BitmapId], max_bytes: int | None) -> list[Bitmap]:
        """The repository's bitmaps of ``ids``, each read up to the tighter of ``max_bytes``
        and ``read_limit`` (the argument is left out when both are None, so repositories
        written before it existed still work), each within the ``universe``."""
        limits = [n for n in (max_bytes, self.read_limit) if n is not None]
        if not limits:
            bitmaps = self.repository.fetch(ids)
        elif min(limits) == 0 or not ids:
            return [Bitmap()] * len(ids)  # nobody to look for: nothing to read
        else:
            bitmaps = self.repository.fetch(ids, max_bytes=min(limits))
        if self.universe is None and self.excluded is None:
            return bitmaps
        # Each bitmap read is replaced by its restriction as soon as that is made, so the
        # next restriction can be written where the last bitmap was (still in cache), and
        # the answer never holds the bitmaps read and their restrictions at once (in a list
        # of its own, whatever sequence the repository returned).
        bitmaps = list(bitmaps)
        for index, bitmap in enumerate(bitmaps):
            if self.universe is not None:
                bitmap = bitmap & self.universe
            if self.excluded is not None:
                bitmap = bitmap - self.excluded
            bitmaps[index] = bitmap
        return bitmaps


def _in_period(bitmaps: Mapping[EventPeriod, Bitmap], period: Period) -> Callable[[str], Bitmap]:
    """Look up each event's bitmap in ``period`` (what ``Expression.evaluate`` expects)."""
    return lambda event: bitmaps[(event, period)]


class ReadingEngine:
    """An answer's engine (trend, lifecycle, stickiness, funnel): it computes from
    ``repository``, reading through its :attr:`reader`."""

    def __init__(
        self,
        repository: BitmapRepository,
        *,
        max_user_id: int | None = None,
        universe: Bitmap | None = None,
        excluded: Bitmap | None = None,
    ) -> None:
        self.repository = repository
        #: Reads the bitmaps; with ``max_user_id`` (an app's ``BITMAPIST_MAX_USER_ID``) none
        #: past that user's byte, so a huge id another writer set costs nothing; with
        #: ``universe`` (a segment's users) every user set is within it, without ``excluded``.
        self.reader = BitmapReader(
            repository, max_user_id=max_user_id, universe=universe, excluded=excluded
        )
