"""The cohort engine: the rows' users and the secondary's, read through the bitmap reader
(:mod:`flask_bitmapist.domain.reader`), then set algebra in process."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from flask_bitmapist.domain.bitmap import Bitmap, popcount
from flask_bitmapist.domain.cohort import Cohort, CohortMode, CohortSpec
from flask_bitmapist.domain.errors import InvalidCohortSpec
from flask_bitmapist.domain.groups import UserGroups
from flask_bitmapist.domain.history import FirstEver, first_ever_events
from flask_bitmapist.domain.periods import Period
from flask_bitmapist.domain.reader import BitmapReader

__all__ = ["CohortEngine"]

Matrix = npt.NDArray[np.uint64]
#: A row gathers its users' words one by one when they fill less than 1 in this many of
#: the words between its first and last user (else it reads that span as one slice).
_GATHER_BELOW = 4
#: The most bytes one step of a row's counting holds (groups x columns x words).
_CELL_BYTES = 32 * 2**20


class CohortEngine(BitmapReader):
    """Cohort tables from a :class:`BitmapRepository`, read through the
    :class:`~flask_bitmapist.domain.reader.BitmapReader` it extends.

    Every public method reads storage in one call per phase, for every bitmap it needs,
    and writes nothing: a cohort reads its rows' users first (for first-time rows, the
    primary's history), then the secondary sets only as far as the largest of those users.
    """

    # -- cohorts --------------------------------------------------------------------

    def compute(self, spec: CohortSpec) -> Cohort:
        """The cohort table for ``spec`` (see :class:`CohortMode` for what cells count)."""
        [cohort] = self._cohorts(spec, None)
        return cohort

    def compute_groups(self, spec: CohortSpec, groups: UserGroups) -> list[Cohort]:
        """The cohort table for ``spec`` within each of ``groups``: one read, each row's
        sets made once, then counted within every group."""
        return self._cohorts(spec, groups)

    def _cohorts(self, spec: CohortSpec, groups: UserGroups | None) -> list[Cohort]:
        periods = spec.row_periods()
        starts = tuple(p.start for p in periods)
        primary, secondary = self._evaluate(spec, periods)
        width = max((users.words.size for users in primary), default=0)
        cohorts: list[Cohort] = []
        for first, stop in [(0, 1)] if groups is None else groups.batches(width):
            masks = None if groups is None else groups.masks(width, first, stop)
            rows = [
                _row(users, secondary[i:], spec.cols, spec.mode, masks)
                for i, users in enumerate(primary)
            ]
            cohorts += [
                Cohort(spec, starts, tuple(r[0][g] for r in rows), tuple(r[1][g] for r in rows))
                for g in range(stop - first)
            ]
        return cohorts

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


def _row(
    users: Bitmap, later: Sequence[Bitmap], cols: int, mode: CohortMode, masks: Matrix | None
) -> tuple[list[int], list[tuple[int | None, ...]]]:
    """One cohort row, within each group of ``masks`` (rows of words; None: everyone):
    per group, its total and cells. ``later`` holds the secondary sets of the row's own
    period and every later one up to now's.

    Only the words where the row's users live are looked at: a row is usually one period's
    signups, whose ids are close together, so this is a sliver of the full width. When the
    row's users are few and spread out (first-time payers, who signed up any time), only
    the words that hold one of them are gathered.
    """
    groups = 1 if masks is None else len(masks)
    nonzero = np.flatnonzero(users.words)
    if nonzero.size == 0:
        return [0] * groups, [(None,) * cols] * groups
    span = int(nonzero[-1]) + 1 - int(nonzero[0])
    window: slice | npt.NDArray[np.intp]
    if nonzero.size * _GATHER_BELOW < span:
        window = nonzero
    else:
        window = slice(int(nonzero[0]), int(nonzero[-1]) + 1)
    primary = users.words[window]
    primaries = primary[np.newaxis] if masks is None else masks[:, window] & primary
    if mode is CohortMode.CUMULATIVE:
        # Users seen in period k or any later one: a suffix OR over the whole future.
        block = _block(later, window)
        block = np.bitwise_or.accumulate(block[::-1], axis=0)[::-1][:cols]
    else:
        block = _block(later[:cols], window)
        if mode is CohortMode.FIRST_RETURN and len(block) > 1:
            # Keep in column j only users not seen in columns 0..j-1.
            block[1:] &= ~np.bitwise_or.accumulate(block[:-1], axis=0)
    totals = popcount(primaries, axis=1).tolist()
    # Groups a batch at a time: a batch's cells (groups x columns x words) stay bounded.
    step = max(1, _CELL_BYTES // max(1, 8 * block.size))
    counts: list[list[int]] = []
    for first in range(0, groups, step):
        part = primaries[first : first + step, np.newaxis] & block
        counts += popcount(part, axis=2).tolist()
    # A row without users (in a group) has no cells, as a row of nobody has none.
    padding = (None,) * (cols - len(block))
    return totals, [
        (*row, *padding) if total else (None,) * cols
        for total, row in zip(totals, counts, strict=True)
    ]


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
