"""Storage down, or no extension: a clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from flask_bitmapist.flask.cli import bitmapist_cli
from tests.unit.flask.cli.support import Cli, assert_clean_failure, make_app
from tests.unit.flask.support import DownRepository


@pytest.fixture
def down() -> Cli:
    return Cli(
        make_app(
            repository_factory=lambda settings: DownRepository(),
            BITMAPIST_REDIS_URL="redis://:hunter2@127.0.0.1:1/0",
        )
    )


@pytest.mark.parametrize(
    "args",
    [
        ["events"],
        ["cohort", "user:created", "user:paid"],
        ["demo-data", "--yes", "--days", "2", "--users", "3"],
    ],
)
def test_storage_down_is_a_clear_error(down: Cli, args: list[str]) -> None:
    result = down(*args)
    assert_clean_failure(
        result,
        1,
        "Error: storage at redis://:***@127.0.0.1:1/0 is unavailable: connection refused",
        "BITMAPIST_REDIS_URL",
    )
    assert "hunter2" not in result.output


def test_storage_down_during_import_is_a_clear_error(down: Cli, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("user_id,event,timestamp\n1,a,2026-11-27\n")
    result = down("import", str(path))
    assert_clean_failure(result, 1, "is unavailable", "Imported 0 rows before it failed")


def test_the_commands_say_when_the_extension_is_missing() -> None:
    app = Flask("no-extension")
    app.cli.add_command(bitmapist_cli)
    result = app.test_cli_runner().invoke(args=["bitmapist", "events"])
    assert_clean_failure(result, 1, "did you forget init_app?")


def test_init_app_adds_the_command_group() -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["bitmapist", "--help"])
    assert result.exit_code == 0
    for command in ("events", "cohort", "import", "demo-data"):
        assert command in result.output
