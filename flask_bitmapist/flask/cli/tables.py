"""Text tables for the terminal: aligned columns.

Cells come formatted already, with the formats the dashboard uses too
(:func:`~flask_bitmapist.services.reports.format_count`, ``format_mean``,
``format_percent``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_table"]


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Align ``rows`` under ``header``: the first ``left`` columns to the left, the rest
    (numbers) to the right, two spaces apart.

    >>> print(render_table(["event", "today"], [["a", "1"], ["bb", "1,234"]]))
    event  today
    a          1
    bb     1,234
    """
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join(line(row) for row in (header, *rows))
