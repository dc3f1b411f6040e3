"""A breakdown's blocks on an answer page (``breakdown=P``, DESIGN section 13): each
group's table, whose numbers list their users like the answer's own.

Each block shows the group's CSV rows (the kind's ``csv_rows``); a number that stands for
users carries the users route's query for it (the kind's ``csv_cell_users``:
``series=0&index=3``, ``k=2``, ``reached=1``, ``row=0&col=2``...), with the group
(``group=pro``; ``group=`` for everyone else). The page appends it to its users URL,
which carries ``breakdown=P``.
"""

from __future__ import annotations

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
        group = urlencode({"group": "" if value is None else value})
        rows = []
        for r, line in enumerate(body):
            cells = []
            for c, cell in enumerate(line):
                fields = (
                    answer.kind.csv_cell_users(answer.result, r, c) if _positive(cell) else None
                )
                query = "" if fields is None else urlencode(fields)
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
