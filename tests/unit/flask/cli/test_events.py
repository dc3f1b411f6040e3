"""``flask bitmapist events``: every event with its counts today, this week, month, year."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from flask_bitmapist.domain import Mark
from tests.unit.flask.cli.support import Cli


def seed(cli: Cli) -> None:
    # Friday 27 Nov is "today"; the ISO week started Monday 23 Nov.
    cli.mark("user:created", [1, 2, 3], day=27)
    cli.mark("user:created", [4, 5], day=24)
    cli.mark("user:created", [6], day=2)
    cli.mark("user:paid", [1], day=27)
    cli.mark("user:paid", range(100, 1300), day=22)
    january = datetime(2026, 1, 15, tzinfo=timezone.utc)
    cli.repository.mark([Mark.create("user:created", 7, january)])


def test_events_prints_an_aligned_table_of_counts_per_period(cli: Cli) -> None:
    seed(cli)
    result = cli("events")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "now 2026-11-27T13:45:00+00:00 (UTC)\n"
        "\n"
        "event         today  this week  this month  this year\n"
        "user:created      3          5           6          7\n"
        "user:paid         1          1       1,201      1,201\n"
    )


def test_events_as_json_names_the_periods(cli: Cli) -> None:
    seed(cli)
    result = cli("events", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["now"] == "2026-11-27T13:45:00+00:00"
    assert document["periods"]["this week"] == {
        "start": "2026-11-23T00:00:00+00:00",
        "end": "2026-11-30T00:00:00+00:00",
    }
    assert document["events"] == [
        {"event": "user:created", "today": 3, "this week": 5, "this month": 6, "this year": 7},
        {"event": "user:paid", "today": 1, "this week": 1, "this month": 1201, "this year": 1201},
    ]


def test_events_as_csv(cli: Cli) -> None:
    seed(cli)
    result = cli("events", "--format", "csv")
    assert result.output.splitlines() == [
        "event,today,this week,this month,this year",
        "user:created,3,5,6,7",
        "user:paid,1,1,1201,1201",
    ]


def test_events_counts_as_of_another_moment_with_now(cli: Cli) -> None:
    seed(cli)
    result = cli("events", "--now", "2026-11-24T09:00:00Z", "--format", "csv")
    # The 24th had two sign-ups; the week and the month are the same periods as today's.
    assert result.output.splitlines()[1] == "user:created,2,5,6,7"
    result = cli("events", "--now", "2026-10-01", "--format", "csv")
    assert result.output.splitlines()[1] == "user:created,0,0,0,7"


def test_events_with_no_data_says_so(cli: Cli) -> None:
    result = cli("events")
    assert result.exit_code == 0
    assert result.output == "No events recorded yet.\n"


def test_event_names_with_commas_are_quoted_in_csv(cli: Cli) -> None:
    cli.mark('signup,"beta"', [1], day=27)
    result = cli("events", "--format", "csv")
    assert result.output.splitlines()[1] == '"signup,""beta""",1,1,1,1'


def test_events_bitmapist_named_with_spaces_are_listed(spaced_cli: Cli) -> None:
    result = spaced_cli("events", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "event,today,this week,this month,this year",
        "signed up,0,3,3,3",
        "song played,1,1,1,1",
        "song skipped,1,1,1,1",
    ]


def test_an_event_named_like_a_formula_is_escaped_in_csv(cli: Cli) -> None:
    # A spreadsheet opening the file would run the name as a formula (issue: CSV injection).
    cli.mark('=HYPERLINK("http://x","y")', [1], day=27)
    cli.mark("user:paid", [1, 2], day=27)
    result = cli("events", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "event,today,this week,this month,this year",
        '"\'=HYPERLINK(""http://x"",""y"")",1,1,1,1',
        "user:paid,2,2,2,2",
    ]
