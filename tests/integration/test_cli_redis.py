"""The ``flask bitmapist`` commands on a real redis-server and a real Redis Cluster."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import redis
from click.testing import Result
from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state, get_event_data, mark_event
from tests.integration.servers import find_free_port

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
COHORT = [
    "cohort", "user:created", "user:logged_in", "--and", "user:paid", "--or", "user:refunded",
    "--time-group", "weeks", "--rows", "6", "--cols", "6", "--mode", "recurring",
    "--format", "json",
]  # fmt: skip


def app_on(url: str, *, cluster: bool = False, **config: object) -> Flask:
    """An app whose storage is ``url`` and whose clock says NOW."""
    app = Flask("cli-redis")
    app.config.update(BITMAPIST_REDIS_URL=url, BITMAPIST_REDIS_CLUSTER=cluster, **config)
    FlaskBitmapist(app, clock=lambda: NOW)
    return app


def run(url: str, *args: str, cluster: bool = False, **config: object) -> Result:
    """Run ``flask bitmapist ARGS`` for an app whose storage is ``url``, at NOW."""
    app = app_on(url, cluster=cluster, **config)
    return app.test_cli_runner().invoke(args=["bitmapist", *args])


def run_json(url: str, *args: str, cluster: bool = False) -> Any:
    result = run(url, *args, cluster=cluster)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def on_memory(*commands: list[str]) -> Any:
    """Run ``commands`` in one app on the in-process store; the last one's JSON output."""
    app = Flask("cli-memory")
    app.config.update(BITMAPIST_REDIS_URL="memory://")
    FlaskBitmapist(app, clock=lambda: NOW)
    runner = app.test_cli_runner()
    results = [runner.invoke(args=["bitmapist", *command]) for command in commands]
    assert all(r.exit_code in (0, 1) for r in results), [r.output for r in results]
    return json.loads(results[-1].stdout)


def test_demo_data_in_redis_gives_the_same_events_and_cohorts_as_in_memory(
    redis_url: str,
) -> None:
    demo = ["demo-data", "--days", "60", "--users", "2000", "--yes"]
    assert run(redis_url, *demo).exit_code == 0
    events = ["events", "--format", "json"]
    assert run_json(redis_url, *events) == on_memory(demo, events)
    assert run_json(redis_url, *COHORT) == on_memory(demo, COHORT)


def test_import_writes_bitmapist_keys_and_skips_bad_rows(redis_url: str, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,event,timestamp\n"
        "3,user:paid,2026-11-27T10:00:00Z\n"
        "x,user:paid,2026-11-27T10:00:00Z\n"
        "9,user:paid,2026-11-27T11:00:00Z\n"
    )
    result = run(redis_url, "import", str(path))
    assert result.exit_code == 1
    assert "skipped line 3: user id must be an int, got 'x' (str)" in result.stderr
    with redis.Redis.from_url(redis_url) as client:
        day = "trackist_user:paid_2026-11-27"
        assert [client.getbit(day, uid) for uid in (3, 9, 4)] == [1, 1, 0]
        assert sorted(client.keys("trackist_*")) == [
            b"trackist_user:paid_2026-11",
            b"trackist_user:paid_2026-11-27",
            b"trackist_user:paid_W2026-48",
        ]


def test_import_with_mapped_ids_maps_each_chunk_and_agrees_with_live_marks(
    redis_url: str, tmp_path: Path
) -> None:
    alice = "6f1c2d9e-8a43-4b1f-9c55-2e7d0b3a9f10"
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,event,timestamp\n"
        f"{alice},user:paid,2026-11-27T10:00:00Z\n"  # 2
        "bob@example.com,user:paid,2026-11-27T10:00:00Z\n"  # 3
        ",user:paid,2026-11-27T10:00:00Z\n"  # 4: no id
        "42,user:paid,2026-11-27T11:00:00Z\n"  # 5
        f"{alice},user:paid,2026-11-26T09:00:00Z\n"  # 6: alice again, in another chunk
    )
    result = run(redis_url, "import", str(path), "--chunk-size", "2", BITMAPIST_MAP_IDS=True)
    assert result.exit_code == 1, result.output
    assert "skipped line 4: user id must not be an empty str" in result.stderr
    assert "Imported 4 of 5 rows" in result.stdout
    with redis.Redis.from_url(redis_url) as client:
        assert client.hgetall("{trackist_ids}:int") == {
            alice.encode(): b"0",
            b"bob@example.com": b"1",
            b"42": b"2",
        }
        day = "trackist_user:paid_2026-11-27"
        assert [client.getbit(day, n) for n in range(4)] == [1, 1, 1, 0]
        assert client.getbit("trackist_user:paid_2026-11-26", 0) == 1
    app = app_on(redis_url, BITMAPIST_MAP_IDS=True)
    with app.app_context():
        mark_event("user:refunded", uuid.UUID(alice))
        mark_event("user:refunded", 42)
        assert list(get_event_data("user:paid")) == [alice, "bob@example.com", 42]
        assert list(get_event_data("user:paid", "weeks")) == [alice, "bob@example.com", 42]
        assert list(get_event_data("user:refunded")) == [alice, 42]
        mapper = current_state().id_mapper
        assert mapper is not None
        assert mapper.count() == 3


def test_a_server_that_does_not_answer_is_a_clear_error(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{find_free_port()}/0"
    for args in (["events"], ["cohort", "a", "b"], ["demo-data", "--yes", "--users", "5"]):
        result = run(url, *args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert f"Error: storage at {url} is unavailable" in result.output
    path = tmp_path / "events.csv"
    path.write_text("user_id,event,timestamp\n1,a,2026-11-27\n")
    result = run(url, "import", str(path))
    assert result.exit_code == 1
    assert "Imported 0 rows before it failed" in result.output


def test_demo_data_and_cohorts_on_a_redis_cluster(redis_cluster_url: str) -> None:
    demo = ["demo-data", "--days", "30", "--users", "500", "--yes"]
    assert run(redis_cluster_url, *demo, cluster=True).exit_code == 0
    assert run_json(redis_cluster_url, *COHORT, cluster=True) == on_memory(demo, COHORT)
