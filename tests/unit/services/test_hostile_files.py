"""Hostile JSON and import rows: bounded, reported by line, never an escaping error."""

from __future__ import annotations

import io
import json
from datetime import timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import InvalidTimestamp, parse_timestamp
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.bounded_json import (
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    InvalidJson,
    load_json,
)
from flask_bitmapist.services.event_files import (
    BadRow,
    EventFileReader,
    EventRow,
    import_rows,
)

UTC = timezone.utc


def read(data: str, name: str) -> list[EventRow | BadRow]:
    return list(EventFileReader(io.BytesIO(data.encode()), name=name))


# -- bounded JSON ------------------------------------------------------------------------


@pytest.mark.parametrize("document", ["[" * 100_000, "{" * 100_000, '{"a":' * 100_000])
def test_json_nested_100k_deep_is_refused_before_parsing(document: str) -> None:
    with pytest.raises(InvalidJson, match=f"more than {MAX_JSON_DEPTH} levels"):
        load_json(document)


def test_json_nesting_up_to_the_limit_parses() -> None:
    document = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert load_json(document) == json.loads(document)


def test_brackets_inside_strings_nest_nothing() -> None:
    assert load_json('{"name": "[[[[{{{{\\"[[[[", "op": "and"}') == {
        "name": '[[[[{{{{"[[[[',
        "op": "and",
    }


def test_json_larger_than_the_bound_is_refused_naming_the_bound() -> None:
    with pytest.raises(InvalidJson, match="1,048,576"):
        load_json(b" " * (MAX_JSON_BYTES + 1))


@pytest.mark.parametrize(
    ("document", "message"),
    [(b"\xff{}", "not UTF-8"), ("{", "not valid JSON"), ("NaN]", "not valid JSON")],
)
def test_malformed_json_is_an_invalid_json_value_error(document: str | bytes, message: str) -> None:
    with pytest.raises(InvalidJson, match=message) as caught:
        load_json(document)
    assert isinstance(caught.value, ValueError)


@settings(max_examples=200, derandomize=True)
@given(st.text(alphabet='[]{}"\\:,1 a', max_size=200))
def test_any_text_is_a_value_or_invalid_json(document: str) -> None:
    # The standard parser is the model: what it refuses is InvalidJson, what it parses
    # comes back the same, unless it nests deeper than the bound (refused naming it).
    try:
        expected = json.loads(document)
    except ValueError:
        with pytest.raises(InvalidJson):
            load_json(document)
        return
    if _depth(expected) > MAX_JSON_DEPTH:
        with pytest.raises(InvalidJson, match=f"more than {MAX_JSON_DEPTH} levels"):
            load_json(document)
        return
    assert load_json(document) == expected


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


# -- import rows (issue 11, item 6) ------------------------------------------------------


def test_a_json_line_nested_100k_deep_is_a_bad_row_and_the_import_goes_on() -> None:
    lines = [
        '{"user_id": 1, "event": "a", "timestamp": "2026-11-27"}',
        "[" * 100_000,
        '{"user_id": 2, "event": "a", "timestamp": "2026-11-27"}',
    ]
    rows = read("\n".join(lines) + "\n", "events.jsonl")
    assert [type(r).__name__ for r in rows] == ["EventRow", "BadRow", "EventRow"]
    assert rows[1] == BadRow(2, f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    repository = InMemoryRepository()
    summary = import_rows(repository, rows)
    assert (summary.written, summary.skipped) == (2, 1)


@pytest.mark.parametrize(
    "timestamp",
    [
        "0001-01-01T00:00:00+01:00",  # the offset takes it before year 1
        "9999-12-31T23:00:00-05:00",  # ... or after year 9999
        "0001-01-01",
        "-62135596800",
        "1e300",
        "99999999999999999999",
    ],
)
def test_a_timestamp_out_of_range_is_a_bad_row_by_line(timestamp: str) -> None:
    data = f"user_id,event,timestamp\n1,a,2026-11-27\n2,a,{timestamp}\n3,a,2026-11-27\n"
    rows = read(data, "events.csv")
    assert [r.line for r in rows if isinstance(r, BadRow)] == [3]
    bad = next(r for r in rows if isinstance(r, BadRow))
    assert repr(timestamp) in bad.reason or "out of range" in bad.reason
    summary = import_rows(InMemoryRepository(), rows)
    assert (summary.written, summary.skipped) == (2, 1)


@pytest.mark.parametrize("value", [-62135596800, "0001-01-01T00:00:00+01:00"])
def test_parse_timestamp_names_the_range(value: object) -> None:
    with pytest.raises(InvalidTimestamp, match="out of range"):
        parse_timestamp(value)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=60),
            st.builds(lambda n: "[" * n, st.integers(0, 5000)),
            st.builds(
                lambda u, e, t: json.dumps({"user_id": u, "event": e, "timestamp": t}),
                st.one_of(st.integers(), st.text(max_size=10), st.none()),
                st.text(max_size=20),
                st.one_of(st.integers(), st.floats(), st.text(max_size=30)),
            ),
        ),
        max_size=8,
    )
)
def test_no_line_of_a_json_lines_file_aborts_the_import(lines: list[str]) -> None:
    text = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n"
    rows = read(text, "events.jsonl")
    summary = import_rows(InMemoryRepository(), rows)
    assert summary.written + summary.skipped == summary.rows == len(rows)
    assert all(1 <= row.line <= len(lines) for row in rows)
