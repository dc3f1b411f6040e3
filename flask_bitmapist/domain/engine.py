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


class CohortEngine:
    """Answers "who did E in period p" and cohort tables from a :class:`BitmapRepository`.

    Every public method reads storage exactly once, for every bitmap it needs, and writes
    nothing. A year is the OR of its twelve months, computed once per year needed.
    """

    def __init__(self, repository: BitmapRepository) -> None:
        self.repository = repository

    # -- reading --------------------------------------------------------------------

    def fetch(self, wanted: Iterable[EventPeriod]) -> dict[EventPeriod, Bitmap]:
        """The bitmap of each (event, period), years included, in one repository call."""
        return self._fetch(wanted)[0]

    def _fetch(
        self, wanted: Iterable[EventPeriod], extra: Iterable[BitmapId] = ()
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
        stored = dict(zip(ids, self.repository.fetch(ids), strict=True))
        bitmaps = {
            (event, period): Bitmap.union([stored[BitmapId(event, part)] for part in ps])
            for (event, period), ps in parts.items()
        }
        return bitmaps, stored

    def users(self, expression: Expression, period: Period) -> Bitmap:
        """The users matching ``expression`` in ``period``."""
        return self.users_by_period(expression, [period])[period]

    def users_by_period(
        self, expression: Expression, periods: Sequence[Period]
    ) -> dict[Period, Bitmap]:
        """The users matching ``expression`` in each of ``periods``, in one read."""
        events = expression.events()
        bitmaps = self.fetch((event, period) for period in periods for event in events)
        return {p: expression.evaluate(_in_period(bitmaps, p)) for p in periods}

    def counts(self, events: Iterable[str], periods: Sequence[Period]) -> dict[EventPeriod, int]:
        """How many users did each event in each period, in one read."""
        bitmaps = self.fetch((event, period) for event in events for period in periods)
        return {key: len(bitmap) for key, bitmap in bitmaps.items()}

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
        return _cell(
            spec,
            self.users(spec.primary, periods[row]),
            self.users_by_period(spec.secondary, needed),
            needed,
        )

    def _evaluate(
        self, spec: CohortSpec, periods: Sequence[Period]
    ) -> tuple[list[Bitmap], list[Bitmap]]:
        if spec.first_time:
            firsts, by_period = self._first_time(spec, periods, periods)
            return list(firsts), [by_period[p] for p in periods]
        events = spec.primary.events() | spec.secondary.events()
        bitmaps = self.fetch((event, period) for period in periods for event in events)
        primary = [spec.primary.evaluate(_in_period(bitmaps, p)) for p in periods]
        secondary = [spec.secondary.evaluate(_in_period(bitmaps, p)) for p in periods]
        return primary, secondary

    def _first_time(
        self, spec: CohortSpec, rows: Sequence[Period], cells: Sequence[Period]
    ) -> tuple[tuple[Bitmap, ...], dict[Period, Bitmap]]:
        """The first-ever users of the primary in each of ``rows``, and the secondary's
        users in each of ``cells``: the events' stored months are listed, then everything
        (the primary's history and the secondary) is read in one call."""
        events = first_ever_events(spec.primary)
        plan = FirstEver.plan(
            spec.primary, spec.time_group, rows, self.repository.stored_months(events)
        )
        wanted = [(event, period) for period in cells for event in spec.secondary.events()]
        bitmaps, stored = self._fetch(wanted, plan.bitmap_ids())
        secondary = {p: spec.secondary.evaluate(_in_period(bitmaps, p)) for p in cells}
        return plan.users(stored), secondary


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
