"""The one CSV writer: formula-leading text is escaped, numbers stay numbers, and no other
module of the package writes CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import flask_bitmapist
from flask_bitmapist.services.reports import CsvCell, escape_csv_cell, to_csv

HYPERLINK = '=HYPERLINK("http://x","y")'


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    "text",
    [HYPERLINK, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tx", "\rx", "=1", "-", "+"],
)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert escape_csv_cell(text) == "'" + text
    assert read(to_csv([[text]])) == [["'" + text]]


@pytest.mark.parametrize("number", [-3, -0.5, 0, 12, 1e-9, "-12.50", "+3", "-1e6", "12.50"])
def test_numbers_stay_numbers_negative_ones_too(number: CsvCell) -> None:
    assert escape_csv_cell(number) == number
    assert read(to_csv([[number]])) == [[str(number)]]


@pytest.mark.parametrize("text", ["user:paid", "a=b", 'signup,"beta"', "", "x-1", "1-2"])
def test_other_text_is_written_as_it_is(text: str) -> None:
    assert escape_csv_cell(text) == text
    assert read(to_csv([[text]])) == [[text]]


def test_none_is_an_empty_cell_and_the_line_end_is_chosen_by_the_caller() -> None:
    assert to_csv([["a", None, 1]]) == "a,,1\r\n"
    assert to_csv([["a", None, 1]], lineterminator="\n") == "a,,1\n"


@given(st.text())
def test_no_written_cell_starts_a_formula_unless_it_is_a_number(text: str) -> None:
    ((cell,),) = read(to_csv([[text]]))
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        assert re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?", cell), cell
    assert cell in (text, "'" + text)


def test_every_csv_of_the_package_goes_through_the_one_writer() -> None:
    package = Path(flask_bitmapist.__file__).parent
    writers = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    ]
    assert writers == ["services/reports.py"]
