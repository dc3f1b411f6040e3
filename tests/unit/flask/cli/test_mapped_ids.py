"""The CLI with BITMAPIST_MAP_IDS: imports and demo data map their ids as mark_event does."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask import Flask

from flask_bitmapist import get_event_data, mark_event
from flask_bitmapist.domain import ExternalId, IdMapper, Mark, StorageUnavailable
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.infra.id_maps import InMemoryIdMapper
from tests.unit.flask.cli.support import Cli, assert_clean_failure, make_app

ALICE = "6f1c2d9e-8a43-4b1f-9c55-2e7d0b3a9f10"
BOB = "bob@example.com"
CAROL = "9b2e4c61-0d7f-4a8e-b3c5-71f6a2d8e904"
HEADER = "user_id,event,timestamp\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def event_data(app: Flask, event: str, time_group: str = "days") -> list[object]:
    with app.app_context():
        return list(get_event_data(event, time_group))


class CountingMapper(IdMapper):
    """The in-memory map, counting ``assign`` calls and the ids of each."""

    def __init__(self) -> None:
        self.inner = InMemoryIdMapper()
        self.assigned: list[list[ExternalId]] = []

    def assign(self, user_ids: Sequence[ExternalId]) -> list[int]:
        self.assigned.append(list(user_ids))
        return self.inner.assign(user_ids)

    def find(self, user_ids: Sequence[ExternalId]) -> list[int | None]:
        return self.inner.find(user_ids)

    def originals(self, ints: Sequence[int]) -> list[ExternalId | None]:
        return self.inner.originals(ints)

    def count(self) -> int:
        return self.inner.count()


class CountingRepository(InMemoryRepository):
    """Counts ``mark`` calls."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[list[Mark]] = []

    def mark(self, marks: Iterable[Mark]) -> None:
        chunk = list(marks)
        self.writes.append(chunk)
        super().mark(chunk)


@pytest.fixture
def mapped() -> Cli:
    """The CLI of a fresh app on ``memory://`` with BITMAPIST_MAP_IDS."""
    return Cli(make_app(BITMAPIST_MAP_IDS=True))


def test_uuid_and_string_ids_are_imported_and_read_back_as_the_original_ids(
    mapped: Cli, tmp_path: Path
) -> None:
    text = (
        HEADER
        + f"{ALICE},user:created,2026-11-25T09:00:00Z\n"
        + f"{BOB},user:created,2026-11-25T10:00:00Z\n"
        + f"{CAROL},user:created,2026-11-26T10:00:00Z\n"
        + f"{ALICE},user:paid,2026-11-27T09:00:00Z\n"
        + f"{BOB},user:paid,2026-11-27T11:00:00Z\n"
    )
    result = mapped("import", write(tmp_path, "events.csv", text))
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "Imported 5 of 5 rows from " + str(tmp_path / "events.csv") + ".\n"
    )
    assert event_data(mapped.app, "user:paid") == [ALICE, BOB]
    assert event_data(mapped.app, "user:created", "weeks") == [ALICE, BOB, CAROL]
    assert mapped.state.id_mapper is not None
    assert mapped.state.id_mapper.count() == 3


def test_a_cohort_counts_imported_mapped_users(mapped: Cli, tmp_path: Path) -> None:
    text = (
        HEADER
        + f"{ALICE},user:created,2026-11-25T09:00:00Z\n"
        + f"{BOB},user:created,2026-11-25T10:00:00Z\n"
        + f"{CAROL},user:created,2026-11-26T10:00:00Z\n"
        + f"{ALICE},user:paid,2026-11-26T09:00:00Z\n"
        + f"{BOB},user:paid,2026-11-27T11:00:00Z\n"
        + f"{CAROL},user:paid,2026-11-27T11:00:00Z\n"
    )
    assert mapped("import", write(tmp_path, "events.csv", text)).exit_code == 0
    result = mapped(
        "cohort", "user:created", "user:paid", "--rows", "3", "--cols", "3", "--mode",
        "recurring", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cohort = json.loads(result.stdout)
    assert cohort["dates"] == [f"2026-11-{d}T00:00:00+00:00" for d in (25, 26, 27)]
    assert cohort["totals"] == [2, 1, 0]
    assert cohort["cells"] == [[0, 1, 1], [0, 1, None], [None, None, None]]


def test_imported_ids_are_the_same_users_as_live_marks(mapped: Cli, tmp_path: Path) -> None:
    moment = datetime(2026, 11, 27, 9, tzinfo=timezone.utc)
    with mapped.app.app_context():
        mark_event("user:paid", uuid.UUID(ALICE), now=moment)
        mark_event("user:paid", 42, now=moment)
    text = (
        '{"user_id": "' + ALICE + '", "event": "user:paid", "timestamp": "2026-11-27"}\n'
        '{"user_id": 42, "event": "user:paid", "timestamp": "2026-11-27"}\n'
        '{"user_id": "42", "event": "user:refunded", "timestamp": "2026-11-27"}\n'
        '{"user_id": "' + BOB + '", "event": "user:paid", "timestamp": "2026-11-27"}\n'
    )
    result = mapped("import", write(tmp_path, "events.jsonl", text))
    assert result.exit_code == 0, result.output
    # ALICE and 42 keep the ints their live marks got; the ids keep the type first seen.
    assert event_data(mapped.app, "user:paid") == [uuid.UUID(ALICE), 42, BOB]
    assert event_data(mapped.app, "user:refunded") == [42]
    assert mapped.state.id_mapper is not None
    assert mapped.state.id_mapper.count() == 3


def test_ints_in_a_file_are_mapped_like_any_other_id(mapped: Cli, tmp_path: Path) -> None:
    text = HEADER + "7,a,2026-11-27\n-3,a,2026-11-27\n007,a,2026-11-27\n 8 ,a,2026-11-27\n"
    result = mapped("import", write(tmp_path, "events.csv", text))
    assert result.exit_code == 0, result.output
    # Mapped, so -3 is a user like the others; "007" is not 7: its text differs.
    assert event_data(mapped.app, "a") == [7, -3, "007", 8]
    assert mapped.users("a", "day") == [0, 1, 2, 3]


def test_bad_rows_are_skipped_and_their_ids_never_mapped(mapped: Cli, tmp_path: Path) -> None:
    text = (
        '{"user_id": "alice", "event": "a", "timestamp": "2026-11-27"}\n'  # 1
        '{"user_id": "", "event": "a", "timestamp": "2026-11-27"}\n'  # 2: empty
        '{"user_id": 4.5, "event": "a", "timestamp": "2026-11-27"}\n'  # 3: a float
        '{"user_id": "' + "x" * 300 + '", "event": "a", "timestamp": "2026-11-27"}\n'  # 4
        '{"user_id": "carol", "event": "a b", "timestamp": "2026-11-27"}\n'  # 5: bad event
        '{"user_id": "dave", "event": "a", "timestamp": "someday"}\n'  # 6: bad timestamp
        '{"user_id": true, "event": "a", "timestamp": "2026-11-27"}\n'  # 7: a bool
        '{"user_id": "bob", "event": "a", "timestamp": "2026-11-27"}\n'  # 8
    )
    result = mapped("import", write(tmp_path, "events.jsonl", text), "--chunk-size", "3")
    assert_clean_failure(result, 1)
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert [line.split(":")[0] for line in skipped] == [
        "skipped line 2",
        "skipped line 3",
        "skipped line 4",
        "skipped line 5",
        "skipped line 6",
        "skipped line 7",
    ]
    assert "user id must not be an empty str" in skipped[0]
    assert "got 4.5 (float)" in skipped[1]
    assert "300 characters long" in skipped[2]
    assert "'a b'" in skipped[3]
    assert "'someday'" in skipped[4]
    assert "got True (bool)" in skipped[5]
    assert "Imported 2 of 8 rows" in result.stdout
    assert event_data(mapped.app, "a") == ["alice", "bob"]
    assert mapped.state.id_mapper is not None
    assert mapped.state.id_mapper.count() == 2


def test_each_chunk_maps_its_ids_in_one_call_and_writes_in_one_call(tmp_path: Path) -> None:
    repository = CountingRepository()
    cli = Cli(make_app(repository_factory=lambda settings: repository, BITMAPIST_MAP_IDS=True))
    mapper = CountingMapper()
    cli.state.id_mapper = mapper
    text = HEADER + "".join(
        f"{name},a,2026-11-27\n" for name in ("ann", "ben", "ann", "cy", "ben", "ann", "dee")
    )
    result = cli("import", write(tmp_path, "events.csv", text), "--chunk-size", "3")
    assert result.exit_code == 0, result.output
    assert mapper.assigned == [["ann", "ben", "ann"], ["cy", "ben", "ann"], ["dee"]]
    assert [len(chunk) for chunk in repository.writes] == [3, 3, 1]
    # ann and ben appear in two chunks and keep the int of their first.
    assert mapper.inner.find(["ann", "ben", "cy", "dee"]) == [0, 1, 2, 3]
    assert cli.users("a", "day") == [0, 1, 2, 3]
    assert event_data(cli.app, "a") == ["ann", "ben", "cy", "dee"]


class DownMapper(InMemoryIdMapper):
    """An id map whose storage is down after ``chunks`` calls."""

    def __init__(self, chunks: int) -> None:
        super().__init__()
        self.chunks = chunks

    def assign(self, user_ids: Sequence[ExternalId]) -> list[int]:
        if self.chunks == 0:
            raise StorageUnavailable("connection refused while mapping ids")
        self.chunks -= 1
        return super().assign(user_ids)


def test_storage_failing_while_mapping_is_reported_like_a_failing_write(
    mapped: Cli, tmp_path: Path
) -> None:
    mapped.state.id_mapper = DownMapper(chunks=1)
    text = HEADER + "".join(f"user-{n},a,2026-11-27\n" for n in range(1, 6))
    result = mapped("import", write(tmp_path, "events.csv", text), "--chunk-size", "2")
    assert_clean_failure(
        result,
        1,
        "storage at memory:// is unavailable: connection refused while mapping ids",
        "Imported 2 rows before it failed (every row through line 3 is done)",
        "importing again is safe",
    )
    assert mapped.users("a", "day") == [0, 1]


def test_a_full_id_map_stops_the_import_with_a_clear_error(tmp_path: Path) -> None:
    cli = Cli(make_app(BITMAPIST_MAP_IDS=True, BITMAPIST_MAX_USER_ID=2))
    text = HEADER + "".join(f"user-{n},a,2026-11-27\n" for n in range(1, 6))
    result = cli("import", write(tmp_path, "events.csv", text), "--chunk-size", "2")
    assert_clean_failure(
        result,
        1,
        "the id map is full: every int up to 2 (BITMAPIST_MAX_USER_ID) is taken",
        "Imported 2 rows before it failed (every row through line 3 is done)",
    )
    assert cli.users("a", "day") == [0, 1]


def test_without_mapping_a_text_id_is_a_bad_row_pointing_at_map_ids(
    cli: Cli, tmp_path: Path
) -> None:
    text = HEADER + f"{ALICE},a,2026-11-27\n3,a,2026-11-27\n"
    result = cli("import", write(tmp_path, "events.csv", text))
    assert_clean_failure(
        result,
        1,
        f"skipped line 2: user id must be an int, got '{ALICE}' (str); to track str or UUID "
        "user ids, set BITMAPIST_MAP_IDS = True",
    )
    assert cli.users("a", "day") == [3]


def test_demo_data_maps_its_users_and_counts_as_without_mapping() -> None:
    demo = ("demo-data", "--days", "20", "--users", "300", "--seed", "5")
    plain, mapped = Cli(make_app()), Cli(make_app(BITMAPIST_MAP_IDS=True))
    for cli in (plain, mapped):
        assert cli(*demo).exit_code == 0
    assert mapped.state.id_mapper is not None
    assert mapped.state.id_mapper.count() == 300
    assert event_data(mapped.app, "user:created", "months") == list(range(1, 301))
    assert event_data(mapped.app, "user:paid") == event_data(plain.app, "user:paid")
    events = ("events", "--format", "json")
    assert mapped(*events).stdout == plain(*events).stdout
    cohort = ("cohort", "user:created", "user:logged_in", "--rows", "10", "--format", "json")
    assert mapped(*cohort).stdout == plain(*cohort).stdout


def test_reading_commands_work_with_mapped_ids() -> None:
    app = make_app(BITMAPIST_MAP_IDS=True)
    with app.app_context():
        mark_event("user:paid", "alice")
    result = Cli(app)("events")
    assert result.exit_code == 0, result.output
    assert "user:paid" in result.output
