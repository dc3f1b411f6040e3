"""``--compare previous`` in the CLI's tables and CSV (trend, stickiness, funnel), and the
API's ``format=csv`` with ``compare=previous``: the previous window beside the answer."""

from __future__ import annotations

import csv
import io

import pytest

from tests.unit.flask.cli.support import Cli


@pytest.fixture
def weeks(cli: Cli) -> Cli:
    """Users 1-3 viewed on the 26th (within the last 7 days, now the 27th); users 4 and 5
    on the 19th (the 7 days before); users 1 and 4 paid the day they viewed."""
    cli.mark("viewed", [1, 2, 3], day=26)
    cli.mark("viewed", [4, 5], day=19)
    cli.mark("paid", [1], day=26)
    cli.mark("paid", [4], day=19)
    return cli


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_trend_csv_has_a_previous_column_after_each_series(weeks: Cli) -> None:
    args = ("trend", "viewed", "paid", "--periods", "7", "--compare", "previous")
    result = weeks(*args, "--format", "csv")
    assert result.exit_code == 0, result.output
    header, *body = rows(result.output)
    assert header == ["date", "previous date", "viewed", "viewed previous", "paid", "paid previous"]
    yesterday = body[-2]
    assert yesterday[0].startswith("2026-11-26") and yesterday[1].startswith("2026-11-19")
    assert yesterday[2:] == ["3", "2", "1", "1"]

    table = weeks(*args).output.splitlines()
    assert "previous: 14 Nov 2026 to 20 Nov 2026" in table[0]
    assert table[2].split() == ["viewed", "previous", "change", "paid", "previous", "change"]
    assert table[-2].split()[-7:] == ["3", "2", "+1", "(+50.0%)", "1", "1", "0"]


def test_stickiness_and_funnel_show_the_previous_counts_and_the_change(weeks: Cli) -> None:
    sticky = weeks("stickiness", "viewed", "--periods", "7", "--compare", "previous")
    assert sticky.exit_code == 0, sticky.output
    lines = sticky.output.splitlines()
    assert lines[3].split() == ["days", "users", "previous", "change", "share"]
    assert lines[4].split() == ["1", "3", "2", "+1", "(+50.0%)", "100.0%"]
    sticky_csv = weeks(
        "stickiness", "viewed", "--periods", "7", "--compare", "previous", "--format", "csv"
    )
    assert rows(sticky_csv.output)[:2] == [
        ["days", "users", "previous", "percent"],
        ["1", "3", "2", "100.00"],
    ]

    funnel = weeks("funnel", "viewed", "paid", "--periods", "7", "--compare", "previous")
    header, *steps = funnel.output.splitlines()[2:]
    assert header.split()[4:7] == ["users", "previous", "change"]
    assert steps[0].split()[2:6] == ["3", "2", "+1", "(+50.0%)"]
    assert steps[1].split()[2:5] == ["1", "1", "0"]
    funnel_csv = weeks(
        "funnel", "viewed", "paid", "--periods", "7", "--compare", "previous", "--format", "csv"
    )
    assert [row[:4] for row in rows(funnel_csv.output)] == [
        ["step", "expression", "users", "previous"],
        ["1", "viewed", "3", "2"],
        ["2", "paid", "1", "1"],
    ]


def test_the_apis_csv_carries_the_same_columns(weeks: Cli) -> None:
    client = weeks.app.test_client()
    query = "step=viewed&step=paid&periods=7&compare=previous&format=csv"
    api = client.get(f"/bitmapist/api/funnel?{query}").get_data(as_text=True)
    cli = weeks(
        "funnel", "viewed", "paid", "--periods", "7", "--compare", "previous", "--format", "csv"
    ).output
    assert rows(api) == rows(cli)
    assert rows(api)[0][3] == "previous"
