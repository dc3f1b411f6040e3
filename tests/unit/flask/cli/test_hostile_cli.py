"""Hostile input on the command line: usage errors, never tracebacks (issue 11, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import fakeredis
import pytest

from flask_bitmapist.infra import RedisRepository
from tests.unit.flask.cli.support import Cli, assert_clean_failure, make_app


@pytest.mark.parametrize(
    "now",
    ["0001-01-01", "9999-12-31T23:00-05:00", "-62135596800", "0001-01-01T00:00:00+01:00"],
)
def test_a_now_outside_the_calendar_is_a_usage_error(cli: Cli, now: str) -> None:
    result = cli("cohort", "a", "b", "--now", now)
    assert_clean_failure(result, 2, "--now", "only years 1000 to 9000")


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("(" * 250 + "a" + ")" * 250, "at most 32 levels"),
        ("~" * 100_000 + "a", "at most 65536"),
        (" & ".join(f"e{i}" for i in range(101)), "BITMAPIST_MAX_EXPRESSION_TERMS"),
    ],
    ids=["nested", "negations", "terms"],
)
def test_a_hostile_expr_is_a_usage_error(cli: Cli, expr: str, fragment: str) -> None:
    result = cli("cohort", "a", "--expr", expr)
    assert_clean_failure(result, 2, "--expr", fragment)


def test_a_long_and_chain_is_a_usage_error_naming_the_setting(cli: Cli) -> None:
    options = [part for i in range(120) for part in ("--and", f"e{i}")]
    result = cli("cohort", "a", "b", *options)
    assert_clean_failure(result, 2, "BITMAPIST_MAX_EXPRESSION_TERMS")


def test_the_terms_setting_reaches_the_cli() -> None:
    cli = Cli(make_app(BITMAPIST_MAX_EXPRESSION_TERMS=200))
    result = cli("cohort", "a", "--expr", " & ".join(f"e{i}" for i in range(150)))
    assert result.exit_code == 0, result.output


def test_an_import_goes_on_past_rows_that_overflow_or_nest_100k_deep(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"user_id": 1, "event": "a", "timestamp": "2026-11-27"}\n'
        + "[" * 100_000
        + "\n"
        + '{"user_id": 2, "event": "a", "timestamp": "0001-01-01T00:00:00+01:00"}\n'
        + '{"user_id": 3, "event": "a", "timestamp": "2026-11-27"}\n'
    )
    result = cli("import", str(path))
    assert result.exit_code == 1, result.output  # bad rows make the exit code 1
    assert "Traceback" not in result.output
    assert "line 2: JSON nested more than 32 levels deep" in result.output
    assert "line 3: timestamp" in result.output
    assert "Imported 2 of 4 rows" in result.output
    assert cli.users("a", "day") == [1, 3]


def test_events_marks_counts_of_bitmaps_past_the_cap_as_lower_bounds() -> None:
    server = fakeredis.FakeServer()
    cli = Cli(
        make_app(
            lambda _settings: RedisRepository(fakeredis.FakeRedis(server=server)),
            BITMAPIST_MAX_USER_ID=100,
        )
    )
    cli.mark("played", [1, 2], day=27)
    # Another client's id, past the app's cap, in today's bitmap only.
    fakeredis.FakeRedis(server=server).setbit("trackist_played_2026-11-27", 5000, 1)
    table = cli("events")
    assert table.exit_code == 0, table.output
    line = next(row for row in table.output.splitlines() if row.startswith("played"))
    assert line.split()[1:4] == ["≥", "2", "2"]  # today: at least 2; this week: 2
    document = json.loads(cli("events", "--format", "json").output)
    [event] = document["events"]
    assert event["at_least"] == ["today"]
    assert event["today"] == 2
