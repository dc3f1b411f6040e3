"""A breakdown's blocks on an answer page (``breakdown=P``, DESIGN section 13): each
group's table, whose numbers list their users like the answer's own.

Each block shows the group's CSV rows (the kind's ``csv_rows``); a number that stands for
users carries the users route's query for it (``series=0&index=3``, ``k=2``,
``reached=1``, ``row=0&col=2``...), with the group (``group=pro``; ``group=`` for everyone
else). The page appends it to its users URL, which carries ``breakdown=P``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import attrs

from flask_bitmapist.services.answers import Breakdown
from flask_bitmapist.services.reports import CsvCell

__all__ = ["BreakdownCell", "GroupTable", "group_tables"]


@attrs.frozen
class BreakdownCell:
    """One cell of a group's table: its value, and the query of its users ("": none)."""

    value: CsvCell
    query: str = ""
    title: str = ""


@attrs.frozen
class GroupTable:
    """One group's block: its value (None: everyone else), heading and table."""

    value: str | None
    title: str
    header: tuple[CsvCell, ...]
    rows: tuple[tuple[BreakdownCell, ...], ...]


#: Per kind: which users the cell at (row, column) of the CSV body lists, as the users
#: route's query ("" for a cell that is no count of users), given the header and result.
_Drill = Callable[[int, int, Sequence[CsvCell], Any], str]


def _trend(row: int, col: int, header: Sequence[CsvCell], result: Any) -> str:
    # date, then a column per series; compared: date, previous date, then each series
    # and its previous window's count (which no users route lists).
    first, step = (2, 2) if result.previous is not None else (1, 1)
    if col < first or (col - first) % step:
        return ""
    return f"series={(col - first) // step}&index={row}"


def _lifecycle(row: int, col: int, header: Sequence[CsvCell], result: Any) -> str:
    return f"status={header[col]}&index={row}" if col >= 1 else ""


def _stickiness(row: int, col: int, header: Sequence[CsvCell], result: Any) -> str:
    # The last line is the total, which no drill-down lists.
    return f"k={row + 1}" if col == 1 and row < len(result.counts) else ""


def _funnel(row: int, col: int, header: Sequence[CsvCell], result: Any) -> str:
    # step, expression, users, (previous,) from previous %, from first %, dropped
    dropped = 6 if result.previous is not None else 5
    return {2: f"reached={row + 1}", dropped: f"dropped={row + 1}"}.get(col, "")


def _cohort(row: int, col: int, header: Sequence[CsvCell], result: Any) -> str:
    # Cells after the date and the row's users; averages and totals list nobody.
    return f"row={row}&col={col - 2}" if col >= 2 and row < len(result.totals) else ""


_DRILLS: dict[str, _Drill] = {
    "trend": _trend,
    "lifecycle": _lifecycle,
    "stickiness": _stickiness,
    "funnel": _funnel,
    "cohort": _cohort,
}


def _positive(value: CsvCell) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    try:
        return float(value) > 0
    except ValueError:
        return False


def group_tables(breakdown: Breakdown[Any, Any]) -> list[GroupTable]:
    """Each group's table, largest group first, everyone else last; a positive count
    carries the query of its users within the group."""
    tables = []
    for value, answer in breakdown.groups:
        title = "Everyone else" if value is None else f"{breakdown.name} = {value}"
        header, *body = answer.kind.csv_rows(answer.result, answer.options)
        drill = _DRILLS.get(answer.kind.name)
        group = urlencode({"group": "" if value is None else value})
        rows = []
        for r, line in enumerate(body):
            cells = []
            for c, cell in enumerate(line):
                query = drill(r, c, header, answer.result) if drill and _positive(cell) else ""
                cells.append(
                    BreakdownCell(
                        cell, f"{query}&{group}", f"{title}, {line[0]}, {header[c]}: {cell}"
                    )
                    if query
                    else BreakdownCell(cell)
                )
            rows.append(tuple(cells))
        tables.append(GroupTable(value, title, tuple(header), tuple(rows)))
    return tables
