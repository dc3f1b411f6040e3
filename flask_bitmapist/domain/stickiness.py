"""Stickiness: of the users who matched an expression in a window, how many did so in
exactly 1, 2, … N of its periods (DESIGN section 10, item 4).

"Of this month's active users, how many were active on 1, 2, … 30 days?" A high tail
says people live in the app; a spike at 1 says they visit once.
"""

from __future__ import annotations

from datetime import datetime

import attrs
import numpy as np
import numpy.typing as npt

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.engine import CohortEngine
from flask_bitmapist.domain.errors import InvalidAnswerSpec
from flask_bitmapist.domain.expressions import Expression
from flask_bitmapist.domain.periods import Period, TimeGroup
from flask_bitmapist.domain.repository import BitmapRepository
from flask_bitmapist.domain.window import Window, checked_expression

__all__ = ["Stickiness", "StickinessEngine", "StickinessSpec"]

Words = npt.NDArray[np.uint64]


@attrs.frozen
class StickinessSpec:
    """A validated stickiness request. Build it with :meth:`create`."""

    expression: Expression
    window: Window

    @classmethod
    def create(
        cls,
        expression: Expression,
        *,
        now: datetime,
        time_group: str | TimeGroup = TimeGroup.DAY,
        periods: int = 30,
    ) -> StickinessSpec:
        """Validate every field; errors are :class:`InvalidAnswerSpec` naming the field
        (``expr``, ``time_group``, ``periods``, ``now``)."""
        expression = checked_expression("expr", expression)
        return cls(expression, Window.create(time_group=time_group, periods=periods, now=now))

    @property
    def time_group(self) -> TimeGroup:
        """The group of the window's periods."""
        return self.window.group

    @property
    def periods(self) -> int:
        """How many periods the window has (N)."""
        return self.window.count

    @property
    def now(self) -> datetime:
        """The moment the window ends at (its last period contains it)."""
        return self.window.now


@attrs.frozen
class Stickiness:
    """``counts[k - 1]``: the users who matched in exactly ``k`` of the window's N periods."""

    spec: StickinessSpec
    dates: tuple[datetime, ...]
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        """The users who matched in at least one period."""
        return sum(self.counts)

    @property
    def percentages(self) -> tuple[float, ...]:
        """Each count as a percentage of :attr:`total` (0 when nobody matched)."""
        total = self.total
        return tuple(100.0 * c / total if total else 0.0 for c in self.counts)


class StickinessEngine:
    """Computes :class:`Stickiness` from one batched read of the window's bitmaps."""

    def __init__(self, repository: BitmapRepository) -> None:
        self.repository = repository

    def compute(self, spec: StickinessSpec) -> Stickiness:
        """How many users matched in exactly 1, 2, … N periods."""
        periods = spec.window.periods()
        planes = self._tally(spec.expression, periods)
        counts = np.zeros(len(periods) + 1, dtype=np.int64)
        if planes.shape[1]:
            # Each user's number of periods, from the bits of the tally, then a histogram.
            per_user = np.zeros(planes.shape[1] * 64, dtype=np.uint16)
            for b, plane in enumerate(planes):
                bits = np.unpackbits(plane.view(np.uint8)).astype(np.uint16)
                per_user |= bits << np.uint16(b)
            counts = np.bincount(per_user, minlength=len(periods) + 1)
        return Stickiness(spec, tuple(p.start for p in periods), tuple(int(c) for c in counts[1:]))

    def users(self, spec: StickinessSpec, k: int) -> Bitmap:
        """The users who matched in exactly ``k`` of the window's periods (1 <= k <= N)."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= spec.periods:
            raise InvalidAnswerSpec(
                f"k must be an int between 1 and {spec.periods}, got {k!r}", field="k"
            )
        planes = self._tally(spec.expression, spec.window.periods())
        if not planes.shape[1]:
            return Bitmap()
        mask = np.full(planes.shape[1], np.iinfo(np.uint64).max, dtype=np.uint64)
        for b, plane in enumerate(planes):
            mask &= plane if (k >> b) & 1 else ~plane
        return Bitmap(mask)

    def _tally(self, expression: Expression, periods: tuple[Period, ...]) -> Words:
        """Each user's number of matching periods as bit planes: bit ``b`` of user U's
        count is bit U of ``planes[b]`` (a bit-sliced counter: adding one period costs a
        few word operations per plane instead of one per user)."""
        users = CohortEngine(self.repository).users_by_period(expression, periods)
        width = max((users[p].words.size for p in periods), default=0)
        planes = np.zeros((len(periods).bit_length(), width), dtype=np.uint64)
        carry = np.empty(width, dtype=np.uint64)
        spill = np.empty(width, dtype=np.uint64)
        for period in periods:
            words = users[period].words
            carry[:] = 0
            carry[: words.size] = words
            for plane in planes:
                np.bitwise_and(plane, carry, out=spill)
                np.bitwise_xor(plane, carry, out=plane)
                carry, spill = spill, carry
        return planes
