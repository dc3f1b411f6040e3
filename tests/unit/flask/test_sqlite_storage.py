"""The facade on the SQLite store: the file in the instance folder, shared by every app
(and so every process) that names it; faults fail marks open and answer 503 or a one-line
CLI error naming the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state, mark_event
from flask_bitmapist.domain import BitmapId, Period, TimeGroup
from flask_bitmapist.infra.sqlite_id_map import SqliteIdMapper
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from tests.unit.flask.support import NOW, FixedClock

DAY = TimeGroup.DAY


def sqlite_app(instance: Path, url: str = "sqlite:///analytics.db", **config: object) -> Flask:
    """A testing app whose storage is the SQLite file ``url`` names, beside ``instance``."""
    app = Flask("sqlite-test", instance_path=str(instance))
    app.config.update(TESTING=True, SECRET_KEY="test", BITMAPIST_REDIS_URL=url, **config)
    FlaskBitmapist(app, clock=FixedClock(NOW), replay_in_background=False)
    return app


def close(app: Flask) -> None:
    repository = app.extensions["bitmapist"].repository
    assert isinstance(repository, SqliteRepository)
    repository.close()


def test_a_relative_url_is_a_file_in_the_instance_folder_made_if_missing(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    app = sqlite_app(instance)
    with app.app_context():
        state = current_state()
        assert state.settings.redis_url == f"sqlite:///{instance}/analytics.db"
        mark_event("user:paid", 7)
    assert (instance / "analytics.db").is_file()
    close(app)


def test_an_absolute_url_is_that_file(tmp_path: Path) -> None:
    app = sqlite_app(tmp_path / "unused", f"sqlite:///{tmp_path}/elsewhere.db")
    with app.app_context():
        mark_event("user:paid", 7)
    assert (tmp_path / "elsewhere.db").is_file()
    assert not (tmp_path / "unused").exists()
    close(app)


def test_a_second_app_on_the_file_and_its_cli_read_what_the_first_wrote(tmp_path: Path) -> None:
    writer = sqlite_app(tmp_path)
    with writer.app_context():
        for uid in (1, 2, 70_000):
            mark_event("user:paid", uid)
    close(writer)
    reader = sqlite_app(tmp_path)
    result = reader.test_cli_runner().invoke(args=["bitmapist", "events", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "user:paid" in result.stdout
    result = reader.test_cli_runner().invoke(
        args=["bitmapist", "trend", "user:paid", "--periods", "1", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1].endswith(",3")
    close(reader)


def test_mapped_ids_live_in_the_same_file(tmp_path: Path) -> None:
    app = sqlite_app(tmp_path, BITMAPIST_MAP_IDS=True)
    with app.app_context():
        assert isinstance(current_state().id_mapper, SqliteIdMapper)
        mark_event("user:paid", "alice@example.com")
    with sqlite3.connect(tmp_path / "analytics.db") as connection:
        rows = connection.execute("SELECT number, text FROM bitmapist_ids").fetchall()
    connection.close()
    assert rows == [(0, "alice@example.com")]
    close(app)


def test_a_locked_file_fails_marks_open_and_they_are_replayed(tmp_path: Path) -> None:
    app = sqlite_app(tmp_path, BITMAPIST_SOCKET_TIMEOUT=0.05, BITMAPIST_BREAKER_INTERVAL=0)
    with app.app_context():
        state = current_state()
        mark_event("user:paid", 1)
        other = sqlite3.connect(tmp_path / "analytics.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        mark_event("user:paid", 2)  # waits the busy timeout, then is buffered
        status = state.status()
        assert (status.written, status.buffered, status.pending) == (1, 1, 1)
        other.execute("ROLLBACK")
        other.close()
        assert state.recorder.retry_once() == 0.0
        assert state.status().replayed == 1
        [day] = state.repository.fetch([BitmapId("user:paid", Period.containing(DAY, NOW))])
        assert list(day) == [1, 2]
    close(app)


@pytest.fixture
def corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "analytics.db"
    path.write_bytes(b"not a database\n" * 500)
    return path


def test_a_corrupt_file_is_a_503_on_the_dashboard(tmp_path: Path, corrupt: Path) -> None:
    app = sqlite_app(tmp_path)
    response = app.test_client().get("/bitmapist/")
    assert response.status_code == 503
    with app.app_context():
        mark_event("user:paid", 1)  # fails open
        assert current_state().status().buffered == 1


def test_a_corrupt_file_is_a_one_line_cli_error_naming_it(tmp_path: Path, corrupt: Path) -> None:
    app = sqlite_app(tmp_path)
    result = app.test_cli_runner().invoke(args=["bitmapist", "events"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"SQLite file {corrupt} is not a valid SQLite database" in result.stderr
