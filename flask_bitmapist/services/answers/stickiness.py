"""Stickiness (see docs/answers.md): how many users matched in exactly 1, 2, … N of
the window's periods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_bitmapist.domain import Period, Stickiness, StickinessEngine, StickinessSpec
from flask_bitmapist.services import reports
from flask_bitmapist.services.answers.fields import Fields, parse_count
from flask_bitmapist.services.answers.pipeline import (
    AnswerKind,
    Answers,
    Drill,
    ReadPlan,
    read_plan,
)
from flask_bitmapist.services.answers.specs import stickiness_spec
from flask_bitmapist.services.reports import CsvCell

__all__ = ["StickinessKind"]


class StickinessKind(AnswerKind[StickinessSpec, Stickiness]):
    """``expr``, ``time_group``, ``periods``, ``now``; drill-down: ``k``."""

    name = "stickiness"
    comparable = True
    # Its JSON is one count per k, not per date: no ``complete`` to align.
    dated = False

    def spec(self, fields: Fields, answers: Answers) -> StickinessSpec:
        return stickiness_spec(
            fields.get("expr", ""),  # type: ignore[arg-type]
            **answers.window(fields),
        )

    def engine(self, answers: Answers) -> StickinessEngine:
        return answers.engine(StickinessEngine)

    def plan(self, answers: Answers, spec: StickinessSpec) -> ReadPlan:
        events = spec.expression.events()
        factors = {"periods": spec.periods, "expr": len(events)}
        return read_plan(events, spec.time_group, spec.periods, spec.window.periods, factors)

    def events(self, spec: StickinessSpec) -> frozenset[str]:
        return spec.expression.events()

    def periods(self, result: Stickiness) -> Sequence[Period]:
        return result.spec.window.periods()

    def to_dict(self, result: Stickiness, options: dict[str, Any]) -> dict[str, Any]:
        return reports.stickiness_to_dict(result)

    def previous_to_dict(
        self, answer: dict[str, Any], previous: Stickiness, options: dict[str, Any]
    ) -> None:
        """The answer gains ``previous``: the counts over the previous window."""
        answer["previous"] = list(previous.counts)

    def csv_rows(self, result: Any, options: dict[str, Any]) -> Sequence[Sequence[CsvCell]]:
        return reports.stickiness_csv_rows(result)

    def csv_cell_users(self, result: Stickiness, row: int, col: int) -> dict[str, Any] | None:
        # k, users, (previous,) percent; the last line is the total, which lists nobody
        return {"k": row + 1} if col == 1 and row < len(result.counts) else None

    def table(self, result: Stickiness, options: dict[str, Any]) -> str:
        """A heading, then one line per k: users in exactly k periods and their share."""
        spec = result.spec
        group = spec.time_group
        rows = [
            [str(k), reports.format_count(count), reports.format_percent(share)]
            for k, (count, share) in enumerate(
                zip(result.counts, result.percentages, strict=True), start=1
            )
        ]
        rows.append(["total", reports.format_count(result.total), ""])
        heading = (
            f"expr: {reports.expression_to_text(spec.expression)}\n"
            f"{spec.periods} {group.plural} from {reports.period_label(group, result.dates[0])} "
            f"to {reports.period_label(group, result.dates[-1])}; "
            f"{reports.now_heading(spec.now, spec.window.last.zone)}"
        )
        table = [[group.plural, "users", "share"], *rows]
        before = result.previous
        if before is not None:
            counts, earlier = [*result.counts, result.total], [*before.counts, before.total]
            table = reports.insert_comparison(table, 2, counts, earlier)
            heading += "; " + reports.previous_heading(before.spec.window)
        return heading + "\n\n" + reports.render_table(table[0], table[1:], left=0)

    def drill(self, answers: Answers, spec: StickinessSpec, fields: Fields) -> Drill:
        """The users who matched in exactly ``k`` periods."""
        k = parse_count("k", fields.get("k"))
        engine = answers.engine(StickinessEngine)
        return Drill(engine.users(spec, k), {"k": k, "spec": reports.stickiness_spec_to_dict(spec)})
