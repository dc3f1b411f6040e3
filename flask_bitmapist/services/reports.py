"""Turn cohorts into what the outside world reads: JSON-able dicts, CSV text, labels.

The dashboard's JSON API and CSV download and the CLI share these, so a cohort reads
the same everywhere. Numbers are never rounded here (JSON consumers get full precision);
only CSV and the page round, to two decimals, when they show percentages.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_bitmapist.domain import Cohort, CohortMode, CohortSpec, Expression, TimeGroup

__all__ = [
    "cohort_to_csv",
    "cohort_to_dict",
    "cohort_to_legacy_dict",
    "column_label",
    "expression_to_text",
    "format_decimal",
    "format_number",
    "period_iso",
    "period_label",
    "spec_to_dict",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def period_iso(group: TimeGroup, start: datetime) -> str:
    """A period's start as ISO 8601: a date, or date and hour for hourly periods.

    >>> period_iso(TimeGroup.HOUR, datetime(2026, 11, 27, 13))
    '2026-11-27T13:00'
    """
    if group is TimeGroup.HOUR:
        return start.strftime("%Y-%m-%dT%H:00")
    return start.date().isoformat()


def period_label(group: TimeGroup, start: datetime) -> str:
    """A short human label for a period, independent of the process locale.

    >>> period_label(TimeGroup.WEEK, datetime(2026, 11, 23))
    'W48 · 23 Nov 2026'
    """
    day = f"{start.day} {_MONTHS[start.month - 1]} {start.year}"
    if group is TimeGroup.HOUR:
        return f"{day} {start.hour:02d}:00"
    if group is TimeGroup.DAY:
        return day
    if group is TimeGroup.WEEK:
        return f"W{start.isocalendar()[1]} · {day}"
    if group is TimeGroup.MONTH:
        return f"{_MONTHS[start.month - 1]} {start.year}"
    return str(start.year)


def column_label(group: TimeGroup, offset: int) -> str:
    """The header of column ``offset``: ``Day 0``, ``Week 3``…"""
    return f"{group.value.capitalize()} {offset}"


def expression_to_text(expression: Expression) -> str:
    """An expression in the text syntax (``a & (b | c)``)."""
    return str(expression)


def spec_to_dict(spec: CohortSpec) -> dict[str, Any]:
    """The validated request, echoed back so a reader knows what was computed."""
    return {
        "primary": expression_to_text(spec.primary),
        "secondary": expression_to_text(spec.secondary),
        "events": sorted(spec.primary.events() | spec.secondary.events()),
        "time_group": spec.time_group.value,
        "rows": spec.rows,
        "cols": spec.cols,
        "mode": spec.mode.value,
        "now": spec.now.isoformat(),
    }


def cohort_to_dict(cohort: Cohort) -> dict[str, Any]:
    """Everything about a cohort as JSON-able values.

    ``cells[i][j]`` and ``percentages[i][j]`` are ``None`` for future periods and for rows
    without users; ``averages`` are simple means of the counts, ``average_percentages``
    simple means of the percentages, ``weighted_averages`` column sum / matching row totals
    (percent).
    """
    spec = cohort.spec
    group = spec.time_group
    return {
        "spec": spec_to_dict(spec),
        "dates": [period_iso(group, d) for d in cohort.dates],
        "labels": [period_label(group, d) for d in cohort.dates],
        "columns": [column_label(group, j) for j in range(spec.cols)],
        "totals": list(cohort.totals),
        "total": sum(cohort.totals),
        "cells": cohort.as_lists(),
        "percentages": [list(row) for row in cohort.percentages],
        "column_totals": list(cohort.column_totals),
        "averages": list(cohort.averages),
        "average_percentages": list(cohort.average_percentages),
        "weighted_averages": list(cohort.weighted_averages),
    }


def format_number(value: float | None) -> str:
    """A count or an average for display: whole numbers stay whole, others get 2 decimals."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}"


def format_decimal(value: float | None) -> str:
    """Two decimals (``12.50``) for percentages and averages; empty for ``None``."""
    return "" if value is None else f"{value:.2f}"


def cohort_to_csv(cohort: Cohort, *, as_percent: bool = False) -> str:
    """The heatmap table as CSV: one line per row, then averages and column totals.

    Columns: ``date``, ``users`` (row total), then one per offset. With ``as_percent``
    the cells and the simple averages are percentages of the row total (two decimals);
    the weighted average is always a percentage. Empty fields are cells without a value.
    """
    spec = cohort.spec
    group = spec.time_group
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["date", "users", *(column_label(group, j) for j in range(spec.cols))])
    shown: Sequence[Sequence[float | None]] = cohort.percentages if as_percent else cohort.cells
    fmt = format_decimal if as_percent else format_number
    for date, total, row in zip(cohort.dates, cohort.totals, shown, strict=True):
        writer.writerow([period_iso(group, date), total, *(fmt(v) for v in row)])
    rows = len(cohort.totals)
    mean_total = sum(cohort.totals) / rows if rows else None
    averages = cohort.average_percentages if as_percent else cohort.averages
    # Averages are fractional by nature: always two decimals, so the column reads evenly.
    writer.writerow(
        ["average" + (" %" if as_percent else ""), format_decimal(mean_total)]
        + [format_decimal(v) for v in averages]
    )
    writer.writerow(
        ["weighted average %", ""] + [format_decimal(v) for v in cohort.weighted_averages]
    )
    writer.writerow(["total", sum(cohort.totals), *cohort.column_totals])
    return out.getvalue()


def cohort_to_legacy_dict(
    cohort: Cohort, *, as_percent: bool, time_group: str | None = None
) -> dict[str, Any]:
    """0.1's ``POST /bitmapist/cohort?json=1`` answer, plus ``spec`` and ISO ``iso_dates``.

    As in 0.1: ``cohort`` holds counts, or fractions of the row total (0..1) when
    ``as_percent``; ``averages`` are the simple column means of those values (0 where a
    column has none); ``dates`` are display strings; ``total`` is the sum of row totals.
    """
    spec = cohort.spec
    group = spec.time_group
    values: list[list[Any]]
    if as_percent:
        values = [
            [None if v is None else v / total for v in row]
            for row, total in zip(cohort.cells, cohort.totals, strict=True)
        ]
        columns = [[row[j] for row in values if row[j] is not None] for j in range(spec.cols)]
        averages = [sum(c) / len(c) if c else 0.0 for c in columns]
    else:
        values = [list(row) for row in cohort.cells]
        averages = [0.0 if v is None else v for v in cohort.averages]
    return {
        "cohort": values,
        "dates": [_legacy_date(group, d) for d in cohort.dates],
        "iso_dates": [period_iso(group, d) for d in cohort.dates],
        "total": sum(cohort.totals),
        "row_totals": list(cohort.totals),
        "col_totals": list(cohort.column_totals),
        "averages": averages,
        "time_group": time_group if time_group is not None else group.plural,
        "as_percent": as_percent,
        "with_replacement": spec.mode is CohortMode.RECURRING,
        "num_rows": spec.rows,
        "num_cols": spec.cols,
        "spec": spec_to_dict(spec),
    }


def _legacy_date(group: TimeGroup, start: datetime) -> str:
    # 0.1's formats, with the ISO week number (0.1 printed %U, a Sunday-based week that
    # disagreed with the bitmaps it had read).
    day = f"{start.day:02d} {_MONTHS[start.month - 1]} {start.year}"
    if group is TimeGroup.YEAR:
        return str(start.year)
    if group is TimeGroup.MONTH:
        return f"{_MONTHS[start.month - 1]} {start.year}"
    if group is TimeGroup.WEEK:
        return f"Week {start.isocalendar()[1]} - {day}"
    if group is TimeGroup.HOUR:
        return f"{day} {start.hour:02d}:00"
    return day
