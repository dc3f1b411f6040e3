"""What a buffered mark costs in memory: the source of the replay buffer's figures in
docs/reliability.md and docs/configuration.md.

Run by hand (no Redis needed)::

    .venv/bin/python benchmarks/replay_buffer_memory.py
    .venv/bin/python benchmarks/replay_buffer_memory.py --marks 600000 --mapped

Fills a :class:`~flask_bitmapist.services.replay.ReplayBuffer` with ``--marks`` marks as
``mark_event`` makes them (the default marking policy: day, ISO week and month bitmaps;
every mark a new user of one of a few events, as in an outage) and prints the bytes per
mark two ways: Python's own allocations (``tracemalloc``: the marks, their bitmap ids,
the buffer's entries) and the process's resident memory (RSS, which adds the allocator's
overhead and is what a host sees). The full default buffer is the RSS figure times
``DEFAULT_REPLAY_BUFFER``. ``tests/unit/services/test_replay_buffer_memory.py`` holds the
documented figure to the ``tracemalloc`` measure.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_bitmapist.services.marking import MarkingPolicy, PendingMark
from flask_bitmapist.services.replay import DEFAULT_REPLAY_BUFFER, ReplayBuffer

EVENTS = ("user:paid", "page:view", "user:login", "cart:add")
START = datetime(2026, 11, 27, 13, 5, tzinfo=timezone.utc)


def outage_marks(count: int, *, mapped: bool = False) -> list[PendingMark]:
    """``count`` marks as an outage buffers them: new users, a few events, a second apart."""
    policy = MarkingPolicy(map_ids=mapped)
    return [
        policy.pending(
            EVENTS[n % len(EVENTS)],
            f"user-{n}" if mapped else n,
            START + timedelta(seconds=n),
        )
        for n in range(count)
    ]


def traced_bytes_per_mark(count: int, *, mapped: bool = False) -> float:
    """Python's allocations for ``count`` marks made and buffered, per mark."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        buffer = ReplayBuffer(count)
        buffer.add(outage_marks(count, mapped=mapped), unmark=False)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(buffer) == count
    return (after - before) / count


def rss_bytes() -> int:
    """This process's resident memory now (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    import resource

    return pages * resource.getpagesize()


def rss_bytes_per_mark(count: int, *, mapped: bool = False) -> float:
    """The growth of resident memory for ``count`` marks made and buffered, per mark."""
    gc.collect()
    before = rss_bytes()
    buffer = ReplayBuffer(count)
    buffer.add(outage_marks(count, mapped=mapped), unmark=False)
    after = rss_bytes()
    assert len(buffer) == count
    return (after - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--marks", type=int, default=DEFAULT_REPLAY_BUFFER)
    parser.add_argument("--mapped", action="store_true", help="str user ids (map_ids)")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {args.marks:,} marks, mapped ids: {args.mapped}")
    rss = rss_bytes_per_mark(args.marks, mapped=args.mapped)  # first: a fresh heap
    traced = traced_bytes_per_mark(args.marks, mapped=args.mapped)
    full = DEFAULT_REPLAY_BUFFER
    print(f"tracemalloc: {traced:,.0f} bytes a mark ({traced * full / 1e6:.1f} MB for {full:,})")
    print(f"RSS:         {rss:,.0f} bytes a mark ({rss * full / 1e6:.1f} MB for {full:,})")


if __name__ == "__main__":
    main()
