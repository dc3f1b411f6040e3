"""What a time zone costs a mark: Mark.create and its target keys, UTC beside a zone.

Run by hand::

    .venv/bin/python benchmarks/timezone_marks.py                 # 50,000 marks
    .venv/bin/python benchmarks/timezone_marks.py --marks 200000 --zone Asia/Kathmandu

Each mark is checked (``Mark.create``, hourly) and its month, week, day and hour keys are
named (``targets``), as the in-process store does for every mark and the Redis writer
once per (zone, offset, local date, hour). The moments are 37 s apart, so they cross many
hours and days. Printed: marks per second (best of ``--repeat`` runs) for UTC, the
baseline, and for ``--zone`` in the same run, and their ratio. Target: the zone within
1.5x of UTC.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_bitmapist.domain import UTC, Mark


def marks_per_second(moments: list[datetime], zone: tzinfo, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for moment in moments:
            Mark.create("user:paid", 1, moment, hourly=True, zone=zone).targets()
        best = min(best, time.perf_counter() - started)
    return len(moments) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marks", type=int, default=50_000)
    parser.add_argument("--zone", default="America/Los_Angeles")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)  # across the spring clock change
    moments = [start + timedelta(seconds=37 * i) for i in range(args.marks)]
    in_utc = marks_per_second(moments, UTC, args.repeat)
    local = marks_per_second(moments, ZoneInfo(args.zone), args.repeat)
    print(f"{args.marks:,} marks, best of {args.repeat}")
    print(f"UTC (baseline)     {in_utc:>10,.0f} marks/s")
    print(f"{args.zone:<18} {local:>10,.0f} marks/s")
    print(f"ratio UTC / zone   {in_utc / local:>10.2f}x (target: at most 1.5x)")


if __name__ == "__main__":
    main()
