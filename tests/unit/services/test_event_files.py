"""Reading event files (CSV, JSON Lines) and importing them in chunks."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import Bitmap, BitmapId, Mark, Period, StorageUnavailable, TimeGroup
from flask_bitmapist.exceptions import EventFileError
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.event_files import (
    BadRow,
    EventFileReader,
    EventRow,
    ImportSummary,
    import_rows,
)
from flask_bitmapist.services.marking import MarkingPolicy, UnmappedMark

UTC = timezone.utc


def read(data: bytes | str, name: str = "events", **kwargs: object) -> list[EventRow | BadRow]:
    raw = data.encode() if isinstance(data, str) else data
    return list(EventFileReader(io.BytesIO(raw), name=name, **kwargs))  # type: ignore[arg-type]


def mark_of(row: EventRow) -> Mark:
    """The row's mark, read without id mapping (so its id is a bitmap int)."""
    assert isinstance(row.mark, Mark)
    return row.mark


def good(rows: Iterable[EventRow | BadRow]) -> list[tuple[int, str, int, datetime]]:
    return [
        (r.line, mark_of(r).event, mark_of(r).user_id, mark_of(r).moment)
        for r in rows
        if isinstance(r, EventRow)
    ]


def bad(rows: Iterable[EventRow | BadRow]) -> list[int]:
    return [r.line for r in rows if isinstance(r, BadRow)]


def test_csv_columns_may_come_in_any_order_with_extra_columns_ignored() -> None:
    rows = read(
        "timestamp,source,event,user_id\n"
        "2026-11-27T10:00:00Z,web,user:paid,7\n"
        "2026-11-26,app, user:logged_in ,8\n"
    )
    assert good(rows) == [
        (2, "user:paid", 7, datetime(2026, 11, 27, 10, tzinfo=UTC)),
        (3, "user:logged_in", 8, datetime(2026, 11, 26, tzinfo=UTC)),
    ]


def test_csv_bad_rows_are_reported_with_their_line_numbers() -> None:
    rows = read(
        "user_id,event,timestamp\n"  # 1
        "1,a,2026-11-27\n"  # 2
        "-3,a,2026-11-27\n"  # 3: negative id
        "x,a,2026-11-27\n"  # 4: not an int
        "\n"  # 5: blank, ignored
        "2,bad name,2026-11-27\n"  # 6: whitespace in the name
        "3,a,soon\n"  # 7: bad timestamp
        "4,a\n"  # 8: too few fields
        "5,a,2026-11-27\n"  # 9
    )
    assert [r.line for r in rows if isinstance(r, EventRow)] == [2, 9]
    reasons = {r.line: r.reason for r in rows if isinstance(r, BadRow)}
    assert sorted(reasons) == [3, 4, 6, 7, 8]
    assert "-3" in reasons[3]
    assert "'x'" in reasons[4]
    assert "'bad name'" in reasons[6]
    assert "'soon'" in reasons[7]
    assert "2 fields" in reasons[8]


def test_csv_quoted_fields_may_span_lines_and_keep_the_starting_line() -> None:
    rows = read('user_id,event,timestamp\n1,"a",2026-11-27\n2,"b\nc",2026-11-27\n3,d,2026-11-27\n')
    assert [r.line for r in rows if isinstance(r, EventRow)] == [2, 5]
    assert bad(rows) == [3]


def test_malformed_csv_quoting_is_a_bad_row_and_reading_goes_on() -> None:
    rows = read('user_id,event,timestamp\n1,"a"b,2026-11-27\n2,c,2026-11-27\n')
    assert bad(rows) == [2]
    assert "malformed CSV" in str(rows[0])
    assert good(rows) == [(3, "c", 2, datetime(2026, 11, 27, tzinfo=UTC))]


def test_a_line_that_is_not_utf8_is_a_bad_row() -> None:
    rows = read(b"user_id,event,timestamp\n1,caf\xe9,2026-11-27\n2,ok,2026-11-27\n")
    assert bad(rows) == [2]
    assert "not UTF-8" in str(rows[0])
    assert [r.line for r in rows if isinstance(r, EventRow)] == [3]


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted() -> None:
    rows = read(b"\xef\xbb\xbfuser_id,event,timestamp\r\n1,a,2026-11-27\r\n")
    assert good(rows) == [(2, "a", 1, datetime(2026, 11, 27, tzinfo=UTC))]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "empty"),
        ("user_id,event\n1,a\n", "'timestamp'"),
        ("1,a,2026-11-27\n", "'user_id' or 'event' or 'timestamp'"),
    ],
)
def test_a_csv_without_the_header_is_refused_as_a_whole(data: str, message: str) -> None:
    with pytest.raises(EventFileError, match=message):
        read(data, name="events.csv")


def test_json_lines_rows_and_their_bad_rows() -> None:
    rows = read(
        '{"user_id": 1, "event": "a", "timestamp": "2026-11-27T08:00:00Z"}\n'  # 1
        '{"user_id": "2", "event": "b", "timestamp": 1795784700}\n'  # 2: digits are fine
        "\n"  # 3: blank
        "{not json}\n"  # 4
        "[1, 2, 3]\n"  # 5
        '{"user_id": 3, "event": "c"}\n'  # 6: no timestamp
        '{"user_id": 4.5, "event": "c", "timestamp": 0}\n'  # 7: float id
        '{"user_id": true, "event": "c", "timestamp": 0}\n'  # 8: bool id
    )
    assert good(rows) == [
        (1, "a", 1, datetime(2026, 11, 27, 8, tzinfo=UTC)),
        (2, "b", 2, datetime(2026, 11, 27, 13, 5, tzinfo=UTC)),
    ]
    reasons = {r.line: r.reason for r in rows if isinstance(r, BadRow)}
    assert sorted(reasons) == [4, 5, 6, 7, 8]
    assert "not valid JSON" in reasons[4]
    assert "JSON object" in reasons[5]
    assert "'timestamp'" in reasons[6]
    assert "4.5" in reasons[7]
    assert "True" in reasons[8]


@pytest.mark.parametrize(
    ("name", "first_line", "expected"),
    [
        ("events.csv", "user_id,event,timestamp", "csv"),
        ("events.jsonl", '{"user_id": 1, "event": "a", "timestamp": 0}', "jsonl"),
        ("events.ndjson", '{"user_id": 1, "event": "a", "timestamp": 0}', "jsonl"),
        ("-", '  {"user_id": 1, "event": "a", "timestamp": 0}', "jsonl"),
        ("-", "user_id,event,timestamp", "csv"),
    ],
)
def test_the_format_comes_from_the_suffix_else_from_the_first_line(
    name: str, first_line: str, expected: str
) -> None:
    reader = EventFileReader(io.BytesIO(first_line.encode() + b"\n"), name=name)
    assert reader.format == expected


def test_an_explicit_format_wins_over_the_suffix() -> None:
    data = b'{"user_id": 1, "event": "a", "timestamp": 0}\n'
    reader = EventFileReader(io.BytesIO(data), name="events.csv", file_format="jsonl")
    assert [r.line for r in reader] == [1]


def test_settings_reach_the_marks() -> None:
    data = b"user_id,event,timestamp\n10,a,2026-11-27\n11,a,2026-11-27\n"
    policy = MarkingPolicy(hourly=True, unique=True, max_user_id=10)
    reader = EventFileReader(io.BytesIO(data), policy=policy)
    rows = list(reader)
    assert isinstance(rows[0], EventRow)
    assert (mark_of(rows[0]).hourly, mark_of(rows[0]).unique) == (True, True)
    assert isinstance(rows[1], BadRow)
    assert "0..10" in rows[1].reason


def test_bytes_read_follows_the_reading() -> None:
    data = b"user_id,event,timestamp\n1,a,2026-11-27\n2,a,2026-11-27\n"
    reader = EventFileReader(io.BytesIO(data))
    rows = iter(reader)
    next(rows)
    assert 0 < reader.bytes_read < len(data)
    list(rows)
    assert reader.bytes_read == len(data)


DAY = Period.containing(TimeGroup.DAY, datetime(2026, 11, 27))


def stored(repository: InMemoryRepository, event: str) -> list[int]:
    return list(repository.fetch([BitmapId(event, DAY)])[0])


def test_import_writes_good_rows_in_chunks_and_skips_bad_ones() -> None:
    data = "user_id,event,timestamp\n" + "".join(
        f"{uid},a,2026-11-27\n" if uid % 4 else f"{uid},a,never\n" for uid in range(1, 11)
    )
    repository = InMemoryRepository()
    chunks: list[int] = []
    summary = import_rows(
        repository, read(data), chunk_size=3, on_chunk=lambda s: chunks.append(s.written)
    )
    assert stored(repository, "a") == [1, 2, 3, 5, 6, 7, 9, 10]
    assert (summary.rows, summary.written, summary.skipped) == (10, 8, 2)
    assert [str(r) for r in summary.bad_rows] == [
        "line 5: timestamp 'never' is neither ISO 8601 (2026-11-27T13:05:00Z) nor epoch seconds",
        "line 9: timestamp 'never' is neither ISO 8601 (2026-11-27T13:05:00Z) nor epoch seconds",
    ]
    assert chunks == [3, 6, 8]
    assert summary.done_through_line == 11


def test_import_keeps_only_the_first_bad_rows_but_counts_them_all() -> None:
    data = "user_id,event,timestamp\n" + "x,a,2026-11-27\n" * 50
    summary = import_rows(InMemoryRepository(), read(data), max_reported=5)
    assert summary.skipped == 50
    assert [r.line for r in summary.bad_rows] == [2, 3, 4, 5, 6]


class FailingRepository(InMemoryRepository):
    """Stores the first ``ok`` chunks, then storage is down."""

    def __init__(self, ok: int) -> None:
        super().__init__()
        self.ok = ok

    def mark(self, marks: Iterable[Mark]) -> None:
        if self.ok == 0:
            raise StorageUnavailable("redis is down")
        self.ok -= 1
        super().mark(marks)


def test_when_storage_fails_the_summary_tells_how_far_the_import_got() -> None:
    data = "user_id,event,timestamp\n" + "".join(f"{u},a,2026-11-27\n" for u in range(1, 8))
    repository = FailingRepository(ok=2)
    summary = ImportSummary()
    with pytest.raises(StorageUnavailable):
        import_rows(repository, read(data), chunk_size=3, summary=summary)
    assert (summary.written, summary.done_through_line) == (6, 7)
    assert stored(repository, "a") == [1, 2, 3, 4, 5, 6]
    assert Bitmap.from_ids([1, 2, 3, 4, 5, 6]) == repository.fetch([BitmapId("a", DAY)])[0]


def test_with_map_ids_text_ids_stay_text_and_only_canonical_ints_become_ints() -> None:
    data = "user_id,event,timestamp\n42,a,0\n007,a,0\n+5,a,0\n alice ,a,0\n-3,a,0\n"
    rows = read(data, policy=MarkingPolicy(map_ids=True))
    assert all(isinstance(r, EventRow) and isinstance(r.mark, UnmappedMark) for r in rows)
    ids = [r.mark.user_id for r in rows if isinstance(r, EventRow)]
    assert ids == [42, "007", "+5", "alice", -3]
    assert [type(i) for i in ids] == [int, str, str, str, int]


def test_rows_with_unmapped_ids_are_refused_without_an_id_mapper() -> None:
    rows = read("user_id,event,timestamp\nalice,a,0\n", policy=MarkingPolicy(map_ids=True))
    repository = InMemoryRepository()
    with pytest.raises(ValueError, match="line 2 holds an unmapped user id \\('alice'\\)"):
        import_rows(repository, rows)
    assert repository.event_names() == frozenset()
