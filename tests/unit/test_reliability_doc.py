"""docs/reliability.md gives the code's numbers for the buffer, the breaker, the replay
and the log interval (its examples run in tests/unit/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

from flask_bitmapist.domain import MARK_CHUNK_SIZE
from flask_bitmapist.flask.config import DEFAULTS
from flask_bitmapist.infra._resp import SMALL_WRITE
from flask_bitmapist.services.replay import REQUEST_REPLAY_LIMIT

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
