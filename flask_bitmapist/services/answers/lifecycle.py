"""Lifecycles (see docs/answers.md): new, returning, resurrecting and dormant users
per period."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_bitmapist.domain import (
    Lifecycle,
    LifecycleEngine,
    LifecycleSpec,
    LifecycleStatus,
    Period,
)
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.services import reports
from flask_bitmapist.services.answers.fields import Fields, parse_count
from flask_bitmapist.services.answers.pipeline import (
    AnswerKind,
    Answers,
    Drill,
    ReadPlan,
    read_plan,
)
from flask_bitmapist.services.answers.specs import lifecycle_spec
from flask_bitmapist.services.answers.trend import dated_lines
from flask_bitmapist.services.reports import CsvCell

__all__ = ["LifecycleKind"]


class LifecycleKind(AnswerKind[LifecycleSpec, Lifecycle]):
    """``expr`` (an event or an OR of events), ``time_group``, ``periods``, ``now``;
    drill-down: ``status`` and ``index``."""

    name = "lifecycle"

    def spec(self, fields: Fields, answers: Answers) -> LifecycleSpec:
        expr = fields.get("expr")
        if isinstance(expr, list | tuple):
            if len(expr) > 1:
                raise InvalidRequest(f"a lifecycle takes one expr, got {len(expr)}", field="expr")
            expr = expr[0] if expr else None
        if expr is None or expr == "":
            raise InvalidRequest("expr is required: an event or an expression", field="expr")
        return lifecycle_spec(
            expr,  # type: ignore[arg-type]
            **answers.window(fields),
        )

    def engine(self, answers: Answers) -> LifecycleEngine:
        return answers.engine(LifecycleEngine)

    def plan(self, answers: Answers, spec: LifecycleSpec) -> ReadPlan:
        # "New" looks back over every earlier month the storage holds.
        history = answers.first_ever_history(
            spec.expression, spec.time_group, spec.window.periods()
        )
        events = spec.expression.events()
        factors = {"periods": spec.periods, "expr": len(events)}
        return read_plan(
            events,
            spec.time_group,
            spec.periods + 1,
            lambda: spec.window.periods(1),
            factors,
            history,
        )

    def events(self, spec: LifecycleSpec) -> frozenset[str]:
        return spec.expression.events()

    def periods(self, result: Lifecycle) -> Sequence[Period]:
        return result.spec.window.periods()

    def to_dict(self, result: Lifecycle, options: dict[str, Any]) -> dict[str, Any]:
        return reports.lifecycle_to_dict(result)

    def csv_rows(self, result: Lifecycle, options: dict[str, Any]) -> Sequence[Sequence[CsvCell]]:
        return reports.lifecycle_csv_rows(result)

    def csv_cell_users(self, result: Lifecycle, row: int, col: int) -> dict[str, Any] | None:
        # date, then a column per status
        statuses = list(LifecycleStatus)
        return {"status": statuses[col - 1].value, "index": row} if col >= 1 else None

    def table(self, result: Lifecycle, options: dict[str, Any]) -> str:
        """One line per period, one column per status."""
        spec = result.spec
        group = spec.time_group
        labels = options.get("labels") or [str(spec.expression)]
        lines = dated_lines(spec, result.dates, [result.counts(s) for s in LifecycleStatus])
        heading = (
            f"{labels[0]} by {group.value}; {reports.now_heading(spec.now, spec.window.last.zone)}"
        )
        return (
            heading
            + "\n\n"
            + reports.render_table(["", *(s.value for s in LifecycleStatus)], lines)
        )

    def drill(self, answers: Answers, spec: LifecycleSpec, fields: Fields) -> Drill:
        """The users counted as ``status`` in period ``index`` (from 0)."""
        status = LifecycleStatus.parse(str(fields.get("status") or ""))
        index = parse_count("index", fields.get("index"))
        engine = answers.engine(LifecycleEngine)
        users = engine.users(spec, status, index)
        expr = fields.get("expr")
        if isinstance(expr, list | tuple):
            expr = expr[0]
        return Drill(
            users,
            {
                "expr": expr if isinstance(expr, str) else str(spec.expression),
                "status": status.value,
                "index": index,
                "date": reports.period_iso(spec.time_group, spec.window.dates()[index]),
            },
        )
