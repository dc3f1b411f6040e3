"""Run a command, print how long it took, and keep the figure for ``make test``'s summary.

    python3 tools/timed.py "pytest (.venv)" .venv/bin/pytest -q
    python3 tools/timed.py --summary     # every figure kept since the last --reset
    python3 tools/timed.py --reset

Figures go to build/timings.txt, one ``seconds<TAB>label<TAB>status`` line per command.
Standard library only: it runs before any virtualenv exists.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

TIMINGS = Path("build/timings.txt")


def run(label: str, command: list[str]) -> int:
    """Run ``command``; record and print its wall-clock time; return its exit status."""
    started = time.monotonic()
    status = subprocess.call(command)
    seconds = time.monotonic() - started
    TIMINGS.parent.mkdir(exist_ok=True)
    with TIMINGS.open("a") as timings:
        timings.write(f"{seconds:.1f}\t{label}\t{'ok' if status == 0 else 'failed'}\n")
    print(f"== {label}: {seconds:.1f} s{'' if status == 0 else ' (failed)'}", flush=True)
    return status


def summary() -> None:
    """Print every recorded figure and their total."""
    lines = TIMINGS.read_text().splitlines() if TIMINGS.exists() else []
    rows = [line.split("\t") for line in lines if line]
    width = max((len(label) for _, label, _ in rows), default=0)
    print("== timings")
    for seconds, label, status in rows:
        print(f"   {label:<{width}}  {float(seconds):7.1f} s  {status}")
    total = sum(float(seconds) for seconds, _, _ in rows)
    print(f"   {'total':<{width}}  {total:7.1f} s")


def main(argv: list[str]) -> int:
    if argv == ["--reset"]:
        TIMINGS.unlink(missing_ok=True)
        return 0
    if argv == ["--summary"]:
        summary()
        return 0
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
