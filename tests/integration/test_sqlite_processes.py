"""The SQLite store shared by processes: gunicorn workers marking into one file lose no
mark, a writer killed mid-write leaves the file readable, and a copy SQLite -> a real
redis-server -> SQLite gives back every bitmap."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state
from flask_bitmapist.domain import BitmapId, Mark, Period, TimeGroup
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from tests.integration.servers import find_free_port
from tests.integration.sqlite_processes import MOMENT

ROOT = Path(__file__).resolve().parents[2]
DAY = BitmapId("load", Period.containing(TimeGroup.DAY, MOMENT))
REQUESTS = 1_200


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Four gunicorn workers on a free loopback port, marking into one file; stopped
    (SIGTERM, then waited for) after the test."""
    path = tmp_path / "shared.db"
    port = find_free_port()
    command = [str(Path(sys.executable).with_name("gunicorn")), "--workers", "4"]
    command += ["--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--graceful-timeout", "10"]
    server = subprocess.Popen(
        [*command, "tests.integration.sqlite_processes:create_app()"],
        env={**os.environ, "SQLITE_STORE_URL": f"sqlite:///{path}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):  # up to about 30 s to boot on a busy machine
            if server.poll() is not None:
                assert server.stderr is not None
                pytest.fail(f"gunicorn exited: {server.stderr.read().decode()[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/", timeout=1)
            except urllib.error.HTTPError:
                break  # it answers (404 for /)
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer within 30 s")
        yield url, path
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()


def test_four_gunicorn_workers_marking_into_one_file_lose_no_mark(
    gunicorn: tuple[str, Path],
) -> None:
    url, path = gunicorn

    def post(user: int) -> str:
        request = urllib.request.Request(f"{url}/mark/{user}", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(response.read().decode())

    with ThreadPoolExecutor(max_workers=8) as pool:
        pids = set(pool.map(post, range(REQUESTS)))
    assert len(pids) >= 2  # eight requests at a time: more than one worker served them
    repository = SqliteRepository(path)
    [day] = repository.fetch([DAY])
    assert len(day) == REQUESTS
    assert list(day) == list(range(REQUESTS))
    repository.close()


def test_a_writer_killed_mid_writes_leaves_the_file_readable(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.sqlite_processes", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    committed = []
    try:
        assert writer.stdout is not None
        for line in writer.stdout:
            committed.append(int(line))
            if len(committed) == 300:
                break
        writer.send_signal(signal.SIGKILL)  # while it writes the next marks
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    repository = SqliteRepository(path)
    ids = [DAY, BitmapId("load", None), BitmapId("load", Period.containing(TimeGroup.HOUR, MOMENT))]
    for bitmap in repository.fetch(ids):
        users = list(bitmap)
        # Every mark committed is there; the one being written when killed is all or nothing.
        assert users[: len(committed)] == committed
        assert len(users) in (len(committed), len(committed) + 1)
    repository.mark([Mark.create("load", 10**6, MOMENT)])  # and it takes writes again
    repository.close()


def app_on(url: str, instance: Path) -> Flask:
    app = Flask("copy-round-trip", instance_path=str(instance))
    app.config.update(BITMAPIST_REDIS_URL=url, BITMAPIST_MAP_IDS=True)
    FlaskBitmapist(app, clock=lambda: MOMENT, replay_in_background=False)
    return app


def contents(app: Flask) -> dict[tuple[str, str], list[int]]:
    with app.app_context():
        repository = current_state().repository
        ids = repository.stored_ids()
        fetched = repository.fetch(ids)
        return {(i.event, i.key_suffix): list(b) for i, b in zip(ids, fetched, strict=True) if b}


def test_a_copy_to_a_real_redis_and_back_gives_every_bitmap_back(
    tmp_path: Path, redis_url: str
) -> None:
    source = app_on("sqlite:///source.db", tmp_path)
    with source.app_context():
        state = current_state()
        assert state.id_mapper is not None
        users = state.id_mapper.assign([f"user-{n}" for n in range(150_000)])
        state.repository.mark(
            Mark.create(event, uid, MOMENT - timedelta(days=uid % 50), hourly=uid % 7 == 0)
            for event in ("signup", "paid")
            for uid in users[::53]
        )
    runner = source.test_cli_runner()
    there = runner.invoke(args=["bitmapist", "copy", "--to", redis_url])
    assert there.exit_code == 0, there.output
    on_redis = app_on(redis_url, tmp_path)
    assert contents(on_redis) == contents(source)
    with redis.Redis.from_url(redis_url) as client:
        assert client.hget("{trackist_ids}:id", 149_999) == b"s:user-149999"
    back = on_redis.test_cli_runner().invoke(
        args=["bitmapist", "copy", "--to", "sqlite:///back.db"]
    )
    assert back.exit_code == 0, back.output
    copy = app_on("sqlite:///back.db", tmp_path)
    assert contents(copy) == contents(source)
    assert len(contents(copy)) > 200
    with copy.app_context():
        mapper = current_state().id_mapper
        assert mapper is not None
        assert mapper.count() == 150_000
        assert mapper.originals([0, 149_999]) == ["user-0", "user-149999"]
