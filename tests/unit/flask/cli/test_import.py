"""``flask bitmapist import FILE``: bulk marking from CSV or JSON Lines, bad rows skipped."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from flask_bitmapist.domain import Mark, StorageUnavailable
from flask_bitmapist.infra import InMemoryRepository
from tests.unit.flask.cli.support import Cli, assert_clean_failure, make_app

CSV_WITH_BAD_ROWS = (
    "user_id,event,timestamp\n"  # 1
    "1,user:paid,2026-11-27T10:00:00Z\n"  # 2
    "2,user:paid,2026-11-27 11:00\n"  # 3
    "-5,user:paid,2026-11-27\n"  # 4: negative id
    "3,user paid,2026-11-27\n"  # 5: whitespace in the event name
    "4,user:paid,someday\n"  # 6: not a timestamp
    "\n"  # 7: blank, ignored
    "5,user:paid\n"  # 8: a field short
    "6,user:logged_in,1795784700\n"  # 9: epoch seconds (2026-11-27 13:05 UTC)
    "7,user:paid,2026-11-26\n"  # 10
)


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return str(path)


def test_import_writes_exactly_the_good_rows_and_reports_the_bad_ones(
    cli: Cli, tmp_path: Path
) -> None:
    result = cli("import", write(tmp_path, "events.csv", CSV_WITH_BAD_ROWS))
    assert_clean_failure(result, 1)
    assert cli.users("user:paid", "day") == [1, 2]
    assert cli.users("user:paid", "week") == [1, 2, 7]
    assert cli.users("user:logged_in", "day") == [6]
    assert cli.repository.event_names() == {"user:paid", "user:logged_in"}
    bad_lines = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert bad_lines == [
        "skipped line 4: user id -5 is out of range 0..67108863",
        "skipped line 5: event name 'user paid' contains ' ' at position 4; "
        "whitespace and control characters are not allowed",
        "skipped line 6: timestamp 'someday' is neither ISO 8601 (2026-11-27T13:05:00Z) "
        "nor epoch seconds",
        "skipped line 8: 2 fields where user_id, event, timestamp were expected: "
        "['5', 'user:paid']",
    ]
    assert result.stdout.endswith(
        "Imported 4 of 8 rows from " + str(tmp_path / "events.csv") + "; skipped 4 bad rows.\n"
    )


def test_a_clean_import_exits_zero(cli: Cli, tmp_path: Path) -> None:
    text = "event,timestamp,user_id\nuser:paid,2026-11-27,9\n"
    result = cli("import", write(tmp_path, "clean.csv", text))
    assert result.exit_code == 0, result.output
    assert result.stderr.count("skipped") == 0
    assert cli.users("user:paid", "day") == [9]


def test_json_lines_are_imported_too(cli: Cli, tmp_path: Path) -> None:
    text = (
        '{"user_id": 1, "event": "user:paid", "timestamp": "2026-11-27T09:00:00Z"}\n'
        '{"user_id": 2, "event": "user:paid"}\n'
        '{"user_id": 3, "event": "user:paid", "timestamp": 1795784700}\n'
    )
    path = write(tmp_path, "events.jsonl", text)
    result = cli("import", path)
    assert_clean_failure(result, 1, "skipped line 2: missing 'timestamp'")
    assert result.stdout.endswith("Imported 2 of 3 rows from " + path + "; skipped 1 bad row.\n")
    assert cli.users("user:paid", "day") == [1, 3]


def test_stdin_is_read_with_a_dash(cli: Cli) -> None:
    result = cli("import", "-", input="user_id,event,timestamp\n4,user:paid,2026-11-27\n")
    assert result.exit_code == 0, result.output
    assert "Imported 1 of 1 rows from -." in result.stdout
    assert cli.users("user:paid", "day") == [4]


def test_format_overrides_the_file_name(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "events.txt", '{"user_id": 1, "event": "a", "timestamp": 0}\n')
    assert cli("import", path, "--format", "jsonl").exit_code == 0
    assert cli.users("a", "day", moment=datetime(1970, 1, 1)) == [1]


def test_a_file_without_the_header_is_refused_before_anything_is_written(
    cli: Cli, tmp_path: Path
) -> None:
    result = cli("import", write(tmp_path, "events.csv", "1,user:paid,2026-11-27\n"))
    assert_clean_failure(result, 2, "FILE", "'user_id' or 'event' or 'timestamp'")
    assert cli.repository.event_names() == frozenset()


def test_a_missing_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("import", str(tmp_path / "nope.csv"))
    assert_clean_failure(result, 2, "nope.csv")


def test_the_settings_of_the_app_apply_to_imported_rows(tmp_path: Path) -> None:
    cli = Cli(make_app(BITMAPIST_MAX_USER_ID=100, BITMAPIST_TRACK_HOURLY=True))
    text = "user_id,event,timestamp\n100,a,2026-11-27T13:10:00Z\n101,a,2026-11-27T13:10:00Z\n"
    result = cli("import", write(tmp_path, "events.csv", text))
    assert_clean_failure(result, 1, "skipped line 3: user id 101 is out of range 0..100")
    assert cli.users("a", "hour") == [100]


class FailsAfter(InMemoryRepository):
    """Stores ``chunks`` writes, then storage is down."""

    def __init__(self, chunks: int) -> None:
        super().__init__()
        self.chunks = chunks

    def mark(self, marks: Iterable[Mark]) -> None:
        if self.chunks == 0:
            raise StorageUnavailable("connection refused")
        self.chunks -= 1
        super().mark(marks)


def test_storage_failing_mid_import_says_how_far_it_got(tmp_path: Path) -> None:
    repository = FailsAfter(chunks=2)
    cli = Cli(make_app(repository_factory=lambda settings: repository))
    text = "user_id,event,timestamp\n" + "".join(f"{u},a,2026-11-27\n" for u in range(1, 11))
    result = cli("import", write(tmp_path, "events.csv", text), "--chunk-size", "3")
    assert_clean_failure(
        result,
        1,
        "unavailable: connection refused",
        "Imported 6 rows before it failed (every row through line 7 is done)",
        "importing again is safe",
    )
    assert cli.users("a", "day") == [1, 2, 3, 4, 5, 6]


def test_an_import_into_the_in_process_store_warns_that_it_is_lost(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text("user_id,event,timestamp\n1,user:paid,2026-11-27T10:00:00Z\n")
    result = cli("import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == "Imported 1 of 1 rows from " + str(path) + ".\n"
    assert "memory:// is an in-process store" in result.stderr
    assert "gone now that the command ends" in result.stderr
