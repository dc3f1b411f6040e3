"""What counting a breakdown costs in numpy: the floor under a 20-group trend breakdown.

Run by hand (no server: the bitmaps are made in memory)::

    .venv/bin/python benchmarks/breakdown_counting.py
    .venv/bin/python benchmarks/breakdown_counting.py --users 200000 --repeat 5

A breakdown of a 30-day trend counts each day's users within each of 21 groups (20
values and everyone else): 630 intersections and counts of bitmaps of ``--users`` users.
The data: 30 day bitmaps with each user in with probability ``--density``, and 21 groups
that partition the users (user ``u`` in group ``min(u % 25, 20)``, so every group is
spread over every id, as a plan is). Timed, each the best of ``--repeat``:

- :meth:`UserGroups.count` as the answers call it (blocks of words of every group, each
  counted against every day while it is in cache);
- the three numpy passes one pair costs (AND into a scratch array, ``bitwise_count``, the
  sum), each on its own and in cache: their sum times 630 is the floor of any layout of
  the work in numpy;
- other layouts of the same work (a day against every group in one call, every day and
  group at once over blocks of 4,096 words, byte counts summed in lanes), checked to give
  the same counts;
- the plain trend's counting (30 popcounts), for scale.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_bitmapist.domain import Bitmap, UserGroups
from flask_bitmapist.domain.bitmap import popcount

T = TypeVar("T")
Words = npt.NDArray[np.uint64]
Counts = npt.NDArray[np.int64]
#: Rows added together in uint8 before a lane can overflow (31 x 8 bits <= 255).
_LANE_ROWS = 31


def best(function: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The best wall time of ``repeat`` calls of ``function`` (after one untimed), and its
    last result."""
    result = function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def packed(bits: npt.NDArray[np.bool_]) -> Words:
    """``bits`` as words in Redis's bit order (numpy's packbits, padded to whole words)."""
    data = np.packbits(bits).tobytes()
    return np.frombuffer(data + bytes(-len(data) % 8), dtype=np.uint64)


def per_day(days: Words, masks: Words) -> Counts:
    """Each day against every group in one call: a (groups, words) AND, count, sum."""
    counts = np.zeros((masks.shape[0], days.shape[0]), dtype=np.int64)
    scratch = np.empty_like(masks)
    for column, day in enumerate(days):
        np.bitwise_and(masks, day, out=scratch)
        counts[:, column] = popcount(scratch, axis=1)
    return counts


def blocked(days: Words, masks: Words, width: int = 4096) -> Counts:
    """Blocks of ``width`` words, every day against every group per block (3-D)."""
    groups, n_days, words = masks.shape[0], days.shape[0], days.shape[1]
    counts = np.zeros((groups, n_days), dtype=np.int64)
    scratch = np.empty((groups, n_days, width), dtype=np.uint64)
    for start in range(0, words, width):
        stop = min(words, start + width)
        part = scratch[:, :, : stop - start]
        np.bitwise_and(masks[:, np.newaxis, start:stop], days[np.newaxis, :, start:stop], out=part)
        counts += popcount(part, axis=2)
    return counts


def byte_lanes(days: Words, masks: Words) -> Counts:
    """Per pair: AND, then numpy's SIMD byte count, rows of byte counts added in uint8
    (31 at a time, so no lane overflows), then the short sum."""
    groups, words = masks.shape[0], days.shape[1]
    padded = -(-words // _LANE_ROWS) * _LANE_ROWS
    wide_masks = np.zeros((groups, padded), dtype=np.uint64)
    wide_masks[:, :words] = masks
    counts = np.zeros((groups, days.shape[0]), dtype=np.int64)
    scratch = np.empty(padded, dtype=np.uint64)
    lanes = np.empty(padded * 8 // _LANE_ROWS, dtype=np.uint8)
    day = np.zeros(padded, dtype=np.uint64)
    for column in range(days.shape[0]):
        day[:words] = days[column]
        for row in range(groups):
            np.bitwise_and(wide_masks[row], day, out=scratch)
            ones = np.bitwise_count(scratch.view(np.uint8))
            np.add.reduce(ones.reshape(_LANE_ROWS, -1), axis=0, out=lanes)
            counts[row, column] = int(np.add.reduce(lanes, dtype=np.uint32))
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=1_000_000, help="users (default 1,000,000)")
    parser.add_argument("--days", type=int, default=30, help="days of the trend (default 30)")
    parser.add_argument("--density", type=float, default=0.15, help="share of users a day")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per figure (best)")
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    days = np.stack([packed(rng.random(args.users) < args.density) for _ in range(args.days)])
    group_of = np.minimum(np.arange(args.users) % 25, 20)
    members = tuple(Bitmap(packed(group_of == g)) for g in range(20))
    groups = UserGroups(members)
    masks = groups.masks(days.shape[1])
    bitmaps = [Bitmap(day) for day in days]
    pairs = len(groups) * args.days
    print(
        f"{args.users:,} users, {args.days} days ({days.shape[1] * 8 / 1000:.0f} KB a bitmap), "
        f"{len(groups)} groups: {pairs} intersections and counts"
    )

    product, expected = best(lambda: groups.count(bitmaps), args.repeat)
    plain, _ = best(lambda: [len(bitmap) for bitmap in bitmaps], args.repeat)
    print(f"  UserGroups.count (the answers')   {product * 1000:7.2f} ms")
    print(f"  the plain trend's 30 counts       {plain * 1000:7.2f} ms  ({product / plain:.1f}x)")

    scratch = np.empty(days.shape[1], dtype=np.uint64)
    ones = np.empty(days.shape[1], dtype=np.uint8)
    and_time, _ = best(lambda: np.bitwise_and(masks[0], days[0], out=scratch), args.repeat * 50)
    count_time, _ = best(lambda: np.bitwise_count(scratch, out=ones), args.repeat * 50)
    sum_time, _ = best(lambda: np.add.reduce(ones, dtype=np.uint32), args.repeat * 50)
    per_pair = and_time + count_time + sum_time
    print(
        f"  one pair: AND {and_time * 1e6:.1f} us, bitwise_count {count_time * 1e6:.1f} us, "
        f"sum {sum_time * 1e6:.1f} us: {per_pair * 1e6:.1f} us, x {pairs} = "
        f"{per_pair * pairs * 1000:.2f} ms"
    )
    for label, layout in [
        ("a day against every group", per_day),
        ("blocks of 4,096 words", blocked),
        ("byte counts summed in lanes", byte_lanes),
    ]:
        taken, counts = best(functools.partial(layout, days, masks), args.repeat)
        same = "same counts" if np.array_equal(counts, expected) else "DIFFERENT COUNTS"
        print(f"  {label:<33} {taken * 1000:7.2f} ms  ({same})")


if __name__ == "__main__":
    main()
