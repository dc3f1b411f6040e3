"""docs/reliability.md gives the code's numbers for the buffer, the breaker, the replay
and the log interval (its examples run in tests/unit/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks.replay_buffer_memory import traced_bytes_per_mark
from flask_bitmapist.domain import MARK_CHUNK_SIZE
from flask_bitmapist.flask.config import DEFAULTS
from flask_bitmapist.infra._resp import SMALL_WRITE
from flask_bitmapist.services.replay import DEFAULT_REPLAY_BUFFER, REQUEST_REPLAY_LIMIT

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
TEXT = DOC.read_text(encoding="utf-8")


def table_row(label: str) -> str:
    match = re.search(rf"^\| {re.escape(label)} \| (.+) \|$", TEXT, re.M)
    assert match, f"no table row {label!r} in {DOC.name}"
    return match.group(1)


def test_the_numbers_given_are_the_defaults() -> None:
    assert f"{DEFAULTS['BITMAPIST_REPLAY_BUFFER']:,} marks" in table_row("default")
    assert f"`BITMAPIST_BREAKER_INTERVAL`, {DEFAULTS['BITMAPIST_BREAKER_INTERVAL']} s" == (
        table_row("first interval")
    )
    assert f"`BITMAPIST_BREAKER_MAX_INTERVAL`, {DEFAULTS['BITMAPIST_BREAKER_MAX_INTERVAL']} s" == (
        table_row("longest interval")
    )
    assert f"up to {REQUEST_REPLAY_LIMIT:,} marks" in table_row("replayed by requests")
    assert f"{MARK_CHUNK_SIZE:,} marks per round trip" in table_row("replayed in the background")
    assert f"a write of up to {SMALL_WRITE} bits" in TEXT.replace("\n", " ")
    assert f"({DEFAULTS['BITMAPIST_ERROR_LOG_INTERVAL']:g} s)" in TEXT.replace("\n", " ")


def test_the_buffers_memory_figure_is_what_a_buffered_mark_measures() -> None:
    measured = traced_bytes_per_mark(5_000)  # benchmarks/replay_buffer_memory.py's measure
    row = table_row("memory")
    figure = re.search(r"about (\d+) bytes a mark", row)
    full = re.search(r"(\d+) MB when full", row)
    assert figure and full, row
    assert abs(int(figure.group(1)) - measured) <= 0.05 * measured, measured
    assert int(full.group(1)) == round(int(figure.group(1)) * DEFAULT_REPLAY_BUFFER / 1e6)
    assert "benchmarks/replay_buffer_memory.py" in row
    assert f"about {figure.group(1)}\n  bytes a mark" in TEXT


def test_the_cost_of_a_mark_is_given_as_ratios_to_a_plain_pipeline() -> None:
    # Microseconds do not reproduce on another machine; ratios to the pipeline do, given
    # with the round trip they were measured against.
    for label in ("`repository.mark([mark])`", "`mark_event(...)`"):
        row = table_row(label)
        assert "µs" not in row and re.search(r"\d\.\d\dx", row), row
    assert "µs" in table_row("plain pipeline of 3 `SETBIT`s (the round trip measured against)")
    assert "`.venv/bin/python benchmarks/marking.py`" in TEXT
