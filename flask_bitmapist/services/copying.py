"""Copy a store into another (``flask bitmapist copy --to URL``): SQLite to Redis when an
app outgrows one file, Redis to SQLite for a local copy, and back.

Every bitmap the source lists is read in batches (memory stays bounded by a batch) and
merged into the target: users are added, none removed, so copying twice is copying once,
and marks the target receives meanwhile are kept. The id map, when there is one, is
copied first, int for int: a target whose map already gave those ints to other ids is
refused before any bitmap is written.

Properties and saved cohorts (DESIGN section 13) follow the bitmaps: each user of a
source's property value is given that value in the target (their value there, if any,
is replaced; users the source does not hold keep theirs), and each saved cohort replaces
the target's cohort of its name. Copying twice is still copying once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Final

import attrs
import numpy as np

from flask_bitmapist.domain import (
    MARK_CHUNK_SIZE,
    Bitmap,
    BitmapId,
    BitmapRepository,
    IdMapper,
    InvalidStorageConfig,
    TooManyPropertyValues,
)
from flask_bitmapist.domain.segments import (
    DEFAULT_MAX_PROPERTY_VALUES,
    PropertyAssignment,
    PropertyValue,
    SavedCohort,
    too_many_values,
)

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
    #: Property values copied (``plan=pro``), and the users given them.
    property_values: int = 0
    property_users: int = 0
    #: Saved cohorts copied.
    cohorts: int = 0


def copy_store(
    source: BitmapRepository,
    target: BitmapRepository,
    *,
    source_ids: IdMapper | None = None,
    target_ids: IdMapper | None = None,
    stored: Sequence[BitmapId] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    max_values: int = DEFAULT_MAX_PROPERTY_VALUES,
) -> CopyReport:
    """Merge every bitmap of ``source`` into ``target``, and ``source_ids`` (the id map)
    into ``target_ids``, then copy its properties and saved cohorts; ``stored`` is
    ``source.stored_ids()`` when the caller listed them already; ``on_progress(done,
    total)`` is called after each batch of bitmaps.

    Storage failures raise :class:`~flask_bitmapist.domain.StorageUnavailable` (what was
    merged stays merged: run the copy again). A property value the target refuses (it
    holds ``max_values`` others already) raises
    :class:`~flask_bitmapist.domain.TooManyPropertyValues` once the rest is copied.
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
    values, users, refused = _copy_properties(source, target, max_values)
    cohorts = _copy_cohorts(source, target)
    if refused is not None:
        raise refused
    return CopyReport(
        bitmaps=copied,
        bits=bits,
        ids=ids,
        property_values=values,
        property_users=users,
        cohorts=cohorts,
    )


def _copy_properties(
    source: BitmapRepository, target: BitmapRepository, max_values: int
) -> tuple[int, int, TooManyPropertyValues | None]:
    """Give each user of each source value that value in the target, one value at a time
    (its users read in one call, written ``MARK_CHUNK_SIZE`` at a time); the values and
    users copied, and the first refusal."""
    try:
        properties = source.property_values()
    except NotImplementedError:
        return 0, 0, None  # a store without properties has none to copy
    copied, users, refused = 0, 0, None
    for name in sorted(properties):
        for value in sorted(properties[name]):
            (holders,) = source.fetch_user_sets([PropertyValue(name, value)])
            for chunk in _ids_in_chunks(holders, MARK_CHUNK_SIZE):
                assignments = [PropertyAssignment(user_id, name, value) for user_id in chunk]
                positions = target.set_properties(assignments, max_values=max_values)
                if positions and refused is None:
                    refused = too_many_values(assignments[positions[0]], max_values)
                users += len(assignments) - len(positions)
            copied += 1
    return copied, users, refused


def _ids_in_chunks(bitmap: Bitmap, size: int) -> Iterator[list[int]]:
    """The ids of ``bitmap`` in order, at most ``size`` at a time, unpacking one slice of
    its words at a time (a value of millions of users never becomes one list)."""
    words = bitmap.words
    step = max(1, size // 64)
    for start in range(0, words.size, step):
        part = words[start : start + step]
        if part.any():
            bits = np.unpackbits(part.view(np.uint8))
            yield (np.flatnonzero(bits) + 64 * start).tolist()


def _copy_cohorts(source: BitmapRepository, target: BitmapRepository) -> int:
    """Save each source cohort in the target under its name; how many."""
    try:
        names = source.cohort_names()
    except NotImplementedError:
        return 0
    for name in sorted(names):
        (users,) = source.fetch_user_sets([SavedCohort(name)])
        target.save_cohort(name, users)
    return len(names)


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
