"""The cohort engine in process, beside the obvious hand-written numpy loop.

Run by hand::

    .venv/bin/python benchmarks/engine.py                  # 1,000,000 users
    .venv/bin/python benchmarks/engine.py --users 10000000 --repeat 10

The data, built with numpy straight into bitmaps (no storage, no marks): ``--users`` users
signing up over 60 days, ids growing with the signup day (as auto-increment ids do),
activity decaying with the days since signup, a paying subset, rare refunds. A repository
that hands out these prebuilt bitmaps stands in for storage, so the figures are the
engine's own work: batch lookup, expression evaluation and the cohort table.

Printed: a 30 x 30 daily cohort of ``signup`` against the 0.1 chain
``active and paid or refunded`` (= ``active & (paid | refunded)``), recurring mode, median
and min of ``--repeat`` runs, beside a reference loop over the same bitmaps in the same run
(for each cell, numpy AND and bitwise_count over full-width word arrays, the chain
precomputed once per period); totals and cells are asserted equal. Then first_return and
cumulative for information. Targets: the engine within 1.5x of the reference, and under
20 ms median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._synthetic import DAYS, EVENTS, NOW, Packed, day_periods
from benchmarks._synthetic import generate as synthetic
from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    BitmapRepository,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    Mark,
    Period,
    TimeGroup,
    parse_chain,
)

ROWS = COLS = 30
CHAIN = [{"name": "paid", "op": "and"}, {"name": "refunded", "op": "or"}]
RATIO_TARGET = 1.5
MEDIAN_TARGET_MS = 20.0
MEDIAN_TARGET_USERS = 1_000_000  # the median target is set for this many users

Words = npt.NDArray[np.uint64]
Cells = tuple[tuple[int | None, ...], ...]
T = TypeVar("T")


# -- data ----------------------------------------------------------------------------


def to_bitmap(packed: Packed) -> Bitmap:
    """A packed user array as a Bitmap: numpy.packbits writes Redis's bit order."""
    return Bitmap.from_redis_bytes(packed.tobytes())


def generate(users: int, seed: int) -> dict[BitmapId, Bitmap]:
    """Every event's bitmap for each of the 60 days."""
    periods = day_periods()
    return {
        BitmapId(event, period): to_bitmap(packed)
        for event, days in synthetic(users, seed).items()
        for period, packed in zip(periods, days, strict=True)
    }


class PrebuiltRepository(BitmapRepository):
    """Hands out bitmaps built beforehand: storage costs nothing, only the engine is timed."""

    def __init__(self, bitmaps: dict[BitmapId, Bitmap]) -> None:
        self.bitmaps = bitmaps

    def mark(self, marks: Iterable[Mark]) -> None:
        raise NotImplementedError("the benchmark's data is prebuilt")

    def unmark(self, marks: Iterable[Mark]) -> None:
        raise NotImplementedError("the benchmark's data is prebuilt")

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        found = [self.bitmaps.get(i, Bitmap()) for i in ids]
        if max_bytes is None:
            return found
        # Whole words past the bound cost nothing to keep: a view, no copy.
        return [Bitmap(b.words[: -(-max_bytes // 8)]) for b in found]

    def event_names(self) -> frozenset[str]:
        return frozenset(i.event for i in self.bitmaps)


# -- the reference loop ------------------------------------------------------------------


def reference_recurring(
    bitmaps: dict[BitmapId, Bitmap], users: int
) -> tuple[tuple[int, ...], Cells]:
    """The 30 x 30 recurring cohort's totals and cells, written the obvious way over
    full-width word arrays."""
    width = (users + 63) // 64
    periods = day_periods()[-ROWS:]

    def words(event: str, period: Period) -> Words:
        # The same bitmaps, widened once to a common length.
        return bitmaps[BitmapId(event, period)].padded(width).words

    primary = [words("signup", p) for p in periods]
    # active & (paid | refunded), once per period.
    secondary = [words("active", p) & (words("paid", p) | words("refunded", p)) for p in periods]
    totals: list[int] = []
    cells: list[tuple[int | None, ...]] = []
    for i in range(ROWS):
        totals.append(int(np.bitwise_count(primary[i]).sum()))
        if not totals[-1]:
            cells.append((None,) * COLS)
            continue
        row: list[int | None] = []
        for j in range(COLS):
            if i + j >= ROWS:
                row.append(None)
            else:
                row.append(int(np.bitwise_count(primary[i] & secondary[i + j]).sum()))
        cells.append(tuple(row))
    return tuple(totals), tuple(cells)


# -- timing ------------------------------------------------------------------------------


def timed(function: Callable[[], T], repeat: int) -> tuple[list[float], T]:
    """Wall times in ms of ``repeat`` runs after one warm-up run, and the last result."""
    result = function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return times, result


def figures(times: list[float]) -> str:
    return f"median {statistics.median(times):7.2f} ms   min {min(times):7.2f} ms"


def spec_for(mode: CohortMode) -> CohortSpec:
    return CohortSpec.create(
        EventRef("signup"),
        parse_chain("active", CHAIN),
        now=NOW,
        time_group=TimeGroup.DAY,
        rows=ROWS,
        cols=COLS,
        mode=mode,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=1_000_000, help="users (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per figure")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    bitmaps = generate(args.users, args.seed)
    print(
        f"{args.users:,} users, {DAYS} days, events {', '.join(EVENTS)}: bitmaps built in "
        f"{time.perf_counter() - started:.1f} s (not timed below)"
    )
    engine = CohortEngine(PrebuiltRepository(bitmaps))
    print(
        f"30 x 30 daily cohort, signup -> active and paid or refunded, "
        f"{args.repeat} runs after a warm-up:"
    )

    engine_times, cohort = timed(
        partial(engine.compute, spec_for(CohortMode.RECURRING)), args.repeat
    )
    reference_times, reference = timed(
        lambda: reference_recurring(bitmaps, args.users), args.repeat
    )
    if (cohort.totals, cohort.cells) != reference:
        raise SystemExit("the engine and the reference loop disagree on the recurring cohort")
    ratio = statistics.median(engine_times) / statistics.median(reference_times)
    median = statistics.median(engine_times)
    print(f"  recurring, engine           {figures(engine_times)}")
    print(f"  recurring, reference loop   {figures(reference_times)}   (totals and cells equal)")
    print(
        f"  engine / reference          {ratio:7.2f} x "
        f"({'meets' if ratio <= RATIO_TARGET else 'MISSES'} target <= {RATIO_TARGET} x)"
    )
    if args.users == MEDIAN_TARGET_USERS:
        verdict = "meets" if median < MEDIAN_TARGET_MS else "MISSES"
        print(f"  engine median {median:.2f} ms {verdict} target < {MEDIAN_TARGET_MS:.0f} ms")
    for mode in (CohortMode.FIRST_RETURN, CohortMode.CUMULATIVE):
        times, _ = timed(partial(engine.compute, spec_for(mode)), args.repeat)
        print(f"  {mode.value + ', engine':<28}{figures(times)}   (for information)")
    sample = cohort.cells[0][:5]
    print(f"  first row, recurring: total {cohort.totals[0]:,}, cells {sample} ...")


if __name__ == "__main__":
    main()
