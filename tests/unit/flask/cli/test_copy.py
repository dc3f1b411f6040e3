"""``flask bitmapist copy --to URL``: every bitmap (and the id map) into another store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state, mark_event
from flask_bitmapist.domain import Mark
from flask_bitmapist.infra.sqlite_id_map import SqliteIdMapper
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from tests.unit.flask.support import FixedClock

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


def app_on(url: str, instance: Path, **config: object) -> Flask:
    app = Flask("copy-test", instance_path=str(instance))
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL=url, **config)
    FlaskBitmapist(app, clock=FixedClock(NOW), replay_in_background=False)
    return app


def fill(app: Flask) -> None:
    with app.app_context():
        repository = current_state().repository
        repository.mark(
            Mark.create(event, uid, NOW - timedelta(days=uid % 40), hourly=uid % 3 == 0)
            for event in ("user:created", "user:paid")
            for uid in range(0, 140_000, 997)
        )
        repository.mark([Mark.create("user:premium", 5, NOW, unique=True)])


def contents(app: Flask) -> dict[object, list[int]]:
    with app.app_context():
        repository = current_state().repository
        ids = repository.stored_ids()
        return {
            (i.event, i.key_suffix): list(b)
            for i, b in zip(ids, repository.fetch(ids), strict=True)
            if b
        }


def test_copy_into_a_sqlite_file_holds_every_bitmap(tmp_path: Path) -> None:
    source = app_on("memory://", tmp_path)
    fill(source)
    result = source.test_cli_runner().invoke(args=["bitmapist", "copy", "--to", "sqlite:///c.db"])
    assert result.exit_code == 0, result.output
    assert "Copied " in result.stdout and f"into sqlite:///{tmp_path}/c.db." in result.stdout
    copy = app_on("sqlite:///c.db", tmp_path)
    assert contents(copy) == contents(source)
    assert len(contents(source)) > 100


def test_copying_twice_is_copying_once_and_asks_before_adding(tmp_path: Path) -> None:
    source = app_on("memory://", tmp_path)
    fill(source)
    runner = source.test_cli_runner()
    assert runner.invoke(args=["bitmapist", "copy", "--to", "sqlite:///c.db"]).exit_code == 0
    refused = runner.invoke(args=["bitmapist", "copy", "--to", "sqlite:///c.db"], input="n\n")
    assert refused.exit_code == 1
    assert "already holds 3 events; add this store's users to them?" in refused.stderr
    again = runner.invoke(args=["bitmapist", "copy", "--to", "sqlite:///c.db", "--yes"])
    assert again.exit_code == 0, again.output
    assert contents(app_on("sqlite:///c.db", tmp_path)) == contents(source)


def test_the_id_map_is_copied_int_for_int(tmp_path: Path) -> None:
    source = app_on("memory://", tmp_path, BITMAPIST_MAP_IDS=True)
    with source.app_context():
        for user in ("alice", "bob", "carol"):
            mark_event("user:paid", user)
    result = source.test_cli_runner().invoke(args=["bitmapist", "copy", "--to", "sqlite:///c.db"])
    assert result.exit_code == 0, result.output
    assert "3 mapped ids" in result.stdout
    copy = app_on("sqlite:///c.db", tmp_path, BITMAPIST_MAP_IDS=True)
    with copy.app_context():
        mapper = current_state().id_mapper
        assert isinstance(mapper, SqliteIdMapper)
        assert mapper.originals([0, 1, 2]) == ["alice", "bob", "carol"]
    assert contents(copy) == contents(source)


def test_a_target_whose_id_map_differs_is_refused_before_writing(tmp_path: Path) -> None:
    other = app_on("sqlite:///c.db", tmp_path, BITMAPIST_MAP_IDS=True)
    with other.app_context():
        mark_event("user:paid", "zoe")
    source = app_on("memory://", tmp_path, BITMAPIST_MAP_IDS=True)
    with source.app_context():
        mark_event("user:paid", "alice")
    runner = source.test_cli_runner()
    result = runner.invoke(args=["bitmapist", "copy", "--to", "sqlite:///c.db", "--yes"])
    assert result.exit_code == 1
    assert "the target's id map gives other ints than the source's" in result.stderr
    target = SqliteRepository(tmp_path / "c.db")
    assert len(target.stored_ids()) == 3  # zoe's month, week and day only
    target.close()


def test_copying_onto_itself_or_into_memory_is_a_usage_error(tmp_path: Path) -> None:
    source = app_on("sqlite:///a.db", tmp_path)
    runner = source.test_cli_runner()
    for url, message in (
        ("sqlite:///a.db", "is the app's own store"),
        (f"sqlite:///{tmp_path}/a.db", "is the app's own store"),
        ("memory://", "memory:// lives only as long as this command"),
        ("sqlite://host/x.db", "names a host"),
        ("ftp://x", "must start with one of"),
    ):
        result = runner.invoke(args=["bitmapist", "copy", "--to", url])
        assert result.exit_code == 2, url
        assert message in result.stderr, result.stderr


def test_an_unreachable_target_is_a_one_line_error(tmp_path: Path) -> None:
    source = app_on("memory://", tmp_path)
    fill(source)
    (tmp_path / "folder.db").mkdir()
    result = source.test_cli_runner().invoke(
        args=["bitmapist", "copy", "--to", "sqlite:///folder.db"]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"SQLite file {tmp_path}/folder.db cannot be opened" in result.stderr
