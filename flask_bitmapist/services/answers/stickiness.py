"""Stickiness (DESIGN section 10, item 4): how many users matched in exactly 1, 2, … N of
the window's periods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_bitmapist.domain import (
    Period,
    Stickiness,
    StickinessEngine,
    StickinessSpec,
    TimeGroup,
)
from flask_bitmapist.services.answers.fields import Fields, count_field, parse_count, text_field
from flask_bitmapist.services.answers.pipeline import (
    AnswerKind,
    Answers,
    Drill,
    ReadPlan,
    read_plan,
)
from flask_bitmapist.services.answers.specs import stickiness_spec
from flask_bitmapist.services.reports import (
    CsvCell,
    expression_to_text,
    format_count,
    format_decimal,
    format_percent,
    now_heading,
    period_label,
    render_table,
    stickiness_spec_to_dict,
    stickiness_to_dict,
)

__all__ = ["StickinessKind"]


class StickinessKind(AnswerKind[StickinessSpec, Stickiness]):
    """``expr``, ``time_group``, ``periods``, ``now``; drill-down: ``k``."""

    name = "stickiness"
    # Its JSON is one count per k, not per date: no ``complete`` to align.
    dated = False

    def spec(self, fields: Fields, answers: Answers) -> StickinessSpec:
        return stickiness_spec(
            fields.get("expr", ""),  # type: ignore[arg-type]
            now=answers.moment(fields.get("now")),
            time_group=text_field(fields, "time_group", TimeGroup.DAY),  # type: ignore[arg-type]
            periods=count_field(fields, "periods", 30),  # type: ignore[arg-type]
            max_terms=answers.max_terms,
        )

    def compute(self, answers: Answers, spec: StickinessSpec) -> Stickiness:
        return StickinessEngine(answers.repository, max_user_id=answers.max_user_id).compute(spec)

    def plan(self, answers: Answers, spec: StickinessSpec) -> ReadPlan:
        events = spec.expression.events()
        factors = {"periods": spec.periods, "expr": len(events)}
        return read_plan(events, spec.window.periods(), factors)

    def events(self, spec: StickinessSpec) -> frozenset[str]:
        return spec.expression.events()

    def periods(self, result: Stickiness) -> Sequence[Period]:
        return result.spec.window.periods()

    def to_dict(self, result: Stickiness, options: dict[str, Any]) -> dict[str, Any]:
        return stickiness_to_dict(result)

    def csv_rows(self, result: Stickiness, options: dict[str, Any]) -> Sequence[Sequence[CsvCell]]:
        """One line per k: ``periods`` (k), ``users`` (matched in exactly k periods) and
        ``percent`` of everyone who matched at least once (two decimals)."""
        rows: list[Sequence[CsvCell]] = [[result.spec.time_group.plural, "users", "percent"]]
        rows += (
            [k, count, format_decimal(share)]
            for k, (count, share) in enumerate(
                zip(result.counts, result.percentages, strict=True), start=1
            )
        )
        total = result.total
        rows.append(["total", total, format_decimal(100.0 if total else 0.0)])
        return rows

    def table(self, result: Stickiness, options: dict[str, Any]) -> str:
        """A heading, then one line per k: users in exactly k periods and their share."""
        spec = result.spec
        group = spec.time_group
        rows = [
            [str(k), format_count(count), format_percent(share)]
            for k, (count, share) in enumerate(
                zip(result.counts, result.percentages, strict=True), start=1
            )
        ]
        rows.append(["total", format_count(result.total), ""])
        heading = (
            f"expr: {expression_to_text(spec.expression)}\n"
            f"{spec.periods} {group.plural} from {period_label(group, result.dates[0])} "
            f"to {period_label(group, result.dates[-1])}; "
            f"{now_heading(spec.now, spec.window.last.zone)}"
        )
        return heading + "\n\n" + render_table([group.plural, "users", "share"], rows, left=0)

    def drill(self, answers: Answers, spec: StickinessSpec, fields: Fields) -> Drill:
        """The users who matched in exactly ``k`` periods."""
        k = parse_count("k", fields.get("k"))
        engine = StickinessEngine(answers.repository, max_user_id=answers.max_user_id)
        return Drill(engine.users(spec, k), {"k": k, "spec": stickiness_spec_to_dict(spec)})
