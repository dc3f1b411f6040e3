"""Segments on answers (DESIGN section 13) on a real redis-server: what a ``segment=`` filter
and a 20-group ``breakdown=`` cost beside the plain answer, through the answer pipeline.

Run by hand (it starts and stops its own redis-server on a free loopback port)::

    .venv/bin/python benchmarks/segment_answers.py                 # 1,000,000 users
    .venv/bin/python benchmarks/segment_answers.py --users 200000 --repeat 3

The data set is the answers benchmark's (``_synthetic``, 90 days). Every user gets a
``plan`` among 25 values (user ``u``: ``p{u % 25}``, so a breakdown has 20 groups and the
group of everyone else); the saved cohort ``half`` holds the even users. Timed: a 30-day
trend of ``active`` and a 12 x 12 weekly cohort (``signup`` then ``active``), each plain,
with ``segment="half"`` and with ``breakdown="plan"``, the three in turn ``--repeat``
times (so a drift in the machine's speed moves all three), each figure a median. Targets:
a filter adds at most 20%, a 20-group breakdown takes at most 3x the plain answer.
``benchmarks/answers.py`` runs the same timings (:func:`time_segments`) on its 90-day
data, after its own cases.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timezone
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._synthetic import NOW, generate
from benchmarks.cohort import load, timed_alternately
from flask_bitmapist.domain import Bitmap, PropertyValue
from flask_bitmapist.infra import RedisRepository
from flask_bitmapist.services.answers import KINDS, Answers
from flask_bitmapist.services.segments import save_cohort, write_properties
from tests.integration.servers import LocalRedisServer

#: The requests timed: a 30-day trend and a 12 x 12 weekly cohort.
REQUESTS: dict[str, tuple[str, dict[str, object]]] = {
    "trend, 30 days": ("trend", {"expr": "active", "periods": 30}),
    "cohort, 12 x 12 weeks": (
        "cohort",
        {"primary": "signup", "secondary": "active", "time_group": "week", "rows": 12, "cols": 12},
    ),
}


#: The targets: a segment adds at most 20%, a 20-group breakdown takes at most 3x.
SEGMENT_TARGET = 1.2
BREAKDOWN_TARGET = 3.0


def time_segments(repository: RedisRepository, users: int, repeat: int) -> list[float]:
    """Give the ``users`` users of the loaded data set their plan and save the cohort
    ``half``, then time :data:`REQUESTS` plain, with the segment and broken down; print a
    line per request. Returns the ratios to the plain answer: segment, breakdown, for each
    request in turn."""
    started = time.perf_counter()
    write_properties(
        repository, ((u, "plan", f"p{u % 25}") for u in range(users)), max_user_id=users
    )
    save_cohort(repository, "half", Bitmap.from_ids(range(0, users, 2)))
    print(
        f"a plan of 25 values and the cohort 'half' (even ids) written in "
        f"{time.perf_counter() - started:.1f} s"
    )
    answers = Answers(
        repository,
        kinds=KINDS,
        zone=timezone.utc,
        clock=lambda: NOW,
        max_user_id=users,
        max_cells=10_000,
    )
    values = [PropertyValue("plan", f"p{v}") for v in range(25)]
    limit = users // 8 + 1
    counting, reading = timed_alternately(
        [
            lambda: repository.count_user_sets(values, max_bytes=limit),
            lambda: repository.fetch_user_sets(values, max_bytes=limit),
        ],
        repeat,
    )
    print(
        f"the plan's 25 value sets: counted on the server in {counting * 1000:.1f} ms, read "
        f"in {reading * 1000:.1f} ms ({counting / reading:.2f}x): a breakdown counts its "
        "values first only past twice its cap of groups"
    )
    ratios: list[float] = []
    for label, (kind, fields) in REQUESTS.items():

        def plain_answer(k: str = kind, f: dict[str, object] = fields) -> object:
            return answers.answer(k, f, warn=False)

        def segment_answer(k: str = kind, f: dict[str, object] = fields) -> object:
            return answers.answer(k, f, segment="half", warn=False)

        def broken_down(k: str = kind, f: dict[str, object] = fields) -> object:
            return answers.breakdown(k, f, breakdown="plan", warn=False)

        plain, segment, breakdown = timed_alternately(
            [plain_answer, segment_answer, broken_down], repeat
        )
        groups = answers.breakdown(kind, fields, breakdown="plan", warn=False).groups
        print(
            f"{label}: plain {plain * 1000:.1f} ms; segment 'half' "
            f"{segment * 1000:.1f} ms ({segment / plain:.2f}x, target {SEGMENT_TARGET:.2f}x); "
            f"breakdown by plan, {len(groups) - 1} groups + everyone else, "
            f"{breakdown * 1000:.1f} ms ({breakdown / plain:.2f}x, target "
            f"{BREAKDOWN_TARGET:.0f}x)"
        )
        ratios += [segment / plain, breakdown / plain]
    return ratios


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=1_000_000, help="users (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bitmapist-segments-") as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        client = redis.Redis.from_url(server.url, socket_timeout=60)
        repository = RedisRepository.from_url(server.url, socket_timeout=60)
        try:
            started = time.perf_counter()
            loaded = load(client, generate(args.users, args.seed, 90))
            print(
                f"{args.users:,} users, 90 days: {loaded / 1e6:.0f} MB of events in "
                f"{time.perf_counter() - started:.1f} s"
            )
            time_segments(repository, args.users, args.repeat)
        finally:
            repository.close()
            client.close()
            server.stop()


if __name__ == "__main__":
    main()
