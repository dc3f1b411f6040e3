"""Turn answers into what the outside world reads: JSON-able dicts, CSV text, labels and
number formats.

The dashboard (pages, JSON API, CSV downloads) and the CLI share these, so an answer
reads the same everywhere:

- JSON dicts carry full precision: nothing is rounded for a program.
- CSV goes through :func:`to_csv`, the one CSV writer, which escapes cells a spreadsheet
  would run as formulas. Cells are counts as they are (:func:`format_number`), and
  percentages and averages with two decimals (:func:`format_decimal`).
- People read counts with thousands separators (:func:`format_count`), and averages and
  percentages with one decimal (:func:`format_mean`, :func:`format_percent`): the page
  and the CLI's text tables both use these.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any, Final, TypeAlias, TypeVar

from flask_bitmapist.domain import (
    Cohort,
    CohortSpec,
    Expression,
    Funnel,
    FunnelSpec,
    Lifecycle,
    LifecycleStatus,
    Period,
    Stickiness,
    StickinessSpec,
    TimeGroup,
    Trend,
    Window,
    zone_name,
)
from flask_bitmapist.services.cohort_requests import with_replacement
from flask_bitmapist.services.event_counts import EventCounts

__all__ = [
    "CsvCell",
    "CsvRow",
    "cohort_csv_rows",
    "cohort_to_csv",
    "cohort_to_dict",
    "cohort_to_legacy_dict",
    "column_label",
    "escape_csv_cell",
    "event_counts_to_csv",
    "expression_to_text",
    "format_change",
    "format_count",
    "format_decimal",
    "format_mean",
    "format_number",
    "format_percent",
    "funnel_csv_rows",
    "funnel_spec_to_dict",
    "funnel_to_dict",
    "insert_column",
    "insert_comparison",
    "lifecycle_csv_rows",
    "lifecycle_to_csv",
    "lifecycle_to_dict",
    "now_heading",
    "period_iso",
    "period_label",
    "period_stamp",
    "previous_heading",
    "render_table",
    "spec_to_dict",
    "stickiness_csv_rows",
    "stickiness_spec_to_dict",
    "stickiness_to_dict",
    "to_csv",
    "trend_csv_rows",
    "trend_to_csv",
    "trend_to_dict",
]

#: What a CSV cell may hold: text, a number, or None for an empty cell.
CsvCell: TypeAlias = "str | int | float | None"
CsvRow: TypeAlias = "list[CsvCell]"
T = TypeVar("T")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def period_iso(group: TimeGroup, start: datetime) -> str:
    """A period's first moment as ISO 8601, with its UTC offset when it is aware.

    The offset says which calendar the period belongs to (``BITMAPIST_TIMEZONE``).

    >>> from zoneinfo import ZoneInfo
    >>> period_iso(TimeGroup.DAY, datetime(2026, 11, 27, tzinfo=ZoneInfo("America/New_York")))
    '2026-11-27T00:00:00-05:00'
    >>> period_iso(TimeGroup.HOUR, datetime(2026, 11, 27, 13))
    '2026-11-27T13:00:00'
    """
    del group  # every group's start is a moment: one format for all
    return start.isoformat()


def period_stamp(period: Period) -> str:
    """A period's local start, compact enough for a file name: ``2026-11-27``,
    ``2026-11-27T1300``.

    >>> period_stamp(Period.containing(TimeGroup.HOUR, datetime(2026, 11, 27, 13, 5)))
    '2026-11-27T1300'
    """
    if period.group is TimeGroup.HOUR:
        return period.label.strftime("%Y-%m-%dT%H00")
    return period.label.date().isoformat()


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
        "first_time": spec.first_time,
        "now": spec.now.isoformat(),
        "timezone": zone_name(spec.zone),
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


def format_count(value: int | None) -> str:
    """A count for people: thousands separators; empty for ``None``.

    >>> format_count(1234567)
    '1,234,567'
    """
    return "" if value is None else f"{value:,}"


def format_change(now: int, before: int) -> str:
    """How a count moved since the previous window, for people: signed, with the relative
    change when there was something before.

    >>> format_change(1250, 1000), format_change(3, 4), format_change(5, 0), format_change(0, 0)
    ('+250 (+25.0%)', '-1 (-25.0%)', '+5', '0')
    """
    if now == before:
        return "0"
    moved = f"{now - before:+,}"
    return moved if not before else f"{moved} ({(now - before) / before * 100:+,.1f}%)"


def format_mean(value: float | None) -> str:
    """An average for people: one decimal, thousands separators; empty for ``None``.

    >>> format_mean(1234.56)
    '1,234.6'
    """
    return "" if value is None else f"{value:,.1f}"


def format_percent(value: float | None) -> str:
    """A percentage (0..100) for people: one decimal and ``%``; empty for ``None``.

    >>> format_percent(12.345)
    '12.3%'
    """
    return "" if value is None else format_mean(value) + "%"


def format_number(value: float | None) -> str:
    """A count or an average for CSV: whole numbers stay whole, others get 2 decimals."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}"


def format_decimal(value: float | None) -> str:
    """Two decimals (``12.50``) for percentages and averages in CSV; empty for ``None``."""
    return "" if value is None else f"{value:.2f}"


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV
# injection"): "=HYPERLINK(...)", "@SUM(...)", "+1+cmd|...", or the same behind a tab or
# carriage return.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
# Text that is a plain number ("-12.50", "+3", "1e6") is data, not a formula.
_NUMBER: Final = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def escape_csv_cell(value: CsvCell) -> CsvCell:
    r"""``value``, with a leading ``'`` when a spreadsheet would run it as a formula.

    Numbers stay numbers, including negative ones and numbers written as text:

    >>> escape_csv_cell('=HYPERLINK("http://x","y")')
    '\'=HYPERLINK("http://x","y")'
    >>> escape_csv_cell("-12.50"), escape_csv_cell(-3), escape_csv_cell("user:paid")
    ('-12.50', -3, 'user:paid')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def to_csv(rows: Iterable[Iterable[CsvCell]], *, lineterminator: str = "\r\n") -> str:
    r"""CSV text of ``rows``: the one CSV writer of the package.

    Every CSV the package writes (API downloads, the CLI's ``--format csv``) goes through
    here, so text a user controls (an event name, an expression) never reaches a
    spreadsheet as a formula: see :func:`escape_csv_cell`. ``None`` is an empty cell.

    >>> print(to_csv([["event", "today"], ["=1+2", 3], ["user:paid", -1]], lineterminator="\n"))
    event,today
    '=1+2,3
    user:paid,-1
    <BLANKLINE>
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=lineterminator)
    writer.writerows([escape_csv_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def event_counts_to_csv(
    counts: EventCounts, columns: Sequence[str], *, lineterminator: str = "\r\n"
) -> str:
    """Event counts as CSV: a header (``event``, then ``columns``, one per period), then
    one line per event. The CLI heads the periods ``today``..., the API ``day``...."""
    rows: list[Sequence[CsvCell]] = [["event", *columns]]
    rows += ([name, *row] for name, row in counts.rows)
    return to_csv(rows, lineterminator=lineterminator)


def cohort_to_csv(cohort: Cohort, *, as_percent: bool = False) -> str:
    """The heatmap table as CSV text (see :func:`cohort_csv_rows`)."""
    return to_csv(cohort_csv_rows(cohort, as_percent=as_percent))


def cohort_csv_rows(cohort: Cohort, *, as_percent: bool = False) -> list[Sequence[CsvCell]]:
    """The heatmap table's CSV rows: one line per row, then averages and column totals.

    Columns: ``date``, ``users`` (row total), then one per offset. With ``as_percent``
    the cells and the simple averages are percentages of the row total (two decimals);
    the weighted average is always a percentage. Empty fields are cells without a value.
    """
    spec = cohort.spec
    group = spec.time_group
    rows: list[Sequence[CsvCell]] = [
        ["date", "users", *(column_label(group, j) for j in range(spec.cols))]
    ]
    shown: Sequence[Sequence[float | None]] = cohort.percentages if as_percent else cohort.cells
    fmt = format_decimal if as_percent else format_number
    for date, total, row in zip(cohort.dates, cohort.totals, shown, strict=True):
        rows.append([period_iso(group, date), total, *(fmt(v) for v in row)])
    n_rows = len(cohort.totals)
    mean_total = sum(cohort.totals) / n_rows if n_rows else None
    averages = cohort.average_percentages if as_percent else cohort.averages
    # Averages are fractional by nature: always two decimals, so the column reads evenly.
    rows.append(
        ["average" + (" %" if as_percent else ""), format_decimal(mean_total)]
        + [format_decimal(v) for v in averages]
    )
    rows.append(["weighted average %", ""] + [format_decimal(v) for v in cohort.weighted_averages])
    rows.append(["total", sum(cohort.totals), *cohort.column_totals])
    return rows


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
        "with_replacement": with_replacement(spec.mode),
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


# -- stickiness and funnels (see docs/answers.md) ---------------------------------------


def stickiness_to_dict(stickiness: Stickiness) -> dict[str, Any]:
    """``{"periods": N, "counts": [...]}``: ``counts[k - 1]`` users matched in exactly
    ``k`` of the N periods (the API's and the CLI's JSON)."""
    return {"periods": stickiness.spec.periods, "counts": list(stickiness.counts)}


def stickiness_spec_to_dict(spec: StickinessSpec) -> dict[str, Any]:
    """The validated request, for pages and links."""
    return {
        "expr": expression_to_text(spec.expression),
        "time_group": spec.time_group.value,
        "periods": spec.periods,
        "now": spec.now.isoformat(),
    }


def stickiness_csv_rows(stickiness: Stickiness) -> list[Sequence[CsvCell]]:
    """One line per k: ``periods`` (k), ``users`` (matched in exactly k periods) and
    ``percent`` of everyone who matched at least once (two decimals). With
    ``compare="previous"``, ``previous`` after ``users``: the counts over the periods just
    before the window."""
    rows: list[Sequence[CsvCell]] = [[stickiness.spec.time_group.plural, "users", "percent"]]
    rows += (
        [k, count, format_decimal(share)]
        for k, (count, share) in enumerate(
            zip(stickiness.counts, stickiness.percentages, strict=True), start=1
        )
    )
    total = stickiness.total
    rows.append(["total", total, format_decimal(100.0 if total else 0.0)])
    before = stickiness.previous
    if before is None:
        return rows
    return [*insert_column(rows, 2, "previous", [*before.counts, before.total])]


def funnel_to_dict(funnel: Funnel) -> dict[str, Any]:
    """``{"steps": [...], "counts": [...]}``: each step as a text expression and how many
    users reached it (the API's and the CLI's JSON)."""
    return {
        "steps": [expression_to_text(step) for step in funnel.spec.steps],
        "counts": list(funnel.counts),
    }


def funnel_spec_to_dict(spec: FunnelSpec) -> dict[str, Any]:
    """The validated request, for pages and links."""
    return {
        "steps": [expression_to_text(step) for step in spec.steps],
        "time_group": spec.time_group.value,
        "periods": spec.periods,
        "now": spec.now.isoformat(),
    }


def funnel_csv_rows(funnel: Funnel) -> list[Sequence[CsvCell]]:
    """One line per step: ``step`` (1-based), ``expression``, ``users``, ``from previous %``,
    ``from first %`` and ``dropped`` (reached this step but not the next). With
    ``compare="previous"``, ``previous`` after ``users``: how many reached the step over the
    periods just before the window."""
    rows: list[Sequence[CsvCell]] = [
        ["step", "expression", "users", "from previous %", "from first %", "dropped"]
    ]
    dropped: list[int | None] = [*funnel.dropped, None]
    rows += (
        [
            index + 1,
            expression_to_text(step),
            funnel.counts[index],
            format_decimal(funnel.from_previous[index]),
            format_decimal(funnel.from_first[index]),
            dropped[index],
        ]
        for index, step in enumerate(funnel.spec.steps)
    )
    if funnel.previous is None:
        return rows
    return [*insert_column(rows, 3, "previous", funnel.previous.counts)]


def insert_column(
    rows: Sequence[Sequence[T]], at: int, header: T, cells: Sequence[T]
) -> list[list[T]]:
    """``rows`` (a header, then one row per cell of ``cells``) with a column inserted at
    position ``at``: how a comparison adds the previous window's counts.

    >>> insert_column([["k", "users"], [1, 5]], 2, "previous", [3])
    [['k', 'users', 'previous'], [1, 5, 3]]
    """
    column = [header, *cells]
    return [[*row[:at], cell, *row[at:]] for row, cell in zip(rows, column, strict=True)]


def previous_heading(window: Window) -> str:
    """Which periods a comparison's previous counts are: ``previous: Oct 29 to Nov 27``."""
    group, dates = window.time_group, window.dates()
    return f"previous: {period_label(group, dates[0])} to {period_label(group, dates[-1])}"


def insert_comparison(
    table: Sequence[Sequence[str]], at: int, counts: Sequence[int], before: Sequence[int]
) -> list[list[str]]:
    """A text table (header first) with ``previous`` and ``change`` inserted at ``at``:
    the previous window's counts ``before``, and how each of ``counts`` moved since."""
    table = insert_column(table, at, "previous", [format_count(count) for count in before])
    changes = [format_change(now, then) for now, then in zip(counts, before, strict=True)]
    return insert_column(table, at + 1, "change", changes)


# -- trends and lifecycles (see docs/answers.md) -------------------------------------------


def _labels(trend: Trend, labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        return [expression_to_text(series.expression) for series in trend.series]
    if len(labels) != len(trend.series):
        raise ValueError(f"{len(labels)} labels for {len(trend.series)} series")
    return list(labels)


def trend_to_dict(trend: Trend, labels: Sequence[str] | None = None) -> dict[str, Any]:
    """``{"dates": [...], "series": [{"expr": "E", "counts": [...]}, ...]}``, the API's
    answer (see docs/answers.md). ``labels`` are the expressions as the caller wrote
    them (default: each expression written out).
    """
    group = trend.spec.time_group
    return {
        "dates": [period_iso(group, d) for d in trend.dates],
        "series": [
            {"expr": label, "counts": list(series.counts)}
            for label, series in zip(_labels(trend, labels), trend.series, strict=True)
        ],
    }


def trend_csv_rows(trend: Trend, labels: Sequence[str] | None = None) -> list[CsvRow]:
    """A header (``date`` then one column per expression), then one row per period.

    With ``compare="previous"`` each expression's column is followed by ``<expression>
    previous``, its count in the matching period of the previous window, and ``date`` by
    ``previous date``, that period."""
    group = trend.spec.time_group
    names = _labels(trend, labels)
    rows: list[CsvRow] = [["date", *names]]
    for k, date in enumerate(trend.dates):
        rows.append([period_iso(group, date), *(s.counts[k] for s in trend.series)])
    before = trend.previous
    if before is None:
        return rows
    # From the last series back, so that each column keeps its place until its turn.
    for i in reversed(range(len(names))):
        rows = insert_column(rows, 2 + i, f"{names[i]} previous", before.series[i].counts)
    dates = [period_iso(group, date) for date in before.dates]
    return insert_column(rows, 1, "previous date", dates)


def trend_to_csv(trend: Trend, labels: Sequence[str] | None = None) -> str:
    """The trend as CSV text (see :func:`trend_csv_rows`)."""
    return to_csv(trend_csv_rows(trend, labels))


def lifecycle_to_dict(lifecycle: Lifecycle) -> dict[str, Any]:
    """``{"dates", "new", "returning", "resurrecting", "dormant"}``, the API's answer
    (see docs/answers.md): dormant counts are positive."""
    group = lifecycle.spec.time_group
    answer: dict[str, Any] = {"dates": [period_iso(group, d) for d in lifecycle.dates]}
    for status in LifecycleStatus:
        answer[status.value] = list(lifecycle.counts(status))
    return answer


def lifecycle_csv_rows(lifecycle: Lifecycle) -> list[CsvRow]:
    """``date,new,returning,resurrecting,dormant``, then one row per period."""
    group = lifecycle.spec.time_group
    rows: list[CsvRow] = [["date", *(status.value for status in LifecycleStatus)]]
    for k, date in enumerate(lifecycle.dates):
        rows.append([period_iso(group, date), *(lifecycle.counts(s)[k] for s in LifecycleStatus)])
    return rows


def lifecycle_to_csv(lifecycle: Lifecycle) -> str:
    """The lifecycle as CSV text (see :func:`lifecycle_csv_rows`)."""
    return to_csv(lifecycle_csv_rows(lifecycle))


# -- text tables (the CLI's ``--format table``) ------------------------------------------


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
