"""The cohort engine: one batch read from the repository, then set algebra in process."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.cohort import Cohort, CohortMode, CohortSpec
from flask_bitmapist.domain.errors import InvalidCohortSpec
from flask_bitmapist.domain.events import BitmapId
from flask_bitmapist.domain.expressions import Expression
from flask_bitmapist.domain.history import FirstEver, first_ever_events
from flask_bitmapist.domain.periods import Period
from flask_bitmapist.domain.repository import BitmapRepository

__all__ = ["CohortEngine"]

EventPeriod = tuple[str, Period]
Matrix = npt.NDArray[np.uint64]
#: A row gathers its users' words one by one when they fill less than 1 in this many of
#: the words between its first and last user (else it reads that span as one slice).
_GATHER_BELOW = 4
#: The most bytes of bitmaps one read for unions (a year's months) holds when the
#: bitmaps' lengths are known: 64 MiB, eight keys of the default cap's 8 MiB.
_UNION_BATCH_BYTES = 64 * 2**20


class CohortEngine:
    """Answers "who did E in period p" and cohort tables from a :class:`BitmapRepository`.

    Every public method reads storage in one call per phase, for every bitmap it needs,
    and writes nothing: a cohort reads its rows' users first (for first-time rows, the
    primary's history), then the secondary sets only as far as the largest of those users.
    A year is the OR of its twelve months, computed once per year needed.

    With ``max_user_id`` (an app's ``BITMAPIST_MAX_USER_ID``) no read goes past that
    user's byte: bits another writer set beyond it (bitmapist allows ids up to 2**32 - 1,
    512 MiB per key) are not read, so one such id cannot make a read cost rows x 512 MiB.
    :meth:`beyond_limit` says which bitmaps hold more than was read.
    """

    def __init__(self, repository: BitmapRepository, *, max_user_id: int | None = None) -> None:
        self.repository = repository
        self.max_user_id = max_user_id
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
        """The repository's counts of ``ids``, each up to ``read_limit``."""
        if self.read_limit is None:
            return self.repository.count(ids)
        if self.read_limit == 0 or not ids:
            return [0] * len(ids)
        return self.repository.count(ids, max_bytes=self.read_limit)

    def _read(self, ids: Sequence[BitmapId], max_bytes: int | None) -> list[Bitmap]:
        """The repository's bitmaps of ``ids``, each read up to the tighter of ``max_bytes``
        and ``read_limit`` (the argument is left out when both are None, so repositories
        written before it existed still work)."""
        limits = [n for n in (max_bytes, self.read_limit) if n is not None]
        if not limits:
            return self.repository.fetch(ids)
        limit = min(limits)
        if limit == 0 or not ids:
            return [Bitmap()] * len(ids)  # nobody to look for: nothing to read
        return self.repository.fetch(ids, max_bytes=limit)

    # -- cohorts --------------------------------------------------------------------

    def compute(self, spec: CohortSpec) -> Cohort:
        """The cohort table for ``spec`` (see :class:`CohortMode` for what cells count)."""
        periods = spec.row_periods()
        primary, secondary = self._evaluate(spec, periods)
        totals: list[int] = []
        cells: list[tuple[int | None, ...]] = []
        for i, row_users in enumerate(primary):
            total, row = _row(row_users, secondary[i:], spec.cols, spec.mode)
            totals.append(total)
            cells.append(row)
        return Cohort(spec, tuple(p.start for p in periods), tuple(totals), tuple(cells))

    def cell_users(self, spec: CohortSpec, row: int, col: int) -> Bitmap:
        """The users counted in cell (``row``, ``col``) of ``spec``'s cohort."""
        periods = spec.row_periods()
        if not 0 <= row < spec.rows:
            raise InvalidCohortSpec(f"row {row!r} is outside 0..{spec.rows - 1}", field="row")
        if not 0 <= col < spec.cols:
            raise InvalidCohortSpec(f"col {col!r} is outside 0..{spec.cols - 1}", field="col")
        if row + col >= len(periods):
            raise InvalidCohortSpec(
                f"cell ({row}, {col}) is in the future of {spec.now.isoformat()}", field="col"
            )
        if spec.mode is CohortMode.FIRST_RETURN:
            needed = periods[row : row + col + 1]
        elif spec.mode is CohortMode.RECURRING:
            needed = periods[row + col : row + col + 1]
        else:
            needed = periods[row + col :]
        if spec.first_time:
            firsts, secondary = self._first_time(spec, [periods[row]], needed)
            return _cell(spec, firsts[0], secondary, needed)
        primary = self.users(spec.primary, periods[row])
        secondary = self.users_by_period(spec.secondary, needed, max_bytes=_extent([primary]))
        return _cell(spec, primary, secondary, needed)

    def _evaluate(
        self, spec: CohortSpec, periods: Sequence[Period]
    ) -> tuple[list[Bitmap], list[Bitmap]]:
        if spec.first_time:
            firsts, by_period = self._first_time(spec, periods, periods)
            return list(firsts), [by_period[p] for p in periods]
        # The rows' users first; the secondary is then read only as far as the largest
        # of them: cells count nobody else, and a huge id another writer set in a
        # secondary bitmap costs nothing.
        by_period = self.users_by_period(spec.primary, periods)
        primary = [by_period[p] for p in periods]
        secondary = self.users_by_period(spec.secondary, periods, max_bytes=_extent(primary))
        return primary, [secondary[p] for p in periods]

    def _first_time(
        self, spec: CohortSpec, rows: Sequence[Period], cells: Sequence[Period]
    ) -> tuple[tuple[Bitmap, ...], dict[Period, Bitmap]]:
        """The first-ever users of the primary in each of ``rows``, and the secondary's
        users in each of ``cells``: the events' stored months are listed, the primary's
        history is read in one call (up to ``read_limit``), then the secondary in one more,
        only as far as the largest of the first-time users, as for ordinary rows."""
        events = first_ever_events(spec.primary)
        plan = FirstEver.plan(
            spec.primary, spec.time_group, rows, self.repository.stored_months(events)
        )
        firsts = plan.users(self.fetch_stored(plan.bitmap_ids()))
        secondary = self.users_by_period(spec.secondary, cells, max_bytes=_extent(firsts))
        return firsts, secondary


def _extent(bitmaps: Iterable[Bitmap]) -> int:
    """How many leading bytes hold every user of ``bitmaps`` (0 when they are empty)."""
    extent = 0
    for bitmap in bitmaps:
        nonzero = np.flatnonzero(bitmap.words)
        if nonzero.size:
            extent = max(extent, (int(nonzero[-1]) + 1) * 8)
    return extent


def _cell(
    spec: CohortSpec, primary: Bitmap, secondary: Mapping[Period, Bitmap], needed: Sequence[Period]
) -> Bitmap:
    """The users of one cell, from its row's primary set and the secondary's sets in
    ``needed`` (the periods the cell's mode looks at, the cell's own last but for
    ``CUMULATIVE``, where it is first)."""
    if spec.mode is CohortMode.FIRST_RETURN:
        target = needed[-1]
        earlier = Bitmap.union(secondary[p] for p in needed[:-1])
        return (primary & secondary[target]) - earlier
    if spec.mode is CohortMode.RECURRING:
        return primary & secondary[needed[0]]
    return primary & Bitmap.union(secondary.values())


def _in_period(bitmaps: Mapping[EventPeriod, Bitmap], period: Period) -> Callable[[str], Bitmap]:
    """Look up each event's bitmap in ``period`` (what ``Expression.evaluate`` expects)."""
    return lambda event: bitmaps[(event, period)]


def _row(
    users: Bitmap, later: Sequence[Bitmap], cols: int, mode: CohortMode
) -> tuple[int, tuple[int | None, ...]]:
    """One cohort row: its total and cells. ``later`` holds the secondary sets of the row's
    own period and every later one up to now's.

    Only the words where the row's users live are looked at: a row is usually one period's
    signups, whose ids are close together, so this is a sliver of the full width. When the
    row's users are few and spread out (first-time payers, who signed up any time), only
    the words that hold one of them are gathered.
    """
    nonzero = np.flatnonzero(users.words)
    if nonzero.size == 0:
        return 0, (None,) * cols
    span = int(nonzero[-1]) + 1 - int(nonzero[0])
    window: slice | npt.NDArray[np.intp]
    if nonzero.size * _GATHER_BELOW < span:
        window = nonzero
    else:
        window = slice(int(nonzero[0]), int(nonzero[-1]) + 1)
    primary = users.words[window]
    if mode is CohortMode.CUMULATIVE:
        # Users seen in period k or any later one: a suffix OR over the whole future.
        block = _block(later, window)
        block = np.bitwise_or.accumulate(block[::-1], axis=0)[::-1][:cols]
    else:
        block = _block(later[:cols], window)
        if mode is CohortMode.FIRST_RETURN and len(block) > 1:
            # Keep in column j only users not seen in columns 0..j-1.
            block[1:] &= ~np.bitwise_or.accumulate(block[:-1], axis=0)
    counts = np.bitwise_count(block & primary).sum(axis=1, dtype=np.uint64).tolist()
    total = int(np.bitwise_count(primary).sum(dtype=np.uint64))
    return total, (*counts, *(None,) * (cols - len(counts)))


def _block(bitmaps: Sequence[Bitmap], window: slice | npt.NDArray[np.intp]) -> Matrix:
    """The ``window`` (a slice, or ascending word indexes) of each bitmap's words, one row
    each (a short bitmap ends in zeros)."""
    if isinstance(window, slice):
        block = np.zeros((len(bitmaps), window.stop - window.start), dtype=np.uint64)
        for row, bitmap in zip(block, bitmaps, strict=True):
            part = bitmap.words[window]
            row[: part.size] = part
        return block
    block = np.zeros((len(bitmaps), window.size), dtype=np.uint64)
    for row, bitmap in zip(block, bitmaps, strict=True):
        inside = int(np.searchsorted(window, bitmap.words.size))
        row[:inside] = bitmap.words[window[:inside]]
    return block
