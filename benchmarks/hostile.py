"""Hostile data: the heatmap page at 1000 x 20 hourly, and a cohort whose secondary holds
one huge id written by Doist's bitmapist.

Run by hand (it starts and stops its own redis-server on a free loopback port)::

    .venv/bin/python benchmarks/hostile.py
    .venv/bin/python benchmarks/hostile.py --huge-id 4294967295   # bitmapist's largest id

Printed, each beside its baseline from the same run:

- the heatmap page (``GET /bitmapist/cohort``, HTML) of an hourly cohort of 1000 rows x
  20 columns, beside the same cohort as JSON (``?json=1``): rendering must be linear in
  the cells, so the page should cost a small multiple of the JSON;
- a 10 x 10 daily cohort through ``get_cohort`` whose secondary event's bitmaps for today
  hold one user id ``--huge-id`` written by ``bitmapist.mark_event`` (512 MiB per key at
  2**32 - 1), beside the same cohort before that id was written: time, and the peak memory
  this process held (tracemalloc traces numpy and redis-py's replies); and the
  ``/bitmapist/api/events`` answer and ``get_event_data`` of that day with the huge key
  present.

It uses only the public facade, so the same script measures an older checkout too
(``PYTHONPATH=/path/to/old/checkout .venv/bin/python benchmarks/hostile.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import bitmapist
import redis
from flask import Flask

# Appended, not prepended: a PYTHONPATH naming an older checkout wins (see above).
sys.path.append(str(Path(__file__).resolve().parents[1]))

from flask_bitmapist import FlaskBitmapist, current_state, get_cohort, get_event_data
from flask_bitmapist.domain import Mark
from tests.integration.servers import LocalRedisServer

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)
MiB = 2**20


def app_on(url: str, **config: object) -> Flask:
    app = Flask("hostile-bench")
    app.config.update(
        TESTING=True, BITMAPIST_REDIS_URL=url, BITMAPIST_SOCKET_TIMEOUT=60.0, **config
    )
    FlaskBitmapist(app, clock=lambda: NOW)
    return app


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    """``action()``'s result and the seconds it took (untraced: tracing slows Python)."""
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def measured(action: Callable[[], Any]) -> tuple[Any, float, float]:
    """``action()``'s result, seconds taken (one untraced run) and the peak memory in MiB
    this process held during a second, traced, run."""
    result, elapsed = timed(action)
    tracemalloc.start()
    try:
        action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, elapsed, peak / MiB


def heatmap(rows: int, cols: int) -> None:
    app = app_on("memory://", BITMAPIST_TRACK_HOURLY=True)
    with app.app_context():
        marks = []
        for row in range(rows):
            moment = NOW - timedelta(hours=row)
            for user in range(row * 3, row * 3 + 6):
                marks.append(Mark.create("signed_up", user, moment, hourly=True))
                for later in range(0, min(row, cols), 3):
                    back = moment + timedelta(hours=later)
                    marks.append(Mark.create("came_back", user, back, hourly=True))
        current_state().repository.mark(marks)
    client = app.test_client()
    query = (
        f"/bitmapist/cohort?primary=signed_up&secondary=came_back&time_group=hour"
        f"&rows={rows}&cols={cols}&mode=recurring"
    )
    client.get(query + "&json=1")  # warm: templates, first imports
    page, page_time = timed(lambda: client.get(query))
    json, json_time = timed(lambda: client.get(query + "&json=1"))
    assert page.status_code == json.status_code == 200, (page.status_code, json.status_code)
    print(
        f"heatmap page, hourly {rows} x {cols}: {page_time * 1000:,.0f} ms for "
        f"{len(page.data) / MiB:.1f} MiB of HTML; the same cohort as JSON "
        f"{json_time * 1000:,.0f} ms; page / JSON = {page_time / json_time:.1f}x"
    )


def huge_secondary(url: str, port: int, huge_id: int) -> None:
    app = app_on(url)
    with app.app_context():
        for day in range(18, 28):
            for user in range(200):
                moment = NOW.replace(day=day)
                uid = day * 1000 + user
                current_state().repository.mark(
                    [Mark.create("signed_up", uid, moment), Mark.create("came_back", uid, moment)]
                )

        def cohort() -> Any:
            return get_cohort("signed_up", "came_back", time_group="days", num_rows=10, num_cols=10)

        cohort()  # warm
        clean, clean_time, clean_peak = measured(cohort)
        bitmapist.setup_redis("bench", "127.0.0.1", port, socket_timeout=120)
        started = time.perf_counter()
        bitmapist.mark_event("came_back", huge_id, now=NOW.replace(tzinfo=None), system="bench")
        written = time.perf_counter() - started
        size = int(redis.Redis(port=port).strlen("trackist_came_back_2026-11-27"))  # type: ignore[arg-type]
        print(
            f"bitmapist.mark_event('came_back', {huge_id}): {written:.2f} s; today's key is "
            f"now {size / MiB:,.1f} MiB (as are its week and month)"
        )
        try:
            hostile, hostile_time, hostile_peak = measured(cohort)
        except Exception as exc:  # the figure to report is the failure itself
            print(f"10 x 10 daily cohort with the huge id: failed with {exc!r}")
        else:
            same = "same cells" if hostile[0] == clean[0] else "CELLS DIFFER"
            print(
                f"10 x 10 daily cohort: {clean_time * 1000:,.1f} ms, peak {clean_peak:,.1f} MiB "
                f"without the huge id; with it {hostile_time * 1000:,.1f} ms, peak "
                f"{hostile_peak:,.1f} MiB ({same}); ratio time "
                f"{hostile_time / clean_time:.1f}x, memory {hostile_peak / clean_peak:.1f}x"
            )
        users, users_time, users_peak = measured(lambda: len(get_event_data("came_back", "days")))
        print(
            f"get_event_data('came_back', 'days') with the huge key: {users} users in "
            f"{users_time * 1000:,.0f} ms, peak {users_peak:,.1f} MiB"
        )
    client = app.test_client()
    response, events_time, events_peak = measured(lambda: client.get("/bitmapist/api/events"))
    print(
        f"/bitmapist/api/events with the huge key: {response.status_code} in "
        f"{events_time * 1000:,.0f} ms, peak {events_peak:,.1f} MiB"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--huge-id", type=int, default=2**32 - 1, help="default 2**32 - 1")
    args = parser.parse_args(argv)
    heatmap(args.rows, args.cols)
    with tempfile.TemporaryDirectory(prefix="bitmapist-hostile-") as workdir:
        server = LocalRedisServer(Path(workdir))
        server.start()
        try:
            huge_secondary(server.url, server.port, args.huge_id)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
