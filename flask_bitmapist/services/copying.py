"""Copy a store into another (``flask bitmapist copy --to URL``): SQLite to Redis when an
app outgrows one file, Redis to SQLite for a local copy, and back.

Every bitmap the source lists is read in batches (memory stays bounded by a batch) and
merged into the target: users are added, none removed, so copying twice is copying once,
and marks the target receives meanwhile are kept. The id map, when there is one, is
copied first, int for int: a target whose map already gave those ints to other ids is
refused before any bitmap is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import attrs

from flask_bitmapist.domain import BitmapId, BitmapRepository, IdMapper, InvalidStorageConfig

__all__ = ["COPY_BATCH", "CopyReport", "copy_store"]

#: Bitmaps read per call to the source: a batch of daily bitmaps of 1,000,000 users holds
#: at most 100 x 125 KB in memory.
COPY_BATCH: Final = 100
_ID_BATCH: Final = 5_000


@attrs.frozen
class CopyReport:
    """What a copy wrote."""

    #: Bitmaps copied (those holding no user are skipped).
    bitmaps: int
    #: Users set over all those bitmaps.
    bits: int
    #: Ids copied into the target's id map.
    ids: int


def copy_store(
    source: BitmapRepository,
    target: BitmapRepository,
    *,
    source_ids: IdMapper | None = None,
    target_ids: IdMapper | None = None,
    stored: Sequence[BitmapId] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> CopyReport:
    """Merge every bitmap of ``source`` into ``target``, and ``source_ids`` (the id map)
    into ``target_ids``; ``stored`` is ``source.stored_ids()`` when the caller listed them
    already; ``on_progress(done, total)`` is called after each batch of bitmaps.

    Storage failures raise :class:`~flask_bitmapist.domain.StorageUnavailable` (what was
    merged stays merged: run the copy again).
    """
    ids = 0
    if source_ids is not None and source_ids.count():
        if target_ids is None:
            raise InvalidStorageConfig(
                "the source maps user ids (BITMAPIST_MAP_IDS) but the target has no id map"
            )
        ids = _copy_ids(source_ids, target_ids)
    if stored is None:
        stored = source.stored_ids()
    total, copied, bits = len(stored), 0, 0
    if on_progress is not None:
        on_progress(0, total)
    for start in range(0, total, COPY_BATCH):
        batch = stored[start : start + COPY_BATCH]
        pairs = [(i, b) for i, b in zip(batch, source.fetch(batch), strict=True) if b]
        target.merge(pairs)
        copied += len(pairs)
        bits += sum(len(bitmap) for _, bitmap in pairs)
        if on_progress is not None:
            on_progress(start + len(batch), total)
    return CopyReport(bitmaps=copied, bits=bits, ids=ids)


def _copy_ids(source: IdMapper, target: IdMapper) -> int:
    """Give the target's map the source's ids, int for int."""
    count = source.count()
    for start in range(0, count, _ID_BATCH):
        numbers = list(range(start, min(count, start + _ID_BATCH)))
        originals = source.originals(numbers)
        if any(original is None for original in originals):
            raise InvalidStorageConfig(
                f"the source's id map has gaps below {count}: it cannot be copied int for int"
            )
        wanted = [o for o in originals if o is not None]
        # Checked before writing: ids the target knows keep their ints, and new ones get
        # the next ints in order, so every id must already have its int or be next in line.
        found = target.find(wanted)
        following = target.count()
        new = [n for n, f in zip(numbers, found, strict=True) if f is None]
        known_differ = any(f is not None and f != n for n, f in zip(numbers, found, strict=True))
        if known_differ or new != list(range(following, following + len(new))):
            raise InvalidStorageConfig(
                "the target's id map gives other ints than the source's: copy into a store "
                "whose id map is empty or the same"
            )
        target.assign(wanted)
    return count
