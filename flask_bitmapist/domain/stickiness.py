"""Stickiness: of the users who matched an expression in a window, how many did so in
exactly 1, 2, … N of its periods (see docs/answers.md).

"Of this month's active users, how many were active on 1, 2, … 30 days?" A high tail
says people live in the app; a spike at 1 says they visit once.
"""

from __future__ import annotations

from datetime import datetime

import attrs
import numpy as np

from flask_bitmapist.domain.bitmap import Bitmap, Words, popcount
from flask_bitmapist.domain.errors import InvalidAnswerSpec
from flask_bitmapist.domain.expressions import Expression
from flask_bitmapist.domain.groups import UserGroups
from flask_bitmapist.domain.periods import Period, TimeGroup
from flask_bitmapist.domain.reader import ReadingEngine
from flask_bitmapist.domain.window import ExpressionSpec, Window

__all__ = ["Stickiness", "StickinessEngine", "StickinessSpec"]

#: Up to this many periods, counts come from one mask per k (N x planes word operations);
#: beyond, from unpacking each user's count (cost independent of N).
_MASKS_UP_TO = 64


def _histogram(planes: Words, n: int) -> tuple[int, ...]:
    """How many users the tally ``planes`` counts in exactly 1, 2, … ``n`` periods."""
    if n <= _MASKS_UP_TO:
        # Users with exactly k periods: one AND over the planes per k, then a popcount.
        return tuple(int(popcount(_exactly(planes, k))) for k in range(1, n + 1))
    if not planes.shape[1]:
        return (0,) * n
    # Many k: each user's count from the bits of the tally, then a histogram.
    per_user = np.zeros(planes.shape[1] * 64, dtype=np.uint16)
    for b, plane in enumerate(planes):
        bits = np.unpackbits(plane.view(np.uint8)).astype(np.uint16)
        per_user |= bits << np.uint16(b)
    return tuple(int(c) for c in np.bincount(per_user, minlength=n + 1)[1:])


def _exactly(planes: Words, k: int) -> Words:
    """The words of the users whose tally (bit-sliced in ``planes``) is exactly ``k``."""
    mask = np.full(planes.shape[1], np.iinfo(np.uint64).max, dtype=np.uint64)
    for b, plane in enumerate(planes):
        mask &= plane if (k >> b) & 1 else ~plane
    return mask


@attrs.frozen
class StickinessSpec(ExpressionSpec):
    """A validated stickiness request. Build it with :meth:`create`."""

    @classmethod
    def window_of(cls, time_group: str | TimeGroup, periods: int, now: datetime) -> Window:
        """The window, of at most ``MAX_PERIODS`` periods whatever the group (hours too)."""
        return Window.create_capped(time_group=time_group, periods=periods, now=now)


@attrs.frozen
class Stickiness:
    """``counts[k - 1]``: the users who matched in exactly ``k`` of the window's N periods."""

    spec: StickinessSpec
    dates: tuple[datetime, ...]
    counts: tuple[int, ...]
    #: With ``compare="previous"``: the same answer over the N periods before the window.
    previous: Stickiness | None = None

    @property
    def total(self) -> int:
        """The users who matched in at least one period."""
        return sum(self.counts)

    @property
    def percentages(self) -> tuple[float, ...]:
        """Each count as a percentage of :attr:`total` (0 when nobody matched)."""
        total = self.total
        return tuple(100.0 * c / total if total else 0.0 for c in self.counts)


class StickinessEngine(ReadingEngine):
    """Computes :class:`Stickiness` from one batched read of the window's bitmaps."""

    def compute(self, spec: StickinessSpec) -> Stickiness:
        """How many users matched in exactly 1, 2, … N periods."""
        periods = spec.window.periods()
        planes = self._tally(spec.expression, periods)
        return Stickiness(spec, tuple(p.start for p in periods), _histogram(planes, len(periods)))

    def compute_groups(self, spec: StickinessSpec, groups: UserGroups) -> list[Stickiness]:
        """How many users of each of ``groups`` matched in exactly 1, 2, … N periods: one
        read and one tally, then each group's users' counts taken from it."""
        periods = spec.window.periods()
        dates = tuple(p.start for p in periods)
        planes = self._tally(spec.expression, periods)
        width = planes.shape[1]
        found: list[Stickiness] = []
        for first, stop in groups.batches(width):
            for mask in groups.masks(width, first, stop):
                found.append(Stickiness(spec, dates, _histogram(planes & mask, len(periods))))
        return found

    def users(self, spec: StickinessSpec, k: int) -> Bitmap:
        """The users who matched in exactly ``k`` of the window's periods (1 <= k <= N)."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= spec.periods:
            raise InvalidAnswerSpec(
                f"k must be an int between 1 and {spec.periods}, got {k!r}", field="k"
            )
        return Bitmap(_exactly(self._tally(spec.expression, spec.window.periods()), k))

    def _tally(self, expression: Expression, periods: tuple[Period, ...]) -> Words:
        """Each user's number of matching periods as bit planes: bit ``b`` of user U's
        count is bit U of ``planes[b]`` (a bit-sliced counter: adding one period costs a
        few word operations per plane instead of one per user)."""
        users = self.reader.users_by_period(expression, periods)
        width = max((users[p].words.size for p in periods), default=0)
        planes = np.zeros((len(periods).bit_length(), width), dtype=np.uint64)
        carry = np.empty(width, dtype=np.uint64)
        spill = np.empty(width, dtype=np.uint64)
        for added, period in enumerate(periods, start=1):
            words = users[period].words
            carry[:] = 0
            carry[: words.size] = words
            # After ``added`` periods no count needs more than added.bit_length() bits.
            for plane in planes[: added.bit_length()]:
                np.bitwise_and(plane, carry, out=spill)
                np.bitwise_xor(plane, carry, out=plane)
                carry, spill = spill, carry
        return planes
