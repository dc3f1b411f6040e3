"""Trends: how many users matched each expression in each period of a window.

``counts[k]`` is the number of users matching the expression in period ``k``; with a
rolling window of ``w`` periods, the number who matched in any of the ``w`` periods ending
with ``k`` (``w = 7`` on days is weekly actives drawn daily). The expression is evaluated
in each period, then the periods are united: ``a & ~b`` rolling over a week counts the
users who, on some day of that week, did ``a`` and not ``b`` that day (see docs/answers.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from flask_bitmapist.domain.bitmap import Bitmap, Words, popcount
from flask_bitmapist.domain.errors import InvalidAnswerSpec
from flask_bitmapist.domain.expressions import Expression
from flask_bitmapist.domain.groups import UserGroups
from flask_bitmapist.domain.periods import Period, TimeGroup
from flask_bitmapist.domain.reader import ReadingEngine
from flask_bitmapist.domain.window import (
    Window,
    WindowedSpec,
    bounded_int,
    checked_expression,
    index_in,
)

__all__ = ["MAX_ROLLING", "MAX_SERIES", "Trend", "TrendEngine", "TrendSeries", "TrendSpec"]


#: The widest rolling window: a year of days.
MAX_ROLLING: Final = 366
#: The most expressions one trend compares.
MAX_SERIES: Final = 10


@attrs.frozen
class TrendSpec(WindowedSpec):
    """A validated trend request. Build it with :meth:`create`.

    >>> from flask_bitmapist.domain import parse_expression
    >>> spec = TrendSpec.create([parse_expression("active")], now=datetime(2026, 11, 27),
    ...                         periods=3, rolling=7)
    >>> [p.key_suffix for p in spec.periods_read()][:2], len(spec.periods_read())
    (['2026-11-19', '2026-11-20'], 9)
    """

    expressions: tuple[Expression, ...]
    window: Window
    rolling: int = 1

    @classmethod
    def create(
        cls,
        expressions: Sequence[Expression],
        *,
        now: datetime,
        time_group: str | TimeGroup = TimeGroup.DAY,
        periods: int = 30,
        rolling: int = 1,
    ) -> TrendSpec:
        """Validate every field; errors are :class:`InvalidAnswerSpec` naming the field:
        1 to 10 expressions (``expr``), ``periods`` 1..1000 (1..8760 hours), ``rolling``
        1..366, a time group and a datetime ``now``."""
        if isinstance(expressions, Expression) or not isinstance(expressions, Sequence):
            raise InvalidAnswerSpec(
                f"expressions must be a list of expressions, got {expressions!r}", field="expr"
            )
        if not 1 <= len(expressions) <= MAX_SERIES:
            raise InvalidAnswerSpec(
                f"a trend has 1 to {MAX_SERIES} expressions, got {len(expressions)}",
                field="expr",
            )
        checked = tuple(checked_expression(e) for e in expressions)
        rolling = bounded_int("rolling", rolling, MAX_ROLLING)
        window = Window.create(time_group=time_group, periods=periods, now=now, before=rolling - 1)
        return cls(checked, window, rolling)

    def periods_read(self) -> tuple[Period, ...]:
        """Every period the trend looks at: the window and the ``rolling - 1`` before it."""
        return self.window.periods(self.rolling - 1)


@attrs.frozen
class TrendSeries:
    """One expression's counts, one per period of the window."""

    expression: Expression
    counts: tuple[int, ...]


@attrs.frozen
class Trend:
    """A computed trend: the window's period starts and one series per expression."""

    spec: TrendSpec
    dates: tuple[datetime, ...]
    series: tuple[TrendSeries, ...]
    #: With ``compare="previous"``: the same trend over the N periods before the window.
    previous: Trend | None = None


class TrendEngine(ReadingEngine):
    """Computes trends from a :class:`BitmapRepository`: one read, then set algebra."""

    def compute(self, spec: TrendSpec) -> Trend:
        """The trend for ``spec``: every bitmap of every series in one read."""
        per_series = self._evaluate(spec.expressions, spec.periods_read())
        return _trend(spec, [_rolling_counts(users, spec.rolling) for users in per_series])

    def compute_groups(self, spec: TrendSpec, groups: UserGroups) -> list[Trend]:
        """The trend for ``spec`` within each of ``groups``: one read, each series' sets made
        once, then counted within every group."""
        per_series = self._evaluate(spec.expressions, spec.periods_read())
        if spec.rolling == 1:
            counts = groups.count([users for series in per_series for users in series])
            n = len(spec.periods_read())
            return [
                _trend(spec, [tuple(row[i * n : (i + 1) * n]) for i in range(len(per_series))])
                for row in counts.tolist()
            ]
        return [
            _trend(
                spec,
                [
                    _rolling_counts(groups.restricted(users, group), spec.rolling)
                    for users in per_series
                ],
            )
            for group in range(len(groups))
        ]

    def users(self, spec: TrendSpec, series: int, index: int) -> Bitmap:
        """The users counted in ``counts[index]`` of series ``series`` (one read of the
        ``rolling`` periods that count needs)."""
        series = index_in("series", series, spec.expressions)
        dates = spec.window.dates()
        index = index_in("index", index, dates)
        periods = spec.periods_read()[index : index + spec.rolling]
        [users] = self._evaluate([spec.expressions[series]], periods)
        return Bitmap.union(users)

    def _evaluate(
        self, expressions: Sequence[Expression], periods: Sequence[Period]
    ) -> list[list[Bitmap]]:
        events = frozenset().union(*(e.events() for e in expressions))
        bitmaps = self.reader.fetch((event, period) for period in periods for event in events)

        def in_period(period: Period) -> Callable[[str], Bitmap]:
            return lambda event: bitmaps[(event, period)]

        return [[e.evaluate(in_period(p)) for p in periods] for e in expressions]


def _trend(spec: TrendSpec, counts: Sequence[tuple[int, ...]]) -> Trend:
    """The trend of ``spec`` with each expression's ``counts``."""
    series = tuple(TrendSeries(e, c) for e, c in zip(spec.expressions, counts, strict=True))
    return Trend(spec, spec.window.dates(), series)


# Bytes the rolling computation may take per slice of users (its prefix and suffix
# matrices of every period): a slice is as many words as this allows,
# so memory stays bounded whatever the number of users, and a month at 1,000,000 users is
# one slice, a few numpy calls per row of a block (about 2 ms of compute for a rolling-7
# month at 1,000,000 users; docs/answers.md, "Bounds and speed").
_SLICE_BYTES: Final = 64 * 2**20


def _rolling_counts(users: Sequence[Bitmap], w: int) -> tuple[int, ...]:
    """``|users[k] | ... | users[k + w - 1]|`` for every ``k``: one count per window.

    The periods are cut in blocks of ``w``. A window that ends at row ``t`` of block ``B``
    is the suffix of block ``B - 1`` from row ``t + 1`` united with the prefix of block
    ``B`` up to row ``t`` (for ``t = w - 1``, block ``B`` whole). So every count costs two
    ORs however wide ``w`` is (``w = 366`` over 1,000 periods is about 3,000 ORs, not
    366,000), and numpy does all blocks at once. Counts add up over slices of words, so the
    work goes one slice of users at a time.
    """
    if w == 1:
        return tuple(len(bitmap) for bitmap in users)
    m = len(users)
    blocks = -(-m // w)
    width = max((b.words.size for b in users), default=0)
    per_row = 2 * 8 * blocks * w  # prefix and suffix: bytes per word of width
    slice_words = max(1, _SLICE_BYTES // per_row)
    counts = np.zeros((blocks, w), dtype=np.uint64)
    nobody = np.zeros(0, dtype=np.uint64)
    for low in range(0, width, slice_words):
        high = min(low + slice_words, width)
        parts = [b.words[low:high] for b in users] + [nobody] * (blocks * w - m)
        # Each row written once, from the row before it (prefix) or after it (suffix):
        # no zeroed matrix to copy the periods into first.
        prefix = np.empty((blocks, w, high - low), dtype=np.uint64)
        suffix = np.empty((blocks, w, high - low), dtype=np.uint64)
        for block in range(blocks):
            rows = parts[block * w : (block + 1) * w]
            _accumulate(prefix[block], rows, range(w))
            if block < blocks - 1:  # the last block's suffixes end no window
                _accumulate(suffix[block], rows, range(w - 1, 0, -1))
        # Row t < w - 1 of block B >= 1: suffix of B - 1 from t + 1, prefix of B to t.
        if blocks > 1:
            merged = np.empty((blocks - 1, high - low), dtype=np.uint64)
            for t in range(w - 1):
                np.bitwise_or(suffix[:-1, t + 1], prefix[1:, t], out=merged)
                counts[1:, t] += popcount(merged, axis=1)
        counts[:, -1] += popcount(prefix[:, -1], axis=1)
    # Window ends run from row w - 1 (the first full window) to the last period.
    return tuple(int(c) for c in counts.reshape(-1)[w - 1 : m])


def _accumulate(out: npt.NDArray[np.uint64], rows: Sequence[Words], order: range) -> None:
    """Row ``order[i]`` of ``out`` = the OR of ``rows`` at ``order[0..i]`` (rows may be
    shorter than ``out``'s width: a short bitmap ends in zeros)."""
    previous: Words | None = None
    for t in order:
        row, target = rows[t], out[t]
        n = row.size
        if previous is None:
            target[:n] = row
            target[n:] = 0
        else:
            np.bitwise_or(previous[:n], row, out=target[:n])
            target[n:] = previous[n:]
        previous = target
