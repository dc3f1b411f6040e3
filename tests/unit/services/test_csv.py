"""The one CSV writer: formula-leading text is escaped, numbers stay numbers, and no other
module of the package writes CSV."""

from __future__ import annotations

import ast
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


def csv_writer_calls(path: Path) -> list[str]:
    """``function`` for each call of csv.writer or csv.DictWriter in the file at ``path``."""
    found: list[str] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("writer", "DictWriter")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "csv"
        ):
            found.append(function)
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return found


def test_every_csv_of_the_package_goes_through_the_one_writer() -> None:
    package = Path(flask_bitmapist.__file__).parent
    calls = [
        f"{path.relative_to(package).as_posix()}:{function}"
        for path in sorted(package.rglob("*.py"))
        for function in csv_writer_calls(path)
    ]
    assert calls == ["services/reports.py:to_csv"]
