"""Cohorts (see docs/cohorts-and-expressions.md, and docs/answers.md for first-time rows):
of the users who did the primary in each row's period, how many matched the secondary
each period after."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_bitmapist.domain import (
    BitmapId,
    Cohort,
    CohortEngine,
    CohortMode,
    CohortSpec,
    Period,
    TimeGroup,
)
from flask_bitmapist.services import reports
from flask_bitmapist.services.answers.fields import Fields, count_field, parse_count, text_field
from flask_bitmapist.services.answers.pipeline import (
    AnswerKind,
    Answers,
    Drill,
    ReadPlan,
    read_plan,
)
from flask_bitmapist.services.answers.specs import as_expression
from flask_bitmapist.services.cohort_requests import create_cohort_spec
from flask_bitmapist.services.reports import CsvCell

__all__ = ["CohortKind"]


class CohortKind(AnswerKind[CohortSpec, Cohort]):
    """``primary``, ``secondary`` (expressions), ``time_group``, ``rows``, ``cols``,
    ``mode``, ``first_time``, ``now``; drill-down: ``row`` and ``col``.

    The dashboard's form, 0.1's JSON body and the CLI's chain options build the spec
    their own way (:mod:`~flask_bitmapist.services.cohort_requests`) and pass it in.
    """

    name = "cohort"

    def spec(self, fields: Fields, answers: Answers) -> CohortSpec:
        return create_cohort_spec(
            as_expression(fields.get("primary", ""), "primary", max_terms=answers.max_terms),
            as_expression(fields.get("secondary", ""), "secondary", max_terms=answers.max_terms),
            now=answers.moment(fields.get("now")),
            time_group=text_field(fields, "time_group", TimeGroup.DAY),
            rows=count_field(fields, "rows", 10),  # type: ignore[arg-type]
            cols=count_field(fields, "cols", 10),  # type: ignore[arg-type]
            mode=text_field(fields, "mode", CohortMode.FIRST_RETURN),
            max_cells=answers.max_cells,
            field_names={},
            first_time=bool(fields.get("first_time", False)),
        )

    def engine(self, answers: Answers) -> CohortEngine:
        return answers.engine(CohortEngine)

    def plan(self, answers: Answers, spec: CohortSpec) -> ReadPlan:
        periods = spec.row_periods()
        history: Sequence[BitmapId] = ()
        if spec.first_time:  # rows leave out everyone seen before: their history is read
            history = answers.first_ever_history(spec.primary, spec.time_group, periods)
        factors = {"rows": spec.rows, "primary": len(spec.primary.events())}
        factors["secondary"] = len(spec.secondary.events())
        return read_plan(
            self.events(spec), spec.time_group, len(periods), lambda: periods, factors, history
        )

    def events(self, spec: CohortSpec) -> frozenset[str]:
        return spec.primary.events() | spec.secondary.events()

    def periods(self, result: Cohort) -> Sequence[Period]:
        return result.spec.row_periods()

    def complete(self, answers: Answers, result: Cohort, spec: CohortSpec) -> list[bool]:
        """Per column, whether its cell on the last diagonal (the latest cell it has) is
        of a period that ended by ``now``; a column without cells is complete."""
        rows = spec.row_periods()
        return [
            j >= len(rows) or rows[len(rows) - 1 - j].shift(j).end <= spec.now
            for j in range(spec.cols)
        ]

    def last_period(self, spec: CohortSpec) -> Period:
        return spec.last_period

    def to_dict(self, result: Cohort, options: dict[str, Any]) -> dict[str, Any]:
        answer = reports.cohort_to_dict(result)
        if "as_percent" in options:
            answer["as_percent"] = bool(options["as_percent"])
        return answer

    def csv_rows(self, result: Cohort, options: dict[str, Any]) -> Sequence[Sequence[CsvCell]]:
        return reports.cohort_csv_rows(result, as_percent=bool(options.get("as_percent")))

    def csv_cell_users(self, result: Cohort, row: int, col: int) -> dict[str, Any] | None:
        # date, the row's users, then a cell per column (blank: not yet); averages and
        # totals list nobody
        if col < 2 or row >= len(result.totals) or result.cells[row][col - 2] is None:
            return None
        return {"row": row, "col": col - 2}

    def table(self, result: Cohort, options: dict[str, Any]) -> str:
        """A heading, one line per row, then the column averages (and weighted averages)
        and totals."""
        as_percent = bool(options.get("as_percent"))
        spec = result.spec
        group = spec.time_group
        header = ["", "users", *(reports.column_label(group, j) for j in range(spec.cols))]
        lines: list[list[str]] = []
        shown = result.percentages if as_percent else result.cells
        last = len(result.totals) - 1
        rows = spec.row_periods()
        for i, (date, total, row) in enumerate(
            zip(result.dates, result.totals, shown, strict=True)
        ):
            cells = [
                (reports.format_percent(v) if as_percent else reports.format_count(v))  # type: ignore[arg-type]
                # The last diagonal's cell of a period not over yet.
                + ("*" if i + j == last and rows[i].shift(j).end > spec.now else "")
                for j, v in enumerate(row)
            ]
            lines.append([reports.period_label(group, date), reports.format_count(total), *cells])
        mean_total = sum(result.totals) / len(result.totals)
        if as_percent:
            averages = [reports.format_percent(v) for v in result.average_percentages]
        else:
            averages = [reports.format_mean(v) for v in result.averages]
        lines.append(["average", reports.format_mean(mean_total), *averages])
        lines.append(
            ["weighted", "", *(reports.format_percent(v) for v in result.weighted_averages)]
        )
        column_totals = [reports.format_count(v) for v in result.column_totals]
        lines.append(["total", reports.format_count(sum(result.totals)), *column_totals])
        heading = (
            f"primary:   {reports.expression_to_text(spec.primary)}\n"
            f"secondary: {reports.expression_to_text(spec.secondary)}\n"
            f"by {group.value}, {spec.mode.value}"
            f"{', first time only' if spec.first_time else ''}, "
            f"{'percent of users' if as_percent else 'users'}; "
            f"{reports.now_heading(spec.now, spec.zone)}"
        )
        table = reports.render_table(header, lines)
        if "*" in table:
            table += "\n* the period containing now: not over yet (incomplete)"
        return heading + "\n\n" + table

    def drill(self, answers: Answers, spec: CohortSpec, fields: Fields) -> Drill:
        """The users counted in cell (``row``, ``col``)."""
        row = parse_count("row", fields.get("row"))
        col = parse_count("col", fields.get("col"))
        users = answers.reader.cell_users(spec, row, col)
        periods = spec.row_periods()
        return Drill(
            users,
            {
                "row": row,
                "col": col,
                "date": reports.period_iso(spec.time_group, periods[row].start),
                "period": reports.period_iso(spec.time_group, periods[row + col].start),
                "spec": reports.spec_to_dict(spec),
            },
        )
