"""Trends (see docs/answers.md): how many users matched each expression in each
period, rolling or not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_bitmapist.domain import Period, Trend, TrendEngine, TrendSpec
from flask_bitmapist.domain.window import WindowedSpec
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.services import reports
from flask_bitmapist.services.answers.fields import Fields, count_field, parse_count
from flask_bitmapist.services.answers.pipeline import (
    AnswerKind,
    Answers,
    Drill,
    ReadPlan,
    complete_flags,
    incomplete_mark,
    read_plan,
)
from flask_bitmapist.services.answers.specs import trend_spec
from flask_bitmapist.services.reports import CsvCell

__all__ = ["TrendKind", "dated_lines"]


class TrendKind(AnswerKind[TrendSpec, Trend]):
    """``expr`` (repeated: one series each), ``time_group``, ``periods``, ``rolling``,
    ``now``; drill-down: ``series`` and ``index``."""

    name = "trend"
    comparable = True

    def spec(self, fields: Fields, answers: Answers) -> TrendSpec:
        exprs = fields.get("expr")
        if exprs is None or exprs == "" or (isinstance(exprs, list | tuple) and not exprs):
            raise InvalidRequest("expr is required: an event or an expression", field="expr")
        return trend_spec(
            exprs,  # type: ignore[arg-type]
            rolling=count_field(fields, "rolling", 1),  # type: ignore[arg-type]
            **answers.window(fields),
        )

    def engine(self, answers: Answers) -> TrendEngine:
        return answers.engine(TrendEngine)

    def plan(self, answers: Answers, spec: TrendSpec) -> ReadPlan:
        events = frozenset().union(*(e.events() for e in spec.expressions))
        factors = {"periods": spec.periods, "rolling": spec.rolling, "expr": len(events)}
        return read_plan(
            events, spec.time_group, spec.periods + spec.rolling - 1, spec.periods_read, factors
        )

    def events(self, spec: TrendSpec) -> frozenset[str]:
        return frozenset().union(*(e.events() for e in spec.expressions))

    def periods(self, result: Trend) -> Sequence[Period]:
        return result.spec.window.periods()

    def to_dict(self, result: Trend, options: dict[str, Any]) -> dict[str, Any]:
        return reports.trend_to_dict(result, options.get("labels"))

    def previous_to_dict(
        self, answer: dict[str, Any], previous: Trend, options: dict[str, Any]
    ) -> None:
        """Each series gains ``previous`` (its counts over the previous window), the answer
        ``previous_dates``."""
        earlier = reports.trend_to_dict(previous, options.get("labels"))
        answer["previous_dates"] = earlier["dates"]
        for series, before in zip(answer["series"], earlier["series"], strict=True):
            series["previous"] = before["counts"]

    def csv_rows(self, result: Trend, options: dict[str, Any]) -> Sequence[Sequence[CsvCell]]:
        return reports.trend_csv_rows(result, options.get("labels"))

    def csv_cell_users(self, result: Trend, row: int, col: int) -> dict[str, Any] | None:
        # date, then a column per series; compared: date, previous date, then each
        # series and its previous window's count.
        first, step = (2, 2) if result.previous is not None else (1, 1)
        if col < first or (col - first) % step:
            return None
        return {"series": (col - first) // step, "index": row}

    def table(self, result: Trend, options: dict[str, Any]) -> str:
        """One line per period, one column per series."""
        spec = result.spec
        group = spec.time_group
        labels = options.get("labels") or [str(e) for e in spec.expressions]
        lines = dated_lines(spec, result.dates, [s.counts for s in result.series])
        rolling = f", rolling {spec.rolling}" if spec.rolling > 1 else ""
        when = reports.now_heading(spec.now, spec.window.last.zone)
        heading = f"users by {group.value}{rolling}; {when}"
        table = [["", *labels], *lines]
        before = result.previous
        if before is not None:
            # Each series' column is followed by its previous count and the change.
            for i in reversed(range(len(result.series))):
                counts = result.series[i].counts
                table = reports.insert_comparison(table, 2 + i, counts, before.series[i].counts)
            heading += "; " + reports.previous_heading(before.spec.window)
        return heading + "\n\n" + reports.render_table(table[0], table[1:])

    def drill(self, answers: Answers, spec: TrendSpec, fields: Fields) -> Drill:
        """The users behind ``counts[index]`` of series ``series`` (both from 0)."""
        series = parse_count("series", fields.get("series"), 0)
        index = parse_count("index", fields.get("index"))
        engine = answers.engine(TrendEngine)
        users = engine.users(spec, series, index)
        return Drill(
            users,
            {
                "expr": _label(fields, spec, series),
                "series": series,
                "index": index,
                "date": reports.period_iso(spec.time_group, spec.window.dates()[index]),
                "rolling": spec.rolling,
            },
        )


def dated_lines(
    spec: WindowedSpec, dates: Sequence[datetime], columns: Sequence[Sequence[int]]
) -> list[list[str]]:
    """A table's lines, one per period of ``spec``'s window: its label (``(incomplete)``
    after the one containing now), then its count in each of ``columns``."""
    group = spec.time_group
    done = complete_flags(spec.window.periods(), spec.now)
    return [
        [
            incomplete_mark(reports.period_label(group, date), done[k]),
            *(reports.format_count(counts[k]) for counts in columns),
        ]
        for k, date in enumerate(dates)
    ]


def _label(fields: Fields, spec: TrendSpec, series: int) -> str:
    exprs = fields.get("expr")
    if isinstance(exprs, list | tuple) and isinstance(exprs[series], str):
        return str(exprs[series])
    return str(spec.expressions[series])
