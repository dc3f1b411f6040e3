"""``flask bitmapist trend`` and ``flask bitmapist lifecycle``: tables, CSV, and JSON equal
to the API's."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest

from flask_bitmapist.domain import InvalidAnswerSpec, Mark
from tests.unit.flask.cli.support import Cli, assert_clean_failure, make_app
from tests.unit.flask.support import DownRepository


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    """Users 1-4 active over 24-27 November (now is the 27th); 1 was active in March."""
    cli.mark("active", [1], day=24)
    cli.mark("active", [1, 2], day=25)
    cli.mark("active", [3], day=26)
    cli.mark("active", [1, 3, 4], day=27)
    cli.mark("paid", [2], day=27)
    cli.repository.mark([Mark.create("active", 1, datetime(2026, 3, 2))])
    return cli


def run_json(cli: Cli, *args: str) -> Any:
    result = cli(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_trend_json_equals_the_api(seeded: Cli) -> None:
    document = run_json(seeded, "trend", "active", "active | paid", "--periods", "4")
    assert document == {
        "dates": [
            "2026-11-24T00:00:00+00:00",
            "2026-11-25T00:00:00+00:00",
            "2026-11-26T00:00:00+00:00",
            "2026-11-27T00:00:00+00:00",
        ],
        "series": [
            {"expr": "active", "counts": [1, 2, 1, 3]},
            {"expr": "active | paid", "counts": [1, 2, 1, 4]},
        ],
        "complete": [True, True, True, False],
    }
    api = seeded.app.test_client().get(
        "/bitmapist/api/trend?expr=active&expr=active+|+paid&periods=4"
    )
    assert document == api.get_json()


def test_a_rolling_trend_counts_each_user_once_per_window(seeded: Cli) -> None:
    document = run_json(seeded, "trend", "active", "--periods", "2", "--rolling", "3")
    # 25-27: users 1, 2, 3, 4; 24-26: users 1, 2, 3.
    assert document["series"][0]["counts"] == [3, 4]


def test_lifecycle_json_equals_the_api(seeded: Cli) -> None:
    document = run_json(seeded, "lifecycle", "active", "--periods", "3")
    assert document == {
        "dates": [
            "2026-11-25T00:00:00+00:00",
            "2026-11-26T00:00:00+00:00",
            "2026-11-27T00:00:00+00:00",
        ],
        "new": [1, 1, 1],  # 2 on the 25th, 3 on the 26th, 4 on the 27th (1 was seen in March)
        "returning": [1, 0, 1],
        "resurrecting": [0, 0, 1],
        "dormant": [0, 2, 0],
        "complete": [True, True, False],
    }
    api = seeded.app.test_client().get("/bitmapist/api/lifecycle?expr=active&periods=3")
    assert document == api.get_json()


def test_tables_show_one_line_per_period(seeded: Cli) -> None:
    result = seeded("trend", "active", "active & ~paid", "--periods", "2", "--rolling", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "users by day, rolling 2; now 2026-11-27T13:45:00+00:00 (UTC)"
    assert lines[2].split() == ["active", "active", "&", "~paid"]
    assert lines[3].split() == ["26", "Nov", "2026", "3", "3"]
    assert lines[4].split() == ["27", "Nov", "2026", "(incomplete)", "3", "3"]

    result = seeded("lifecycle", "active", "--periods", "1", "--time-group", "weeks")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2].split() == ["new", "returning", "resurrecting", "dormant"]
    assert lines[3].split() == ["W48", "·", "23", "Nov", "2026", "(incomplete)", "3", "0", "1", "0"]


def test_csv_has_a_header_and_a_row_per_period(seeded: Cli) -> None:
    result = seeded("trend", "active", "paid", "--periods", "2", "--format", "csv")
    assert list(csv.reader(io.StringIO(result.output))) == [
        ["date", "active", "paid"],
        ["2026-11-26T00:00:00+00:00", "1", "0"],
        ["2026-11-27T00:00:00+00:00", "3", "1"],
    ]
    result = seeded("lifecycle", "paid", "--periods", "1", "--format", "csv")
    assert list(csv.reader(io.StringIO(result.output))) == [
        ["date", "new", "returning", "resurrecting", "dormant"],
        ["2026-11-27T00:00:00+00:00", "1", "0", "0", "0"],
    ]


def test_now_pins_the_window(seeded: Cli) -> None:
    document = run_json(seeded, "trend", "active", "--periods", "2", "--now", "2026-11-25T08:00Z")
    assert document["dates"] == ["2026-11-24T00:00:00+00:00", "2026-11-25T00:00:00+00:00"]
    assert document["series"][0]["counts"] == [1, 2]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["trend"], ["Missing argument 'EXPR...'"]),
        (["trend", "a &"], ["Invalid value for EXPR", "expected an event name"]),
        (["trend", "a", "--periods", "0"], ["--periods", "between 1 and 1000, got 0"]),
        (["trend", "a", "--rolling", "400"], ["--rolling", "between 1 and 366, got 400"]),
        (["trend", "a", "--time-group", "ages"], ["--time-group", "'ages'"]),
        (["trend", "a", "--now", "later"], ["--now"]),
        (["trend", *["a"] * 11], ["1 to 10 expressions, got 11"]),
        (["trend", "a", "--format", "xml"], ["--format"]),
        (["lifecycle", "a & b"], ["Invalid value for EXPR", "OR of events"]),
        (["lifecycle", "a", "--periods", "9000", "--time-group", "hours"], ["--periods", "8760"]),
    ],
)
def test_bad_arguments_are_usage_errors(seeded: Cli, args: list[str], fragments: list[str]) -> None:
    assert_clean_failure(seeded(*args), 2, *fragments)


@pytest.mark.parametrize("command", ["trend", "lifecycle"])
def test_storage_down_is_one_line_and_status_1(command: str) -> None:
    cli = Cli(make_app(lambda _settings: DownRepository()))
    assert_clean_failure(cli(command, "active"), 1, "is unavailable")


def test_a_field_error_from_the_domain_points_at_its_option(seeded: Cli) -> None:
    # Pinned before the years the calendar supports: the spec names now.
    result = seeded(
        "trend", "a", "--time-group", "years", "--periods", "1000", "--now", "0900-01-01"
    )
    assert_clean_failure(result, 2, "--now", "outside the calendar")
    assert issubclass(InvalidAnswerSpec, ValueError)
