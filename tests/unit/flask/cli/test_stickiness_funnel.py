"""``flask bitmapist stickiness``, ``funnel`` and ``cohort --first-time``: tables, CSV and
JSON equal to the API's."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from flask_bitmapist.domain import Mark
from tests.unit.flask.cli.support import Cli, assert_clean_failure, make_app
from tests.unit.flask.support import DownRepository


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    """Users over 21-27 November (now is the 27th); user 3 pays before viewing, user 4
    views, adds and pays on one day; user 1 paid first in 2025."""
    cli.mark("viewed", [1, 2, 3], day=21)
    cli.mark("viewed", [1], day=23)
    cli.mark("viewed", [4], day=26)
    cli.mark("cart", [1, 2, 4], day=26)
    cli.mark("cart", [3], day=20)
    cli.mark("paid", [1, 4], day=26)
    cli.mark("paid", [3], day=20)
    cli.mark("paid", [1], day=27)
    cli.mark("paid", [2], day=27)
    cli.repository.mark([Mark.create("paid", 1, datetime(2025, 3, 2, tzinfo=timezone.utc))])
    return cli


def output_json(cli: Cli, *args: str) -> Any:
    result = cli(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def api_json(cli: Cli, path: str, pairs: list[tuple[str, str]]) -> Any:
    response = cli.app.test_client().get(f"/bitmapist/api/{path}?{urlencode(pairs)}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# -- stickiness ----------------------------------------------------------------------------


def test_stickiness_counts_users_by_days_matched(seeded: Cli) -> None:
    document = output_json(seeded, "stickiness", "viewed | cart", "--periods", "7")

    # viewed|cart per user: 1 on 21, 23, 26; 2 on 21, 26; 3 on 21; 4 on 26.
    assert document == {"periods": 7, "counts": [2, 1, 1, 0, 0, 0, 0]}


@pytest.mark.parametrize(
    "args", [("paid", "--periods", "7"), ("viewed", "--time-group", "weeks", "--periods", "3")]
)
def test_stickiness_json_equals_the_api(seeded: Cli, args: tuple[str, ...]) -> None:
    expr, *options = args
    pairs = [("expr", expr)]
    for name, value in zip(options[::2], options[1::2], strict=True):
        pairs.append((name.lstrip("-").replace("-", "_"), value))

    assert output_json(seeded, "stickiness", *args) == api_json(seeded, "stickiness", pairs)


def test_stickiness_table_and_csv(seeded: Cli) -> None:
    # paid: user 1 on the 26th and 27th, user 4 on the 26th, user 2 on the 27th.
    table = seeded("stickiness", "paid", "--periods", "3")
    text = seeded("stickiness", "paid", "--periods", "3", "--format", "csv")

    assert table.exit_code == 0, table.output
    assert table.output == (
        "expr: paid\n"
        "3 days from 25 Nov 2026 to 27 Nov 2026; now 2026-11-27T13:45:00+00:00 (UTC)\n"
        "\n"
        " days  users  share\n"
        "    1      2  66.7%\n"
        "    2      1  33.3%\n"
        "    3      0   0.0%\n"
        "total      3\n"
    )
    assert list(csv.reader(io.StringIO(text.output)))[:2] == [
        ["days", "users", "percent"],
        ["1", "2", "66.67"],
    ]


# -- funnels -------------------------------------------------------------------------------


def test_a_funnel_follows_the_order_of_its_steps(seeded: Cli) -> None:
    document = output_json(seeded, "funnel", "viewed", "cart", "paid", "--periods", "7")

    # 3 added to cart and paid on the 20th, before the window and before viewing;
    # 4 did all three on the 26th; 2 viewed, added, then paid on the 27th.
    assert document == {"steps": ["viewed", "cart", "paid"], "counts": [4, 3, 3]}


@pytest.mark.parametrize(
    ("steps", "options"),
    [
        (("viewed", "cart", "paid"), ("--periods", "7")),
        (("paid", "viewed"), ("--periods", "10")),
        (("viewed", "cart | paid"), ("--time-group", "weeks", "--periods", "2")),
    ],
)
def test_funnel_json_equals_the_api(
    seeded: Cli, steps: tuple[str, ...], options: tuple[str, ...]
) -> None:
    pairs = [("step", s) for s in steps]
    for name, value in zip(options[::2], options[1::2], strict=True):
        pairs.append((name.lstrip("-").replace("-", "_"), value))

    assert output_json(seeded, "funnel", *steps, *options) == api_json(seeded, "funnel", pairs)


def test_funnel_table_shows_conversions_and_drop_offs(seeded: Cli) -> None:
    result = seeded("funnel", "viewed", "cart", "paid", "--periods", "7")

    assert result.exit_code == 0, result.output
    assert result.output == (
        "3 steps within 7 days; now 2026-11-27T13:45:00+00:00 (UTC)\n"
        "\n"
        "step  users who did  users  from previous  from first  dropped\n"
        "1     viewed             4         100.0%      100.0%        1\n"
        "2     cart               3          75.0%       75.0%        0\n"
        "3     paid               3         100.0%       75.0%\n"
    )


def test_funnel_csv(seeded: Cli) -> None:
    result = seeded("funnel", "viewed", "paid", "--periods", "7", "--format", "csv")

    rows = list(csv.reader(io.StringIO(result.output)))
    assert rows[0] == ["step", "expression", "users", "from previous %", "from first %", "dropped"]
    assert [row[2] for row in rows[1:]] == ["4", "3"]


# -- first-time cohorts --------------------------------------------------------------------


def test_cohort_first_time_leaves_out_earlier_payers(seeded: Cli) -> None:
    args = ("cohort", "paid", "paid", "--rows", "3", "--cols", "2", "--mode", "recurring")
    plain = output_json(seeded, *args)
    first = output_json(seeded, *args, "--first-time")

    assert plain["totals"] == [0, 2, 2]
    assert first["totals"] == [0, 1, 1]  # user 4 on the 26th, user 2 on the 27th
    assert first["spec"]["first_time"] is True
    query = urlencode(
        {"primary": "paid", "secondary": "paid", "rows": 3, "cols": 2, "mode": "recurring"}
    )
    api = seeded.app.test_client().get(f"/bitmapist/api/cohort?{query}&first_time=1").get_json()
    assert first == api
    table = seeded(*args, "--first-time")
    assert "recurring, first time only" in table.output


# -- bad input and storage -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("stickiness", "paid &"), ("EXPR", "position")),
        (("stickiness", "~paid"), ("EXPR", "lone negation")),
        (("stickiness", "paid", "--periods", "0"), ("--periods",)),
        (("stickiness", "paid", "--periods", "1001"), ("--periods",)),
        (("stickiness", "paid", "--time-group", "fortnights"), ("--time-group",)),
        (("stickiness", "paid", "--now", "soon"), ("--now",)),
        (("funnel", "paid"), ("STEP", "2 to 10 steps")),
        (("funnel", *["paid"] * 11), ("STEP", "2 to 10 steps")),
        (("funnel",), ("STEP",)),
        (("funnel", "paid", "(cart"), ("STEP", "step 2")),
        (("funnel", "paid", "cart", "--format", "xml"), ("--format",)),
    ],
)
def test_bad_input_is_a_usage_error(
    seeded: Cli, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    assert_clean_failure(seeded(*args), 2, *fragments)


@pytest.mark.parametrize(
    "args", [("stickiness", "paid"), ("funnel", "a", "b"), ("cohort", "a", "b", "--first-time")]
)
def test_storage_down_is_a_one_line_error(args: tuple[str, ...]) -> None:
    cli = Cli(make_app(lambda _settings: DownRepository()))

    assert_clean_failure(cli(*args), 1, "unavailable")


def test_the_new_commands_are_listed(cli: Cli) -> None:
    result = cli("--help")

    assert "stickiness" in result.output and "funnel" in result.output
