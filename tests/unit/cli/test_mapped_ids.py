"""With BITMAPIST_MAP_IDS, commands that write bitmap ints directly refuse to run."""

from __future__ import annotations

import pytest

from flask_bitmapist import mark_event
from tests.unit.cli.conftest import Cli, make_app


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (("import", "-"), "flask bitmapist import"),
        (("demo-data", "--yes"), "flask bitmapist demo-data"),
    ],
)
def test_commands_writing_ints_refuse_mapped_ids_and_write_nothing(
    args: tuple[str, ...], command: str
) -> None:
    cli = Cli(make_app(BITMAPIST_MAP_IDS=True))
    result = cli(*args, input="user_id,event,timestamp\n42,user:paid,2026-11-27T13:05:00Z\n")
    assert result.exit_code == 2
    assert f"`{command}` writes user ids straight into the bitmaps" in result.output
    assert "BITMAPIST_MAP_IDS" in result.output
    assert cli.repository.event_names() == frozenset()


def test_reading_commands_work_with_mapped_ids() -> None:
    app = make_app(BITMAPIST_MAP_IDS=True)
    with app.app_context():
        mark_event("user:paid", "alice")
    result = Cli(app)("events")
    assert result.exit_code == 0, result.output
    assert "user:paid" in result.output
