"""Text tables for the terminal: aligned columns, and the cell formats they use.

The formats are the dashboard's, from :mod:`flask_bitmapist.services.reports`
(``format_count``, ``format_mean``, ``format_percent``); :func:`format_decimal` spells
the last two for a table's cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from flask_bitmapist.domain import zone_name
from flask_bitmapist.services.reports import format_count, format_mean, format_percent

__all__ = ["format_count", "format_decimal", "now_heading", "render_table"]


def now_heading(now: datetime, zone: tzinfo) -> str:
    """The line that says when and in which calendar a text answer was counted.

    >>> from zoneinfo import ZoneInfo
    >>> la = ZoneInfo("America/Los_Angeles")
    >>> now_heading(datetime(2026, 11, 27, 13, 5, tzinfo=la), la)
    'now 2026-11-27T13:05:00-08:00 (America/Los_Angeles)'
    """
    return f"now {now.isoformat(timespec='seconds')} ({zone_name(zone)})"


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


def format_decimal(value: float | None, suffix: str = "") -> str:
    """An average (``suffix=""``) or a percentage (``suffix="%"``) as the dashboard shows
    it: one decimal, thousands separators; an empty cell for None.

    >>> format_decimal(1234.56), format_decimal(12.345, "%"), format_decimal(None, "%")
    ('1,234.6', '12.3%', '')
    """
    if suffix == "%":
        return format_percent(value)
    return format_mean(value) + (suffix if value is not None else "")
