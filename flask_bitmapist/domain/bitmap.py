"""An immutable set of user ids, stored the way Redis stores bitmaps.

Bit ``N`` is user id ``N``; bit 0 is the high bit of byte 0 (Redis's SETBIT order). The
bytes are held in a read-only numpy array of 64-bit words, so set algebra and counting
run in C: ``numpy.bitwise_count`` makes ``len(a & b)`` on 10,000,000 users take well under
a millisecond, about four times faster than the same on Python ints (measured when the
representation was chosen).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["Bitmap", "Words", "popcount"]

#: A bitmap's 64-bit words, user U at bit U % 64 of word U // 64: the one array type the
#: engines compute with.
Words = npt.NDArray[np.uint64]
_WORD_BYTES: Final = 8


#: Fewer words than this can hold at most 2**32 - 1 users: their count fits 32 bits.
_SUM_32_BELOW: Final = 2**26


def popcount(words: Words, axis: int | None = None) -> npt.NDArray[np.unsignedinteger[Any]]:
    """How many bits ``words`` hold in all (or along ``axis``). numpy counts each word's
    bits, then sums them in 32 bits when no total can pass 2**32 - 1 (about twice as fast
    as summing in 64)."""
    summed = words.size if axis is None else words.shape[axis]
    dtype = np.uint32 if summed < _SUM_32_BELOW else np.uint64
    # np.add.reduce is what .sum() calls, without its Python wrapper (a breakdown makes
    # hundreds of counts a request).
    return np.add.reduce(np.bitwise_count(words), axis=axis, dtype=dtype)  # type: ignore[no-any-return]


def _frozen(words: Words) -> Words:
    words.flags.writeable = False
    return words


def _words_from_bytes(data: bytes) -> Words:
    padding = -len(data) % _WORD_BYTES
    if padding:
        data = data + bytes(padding)
    return np.frombuffer(data, dtype=np.uint64)


_EMPTY: Final = _frozen(np.zeros(0, dtype=np.uint64))


class Bitmap:
    """An immutable user set: ``len``, ``in``, ascending iteration, ``& | ^ -``, equality.

    >>> a, b = Bitmap.from_ids([1, 5, 9]), Bitmap.from_ids([5, 7])
    >>> list(a | b), len(a & b), 9 in a - b
    ([1, 5, 7, 9], 1, True)
    """

    __slots__ = ("_words",)

    _words: Words

    def __init__(self, words: Words = _EMPTY) -> None:
        """Wrap an array of uint64 words in Redis byte order (use the named constructors)."""
        if words.dtype != np.uint64 or words.ndim != 1:
            raise TypeError(f"expected a 1-d uint64 array, got {words.dtype} x {words.shape}")
        object.__setattr__(self, "_words", words if not words.flags.writeable else _frozen(words))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Bitmap is immutable; cannot set {name!r}")

    # -- construction and conversion ------------------------------------------------

    @classmethod
    def from_redis_bytes(cls, data: bytes | None) -> Bitmap:
        """Read a Redis string value (``None``, a missing key, is the empty set)."""
        if not data:
            return cls()
        # No copy: an array over immutable bytes is read-only already, and bytes() copies
        # only a mutable buffer. Cohorts read tens of megabytes this way.
        return cls(_words_from_bytes(bytes(data)))

    @classmethod
    def from_ids(cls, ids: Iterable[int]) -> Bitmap:
        """Build the set of the given non-negative user ids."""
        array = np.fromiter(ids, dtype=np.int64)
        if array.size == 0:
            return cls()
        if int(array.min()) < 0:
            raise ValueError(f"user ids must be non-negative, got {int(array.min())!r}")
        n_words = int(array.max()) // 64 + 1
        buffer = np.zeros(n_words * _WORD_BYTES, dtype=np.uint8)
        np.bitwise_or.at(buffer, array >> 3, (0x80 >> (array & 7)).astype(np.uint8))
        return cls(_frozen(buffer.view(np.uint64)))

    def to_redis_bytes(self) -> bytes:
        """The Redis string value, without trailing zero bytes."""
        return self._words.tobytes().rstrip(b"\x00")

    @property
    def words(self) -> Words:
        """The read-only word array (for engines that batch work on raw arrays)."""
        return self._words

    def padded(self, n_words: int) -> Bitmap:
        """The same set over at least ``n_words`` words (so arrays line up for batch work)."""
        if self._words.size >= n_words:
            return self
        words = np.zeros(n_words, dtype=np.uint64)
        words[: self._words.size] = self._words
        return Bitmap(_frozen(words))

    # -- set algebra --------------------------------------------------------------

    def __and__(self, other: Bitmap) -> Bitmap:
        n = min(self._words.size, other._words.size)
        return Bitmap(_frozen(np.bitwise_and(self._words[:n], other._words[:n])))

    def _merge(self, other: Bitmap, op: np.ufunc) -> Bitmap:
        longer, shorter = (self, other) if self._words.size >= other._words.size else (other, self)
        words = longer._words.copy()
        n = shorter._words.size
        op(words[:n], shorter._words, out=words[:n])
        return Bitmap(_frozen(words))

    def __or__(self, other: Bitmap) -> Bitmap:
        return self._merge(other, np.bitwise_or)

    def __xor__(self, other: Bitmap) -> Bitmap:
        return self._merge(other, np.bitwise_xor)

    def __sub__(self, other: Bitmap) -> Bitmap:
        words = self._words.copy()
        n = min(words.size, other._words.size)
        np.bitwise_and(words[:n], np.invert(other._words[:n]), out=words[:n])
        return Bitmap(_frozen(words))

    @staticmethod
    def union(bitmaps: Iterable[Bitmap]) -> Bitmap:
        """The union of many bitmaps, in one pass."""
        parts = [b for b in bitmaps if b._words.size]
        if not parts:
            return Bitmap()
        if len(parts) == 1:
            return parts[0]  # immutable: no copy needed
        # Start from a copy of the longest, so every other part ORs into place.
        longest = max(parts, key=lambda b: b._words.size)
        words = longest._words.copy()
        for part in parts:
            if part is not longest:
                n = part._words.size
                np.bitwise_or(words[:n], part._words, out=words[:n])
        return Bitmap(_frozen(words))

    # -- the set protocol ------------------------------------------------------------

    def __len__(self) -> int:
        return int(popcount(self._words))

    def __bool__(self) -> bool:
        return bool(self._words.any())

    def __contains__(self, user_id: object) -> bool:
        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 0:
            return False
        data = self._words.view(np.uint8)
        index = user_id >> 3
        return index < data.size and bool(data[index] & (0x80 >> (user_id & 7)))

    def __iter__(self) -> Iterator[int]:
        # Only the words that hold users are unpacked: a set of ten users in an 8 MiB
        # bitmap (ids up to 2**26) costs a scan, not 64 MiB of unpacked bits.
        nonzero = np.flatnonzero(self._words)
        bits = np.unpackbits(self._words[nonzero].view(np.uint8)).reshape(-1, 64)
        words, offsets = np.nonzero(bits)
        return iter((nonzero[words] * 64 + offsets).tolist())

    def ids(self, start: int, stop: int) -> list[int]:
        """``list(self)[start:stop]`` (non-negative bounds), unpacking only the words that
        hold those ids: a page of a large set costs a popcount pass, not the whole list.

        >>> Bitmap.from_ids([3, 8, 70, 200]).ids(1, 3)
        [8, 70]
        """
        if start < 0 or stop < 0:
            raise ValueError(f"ids() takes non-negative bounds, got {start!r}, {stop!r}")
        ranks = np.cumsum(np.bitwise_count(self._words), dtype=np.int64)
        stop = min(stop, int(ranks[-1]) if ranks.size else 0)
        if start >= stop:
            return []
        # Words holding the ids ranked start and stop - 1.
        first = int(np.searchsorted(ranks, start, side="right"))
        last = int(np.searchsorted(ranks, stop - 1, side="right"))
        bits = np.unpackbits(self._words[first : last + 1].view(np.uint8))
        before = int(ranks[first - 1]) if first else 0
        found = np.flatnonzero(bits)[start - before : stop - before] + 64 * first
        return found.tolist()  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bitmap):
            return NotImplemented
        return self.to_redis_bytes() == other.to_redis_bytes()

    def __hash__(self) -> int:
        return hash(self.to_redis_bytes())

    def __repr__(self) -> str:
        count = len(self)
        head: list[int] = []
        for user_id in self:
            if len(head) == 5:
                break
            head.append(user_id)
        more = ", ..." if count > len(head) else ""
        return f"Bitmap({{{', '.join(map(str, head))}{more}}}, len={count})"
