"""``flask bitmapist cohort``: cohort tables in the terminal, as CSV and as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.flask.cli.support import Cli, assert_clean_failure, make_app


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    """Four users over 25-27 November (now is the 27th)."""
    cli.mark("user:created", [1, 2], day=25)
    cli.mark("user:created", [3], day=26)
    cli.mark("user:created", [4], day=27)
    cli.mark("user:logged_in", [1], day=25)
    cli.mark("user:logged_in", [1, 3], day=26)
    cli.mark("user:logged_in", [1, 2], day=27)
    cli.mark("user:paid", [1], day=26)
    cli.mark("user:paid", [2], day=27)
    cli.mark("user:refunded", [2, 3], day=27)
    return cli


def cohort_json(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("cohort", *args, "--rows", "3", "--cols", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


@pytest.mark.parametrize(
    ("mode", "cells"),
    [
        ("first_return", [[1, 0, 1], [1, 0, None], [0, None, None]]),
        ("recurring", [[1, 1, 2], [1, 0, None], [0, None, None]]),
        ("cumulative", [[2, 2, 2], [1, 0, None], [0, None, None]]),
    ],
)
def test_each_mode_counts_its_own_way(seeded: Cli, mode: str, cells: list[list[int]]) -> None:
    document = cohort_json(seeded, "user:created", "user:logged_in", "--mode", mode)
    assert document["dates"] == [f"2026-11-{d}T00:00:00+00:00" for d in (25, 26, 27)]
    assert document["totals"] == [2, 1, 1]
    assert document["cells"] == cells
    assert document["spec"]["mode"] == mode


def test_the_table_is_aligned_with_averages_and_totals(seeded: Cli) -> None:
    result = seeded(
        "cohort", "user:created", "user:logged_in", "--rows", "3", "--cols", "3",
        "--mode", "recurring",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output == (
        "primary:   user:created\n"
        "secondary: user:logged_in\n"
        "by day, recurring, users; now 2026-11-27T13:45:00+00:00 (UTC)\n"
        "\n"
        "             users  Day 0  Day 1   Day 2\n"
        "25 Nov 2026      2      1      1      2*\n"
        "26 Nov 2026      1      1     0*\n"
        "27 Nov 2026      1     0*\n"
        "average        1.3    0.7    0.5     2.0\n"
        "weighted            50.0%  33.3%  100.0%\n"
        "total            4      2      1       2\n"
        "* the period containing now: not over yet (incomplete)\n"
    )


def test_percent_shows_cells_as_shares_of_the_row(seeded: Cli) -> None:
    result = seeded(
        "cohort", "user:created", "user:logged_in", "--rows", "3", "--cols", "3",
        "--mode", "recurring", "--percent",
    )  # fmt: skip
    lines = result.output.splitlines()
    assert lines[2].endswith("percent of users; now 2026-11-27T13:45:00+00:00 (UTC)")
    assert lines[5] == "25 Nov 2026      2   50.0%  50.0%  100.0%*"
    assert lines[7] == "27 Nov 2026      1   0.0%*"
    assert lines[8] == "average        1.3   50.0%  25.0%   100.0%"


def test_csv_output_is_the_dashboards_csv(seeded: Cli) -> None:
    result = seeded(
        "cohort", "user:created", "user:logged_in", "--rows", "3", "--cols", "3",
        "--mode", "recurring", "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "date,users,Day 0,Day 1,Day 2"
    assert lines[1:4] == [
        "2026-11-25T00:00:00+00:00,2,1,1,2",
        "2026-11-26T00:00:00+00:00,1,1,0,",
        "2026-11-27T00:00:00+00:00,1,0,,",
    ]


def test_and_or_keep_their_command_line_order(seeded: Cli) -> None:
    # 0.1's chain: each OR binds to the event just before it.
    chained = cohort_json(
        seeded, "user:created", "user:logged_in", "--and", "user:paid", "--or", "user:refunded",
        "--mode", "recurring",
    )  # fmt: skip
    assert chained["spec"]["secondary"] == "user:logged_in & (user:paid | user:refunded)"
    assert chained["cells"] == [[0, 1, 1], [0, 0, None], [0, None, None]]
    swapped = cohort_json(
        seeded, "user:created", "user:logged_in", "--or", "user:refunded", "--and", "user:paid",
        "--mode", "recurring",
    )  # fmt: skip
    assert swapped["spec"]["secondary"] == "(user:logged_in | user:refunded) & user:paid"
    assert swapped["cells"] == [[0, 1, 1], [0, 0, None], [0, None, None]]
    longer = cohort_json(
        seeded, "user:created", "user:logged_in", "--and", "user:paid", "--and", "user:refunded",
        "--or", "user:created", "--mode", "recurring",
    )  # fmt: skip
    assert longer["spec"]["secondary"] == (
        "user:logged_in & user:paid & (user:refunded | user:created)"
    )


def test_expr_is_the_secondary_as_text(seeded: Cli) -> None:
    document = cohort_json(
        seeded, "user:created", "--expr", "user:logged_in & ~user:refunded", "--mode", "recurring"
    )
    assert document["spec"]["secondary"] == "user:logged_in & ~user:refunded"
    # User 2 (logged in on the 27th) refunded that day, so drops out of that cell.
    assert document["cells"] == [[1, 1, 1], [1, 0, None], [0, None, None]]


def test_weeks_and_now_choose_the_rows(seeded: Cli) -> None:
    document = cohort_json(
        seeded, "user:created", "user:paid", "--time-group", "weeks", "--now", "2026-12-01"
    )
    assert document["dates"] == [
        "2026-11-16T00:00:00+00:00",
        "2026-11-23T00:00:00+00:00",
        "2026-11-30T00:00:00+00:00",
    ]
    assert document["totals"] == [0, 4, 0]
    # Rows without users have no values at all (0.1's behaviour).
    assert document["cells"] == [[None, None, None], [2, 0, None], [None, None, None]]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--time-group", "fortnights"], ["'fortnights'", "--time-group"]),
        (["--rows", "0"], ["--rows", "0"]),
        (["--cols", "abc"], ["--cols", "abc"]),
        (["--mode", "sometimes"], ["--mode", "sometimes"]),
        (["--format", "xml"], ["--format", "xml"]),
        (["--now", "tomorrow"], ["--now", "'tomorrow'"]),
        (["--and", "bad\tname"], ["--and", "'bad\\tname'"]),
    ],
)
def test_bad_options_are_usage_errors_naming_the_value(
    seeded: Cli, args: list[str], fragments: list[str]
) -> None:
    result = seeded("cohort", "user:created", "user:logged_in", *args)
    assert_clean_failure(result, 2, *fragments)


def test_a_bad_event_name_is_a_usage_error(seeded: Cli) -> None:
    result = seeded("cohort", "user\ncreated", "user:logged_in")
    assert_clean_failure(result, 2, "PRIMARY", "'user\\ncreated'")


def test_events_bitmapist_named_with_spaces_can_be_chained(spaced_cli: Cli) -> None:
    document = cohort_json(
        spaced_cli, "signed up", "song played", "--or", "song skipped", "--mode", "recurring"
    )
    assert document["totals"] == [3, 0, 0]
    assert document["cells"][0] == [0, 0, 2]
    assert document["spec"]["secondary"] == '"song played" | "song skipped"'


def test_the_expression_quotes_events_named_with_spaces(spaced_cli: Cli) -> None:
    document = cohort_json(spaced_cli, "signed up", "--expr", '"song played" & ~"song skipped"')
    assert document["cells"][0] == [0, 0, 1]


def test_a_missing_secondary_is_a_usage_error(seeded: Cli) -> None:
    assert_clean_failure(seeded("cohort", "user:created"), 2, "SECONDARY", "--expr")


def test_expr_replaces_secondary_and_the_chain(seeded: Cli) -> None:
    both = seeded("cohort", "user:created", "user:paid", "--expr", "user:paid")
    assert_clean_failure(both, 2, "not both")
    chained = seeded("cohort", "user:created", "--expr", "user:paid", "--and", "user:refunded")
    assert_clean_failure(chained, 2, "--and/--or")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("user:paid &", "position 11"), ("~user:paid", "negation"), ("(a | b", "not closed")],
)
def test_a_bad_expression_is_a_usage_error_with_its_position(
    seeded: Cli, text: str, fragment: str
) -> None:
    result = seeded("cohort", "user:created", "--expr", text)
    assert_clean_failure(result, 2, "--expr", fragment)


def test_a_cohort_larger_than_the_configured_bound_is_refused() -> None:
    cli = Cli(make_app(BITMAPIST_MAX_COHORT_CELLS=20))
    result = cli("cohort", "user:created", "user:paid", "--rows", "5", "--cols", "5")
    assert_clean_failure(result, 2, "25 cells", "at most 20")
