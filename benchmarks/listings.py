"""Event listings on a real redis-server holding 300,000 distinct event names.

Run by hand (it starts and stops its own redis-server on a free loopback port)::

    .venv/bin/python benchmarks/listings.py
    .venv/bin/python benchmarks/listings.py --names 60000

The names (``feature:000000`` ...) are written raw, as another bitmapist writer would: one
``SETBIT`` per key through a redis-py pipeline, each name in its month, ISO week and day
(three keys a name), its day one of the last ``--days`` days, its user id below 1,000.

Printed for each page and API answer, through the Flask test client: the time of one
untraced request, the peak memory the process held during a second, traced one
(tracemalloc), the size of the answer, whether its listing read every key (it stops after
1 s or 1,000,000 keys and says so), and at the end the process's peak RSS. The answers:
the events page (``/bitmapist/``, its first page and a later one, a search), ``/bitmapist/
api/events``, the pickers' suggestions (``/bitmapist/api/events/names``) and the funnel page
with two steps chosen, whose event pickers no longer list every name.

It uses only the public facade and the URLs, so the same script measures an older checkout
too (``PYTHONPATH=/path/to/old/checkout .venv/bin/python benchmarks/listings.py
--untraced``: traced, its pages take minutes); a URL the older checkout lacks answers 404.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import redis
from flask import Flask

# Appended, not prepended: a PYTHONPATH naming an older checkout wins (see above).
sys.path.append(str(Path(__file__).resolve().parents[1]))

from flask_bitmapist import FlaskBitmapist
from tests.integration.servers import LocalRedisServer

NOW = datetime(2026, 12, 6, 13, 45, tzinfo=timezone.utc)
MiB = 2**20
WRITE_CHUNK = 3_000


def fill(client: redis.Redis, names: int, days: int) -> float:
    """Write ``names`` events raw, three keys each; the seconds it took."""
    started = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for index in range(names):
        day = (NOW - timedelta(days=index % days)).date()
        iso_year, iso_week, _ = day.isocalendar()
        name = f"feature:{index:06d}"
        for suffix in (
            f"{day.year}-{day.month}",
            f"W{iso_year}-{iso_week}",
            f"{day.year}-{day.month}-{day.day}",
        ):
            pipe.setbit(f"trackist_{name}_{suffix}", index % 1000, 1)
        if index % WRITE_CHUNK == WRITE_CHUNK - 1:
            pipe.execute()
    pipe.execute()
    return time.perf_counter() - started


def measure(app: Flask, url: str, *, traced: bool = True) -> str:
    """One table row: ``url``, its status, time, traced peak and answer size."""
    client = app.test_client()
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    peak = "-"
    if traced:
        tracemalloc.start()
        try:
            client.get(url)
            peak = f"{tracemalloc.get_traced_memory()[1] / MiB:,.1f} MiB"
        finally:
            tracemalloc.stop()
    return (
        f"| {url} | {response.status_code} | {elapsed:.2f} s | {peak} "
        f"| {len(response.data) / 1024:,.1f} KiB | {listing(response.data)} |"
    )


def listing(body: bytes) -> str:
    """How much of the keyspace the answer's listing read, as it says (- if it does not)."""
    if body.startswith(b"{"):
        data = json.loads(body)
        if "complete" in data:
            shown = "complete" if data["complete"] else "cut short"
            return f"{shown}, {data['keys_read']:,} keys read"
        return "-"
    return "cut short" if b"listing was cut short" in body else "-"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--names", type=int, default=300_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--untraced",
        action="store_true",
        help="skip the traced runs (an older checkout's pages take minutes traced)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bitmapist-listings-") as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        try:
            client = redis.Redis(host="127.0.0.1", port=server.port)
            written = fill(client, args.names, args.days)
            keys = client.dbsize()
            print(
                f"{args.names:,} event names ({keys:,} keys) written raw in {written:.1f} s "
                f"into redis-server {server.url}"
            )
            app = Flask("listings-bench")
            app.config.update(
                TESTING=True, BITMAPIST_REDIS_URL=server.url, BITMAPIST_SOCKET_TIMEOUT=120.0
            )
            FlaskBitmapist(app, clock=lambda: NOW)
            app.test_client().get("/bitmapist/api/events/names?q=warm")  # templates, imports
            middle = f"feature:{args.names // 2:06d}"
            urls = [
                "/bitmapist/",
                "/bitmapist/?page=100",
                f"/bitmapist/?q={middle}",
                "/bitmapist/api/events",
                "/bitmapist/api/events/names?q=feature:0012&limit=20",
                "/bitmapist/api/events/names?limit=20",
                "/bitmapist/funnel?step_event=feature:000000&step_event=feature:000001",
            ]
            print("| answer | status | time | peak (traced) | size | listing |")
            print("|---|---|---|---|---|---|")
            for url in urls:
                print(measure(app, url, traced=not args.untraced), flush=True)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"peak RSS of this process (filling included): {rss:,.0f} MiB")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
