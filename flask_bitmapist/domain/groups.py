"""A breakdown's groups: disjoint user sets an answer is computed within, one answer each.

Every number of every answer is the size of a user set made user by user (who did what,
when), so the answer within a group counts the same sets within the group. An engine
therefore makes its sets once, for everyone, and counts them within every group at once
(:meth:`UserGroups.count`): a breakdown costs one read and one count per group and set,
not one answer per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from flask_bitmapist.domain.bitmap import Bitmap, Words

__all__ = ["UserGroups"]

Counts = npt.NDArray[np.int64]
#: The most bytes of group masks (groups x words of users) one count holds at once: past
#: it the groups are counted a batch at a time, so memory is bounded by this, not by
#: groups x users (1,000 groups x 10,000,000 users would be 1.25 GB).
_MASK_BYTES: Final = 32 * 2**20
#: The bytes of masks one step of a count takes (a block of words of every group in a
#: batch): small enough that a block and its scratch stay in a core's cache while every
#: bitmap is counted against it, large enough that numpy's calls are few. 20 groups of a
#: million users over 30 days count in about 8 ms instead of 10 ms one group and bitmap
#: at a time (``benchmarks/breakdown_counting.py``).
_BLOCK_BYTES: Final = 512 * 2**10


@attrs.frozen
class UserGroups:
    """The groups ``members`` (disjoint user sets), then everyone in none of them; all
    within ``within`` (a segment's users; None: everyone).

    >>> groups = UserGroups((Bitmap.from_ids([1, 2]), Bitmap.from_ids([3])))
    >>> groups.count([Bitmap.from_ids([1, 3, 4, 70])]).tolist()
    [[1], [1], [2]]
    """

    members: tuple[Bitmap, ...]
    within: Bitmap | None = None

    def __len__(self) -> int:
        return len(self.members) + 1

    def masks(self, width: int, first: int = 0, stop: int | None = None) -> Words:
        """Groups ``first`` to ``stop`` (all by default) as rows of ``width`` words: row g
        holds group g's users below user ``64 * width``."""
        stop = len(self) if stop is None else stop
        masks = np.zeros((stop - first, width), dtype=np.uint64)
        for row, group in enumerate(range(first, stop)):
            if group < len(self.members):
                _or_into(masks[row], self.members[group].words)
            else:  # everyone else: the complement of every member (in place, no temporary)
                for users in self.members:
                    _or_into(masks[row], users.words)
                np.invert(masks[row], out=masks[row])
            if self.within is not None:
                n = min(width, self.within.words.size)
                np.bitwise_and(masks[row, :n], self.within.words[:n], out=masks[row, :n])
                masks[row, n:] = 0
        return masks

    def batches(self, width: int) -> list[tuple[int, int]]:
        """The groups in batches (first, stop) whose masks of ``width`` words hold at most
        :data:`_MASK_BYTES` each."""
        size = max(1, _MASK_BYTES // max(1, 8 * width))
        return [(first, min(first + size, len(self))) for first in range(0, len(self), size)]

    def count(self, bitmaps: Sequence[Bitmap]) -> Counts:
        """How many users of each bitmap are in each group: a (groups, bitmaps) matrix.

        A batch of groups is counted a block of words at a time (:data:`_BLOCK_BYTES` of
        masks): every bitmap's words in the block are intersected with every group's at
        once, then counted, while the block is still in cache.
        """
        width = max((bitmap.words.size for bitmap in bitmaps), default=0)
        counts = np.zeros((len(self), len(bitmaps)), dtype=np.int64)
        for first, stop in self.batches(width):
            masks = self.masks(width, first, stop)
            block = max(1, _BLOCK_BYTES // (8 * (stop - first)))
            scratch = np.empty((stop - first, min(block, width)), dtype=np.uint64)
            ones = np.empty(scratch.shape, dtype=np.uint8)
            for low in range(0, width, block):
                high = min(low + block, width)
                for column, bitmap in enumerate(bitmaps):
                    top = min(high, bitmap.words.size)
                    if top <= low:
                        continue  # a short bitmap: nobody in this block
                    anded, counted = scratch[:, : top - low], ones[:, : top - low]
                    np.bitwise_and(masks[:, low:top], bitmap.words[low:top], out=anded)
                    np.bitwise_count(anded, out=counted)
                    counts[first:stop, column] += np.add.reduce(counted, axis=1, dtype=np.uint32)
        return counts

    def restricted(self, bitmaps: Sequence[Bitmap], group: int) -> list[Bitmap]:
        """``bitmaps``' users in group ``group``, each."""
        width = max((bitmap.words.size for bitmap in bitmaps), default=0)
        [mask] = self.masks(width, group, group + 1)
        return [Bitmap(bitmap.words & mask[: bitmap.words.size]) for bitmap in bitmaps]


def _or_into(row: Words, words: Words) -> None:
    n = min(row.size, words.size)
    np.bitwise_or(row[:n], words[:n], out=row[:n])
