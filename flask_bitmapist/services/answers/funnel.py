"""Funnels (see docs/answers.md): how many users went through 2 to 10 steps in
order within a window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_bitmapist.domain import Funnel, FunnelEngine, FunnelSpec, Period
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
from flask_bitmapist.services.answers.specs import funnel_spec
from flask_bitmapist.services.reports import CsvCell

__all__ = ["FunnelKind"]


class FunnelKind(AnswerKind[FunnelSpec, Funnel]):
    """``step`` (repeated, 2 to 10, in order), ``time_group``, ``periods``, ``now``;
    drill-down: ``reached=K`` or ``dropped=K``."""

    name = "funnel"
    comparable = True
    # Its JSON is one count per step, not per date: no ``complete`` to align.
    dated = False

    def spec(self, fields: Fields, answers: Answers) -> FunnelSpec:
        return funnel_spec(
            fields.get("step", ()),  # type: ignore[arg-type]
            **answers.window(fields),
        )

    def engine(self, answers: Answers) -> FunnelEngine:
        return answers.engine(FunnelEngine)

    def plan(self, answers: Answers, spec: FunnelSpec) -> ReadPlan:
        events = self.events(spec)
        factors = {"periods": spec.periods, "step": len(events)}
        return read_plan(events, spec.time_group, spec.periods, spec.window.periods, factors)

    def events(self, spec: FunnelSpec) -> frozenset[str]:
        return frozenset().union(*(step.events() for step in spec.steps))

    def periods(self, result: Funnel) -> Sequence[Period]:
        return result.spec.window.periods()

    def to_dict(self, result: Funnel, options: dict[str, Any]) -> dict[str, Any]:
        return reports.funnel_to_dict(result)

    def previous_to_dict(
        self, answer: dict[str, Any], previous: Funnel, options: dict[str, Any]
    ) -> None:
        """The answer gains ``previous``: the counts over the previous window."""
        answer["previous"] = list(previous.counts)

    def csv_rows(self, result: Any, options: dict[str, Any]) -> Sequence[Sequence[CsvCell]]:
        return reports.funnel_csv_rows(result)

    def csv_cell_users(self, result: Funnel, row: int, col: int) -> dict[str, Any] | None:
        # step, expression, users, (previous,) from previous %, from first %, dropped
        # (the last step has no next one to drop before)
        dropped = 6 if result.previous is not None else 5
        if col == dropped and row < len(result.dropped):
            return {"dropped": row + 1}
        return {"reached": row + 1} if col == 2 else None

    def table(self, result: Funnel, options: dict[str, Any]) -> str:
        """A heading, then one line per step: its users, the conversion from the previous
        step and from the first, and how many dropped before the next."""
        spec = result.spec
        dropped = [*result.dropped, None]
        rows = [
            [
                str(k),
                reports.expression_to_text(step),
                reports.format_count(count),
                reports.format_percent(result.from_previous[k - 1]),
                reports.format_percent(result.from_first[k - 1]),
                reports.format_count(dropped[k - 1]),
            ]
            for k, (step, count) in enumerate(zip(spec.steps, result.counts, strict=True), start=1)
        ]
        heading = (
            f"{len(spec.steps)} steps within {spec.periods} {spec.time_group.plural}; "
            f"{reports.now_heading(spec.now, spec.window.last.zone)}"
        )
        header = ["step", "users who did", "users", "from previous", "from first", "dropped"]
        table = [header, *rows]
        if result.previous is not None:
            table = reports.insert_comparison(table, 3, result.counts, result.previous.counts)
            heading += "; " + reports.previous_heading(result.previous.spec.window)
        return heading + "\n\n" + reports.render_table(table[0], table[1:], left=2)

    def drill(self, answers: Answers, spec: FunnelSpec, fields: Fields) -> Drill:
        """The users who reached step ``reached=K``, or reached step ``dropped=K`` but not
        the next."""
        which, step = _drill_step(fields, len(spec.steps))
        engine = answers.engine(FunnelEngine)
        if which == "reached":
            users = engine.step_users(spec, step)
        else:
            users = engine.dropped_users(spec, step)
        return Drill(users, {which: step, "spec": reports.funnel_spec_to_dict(spec)})


def _drill_step(fields: Fields, steps: int) -> tuple[str, int]:
    """``("reached", k)`` for ``reached=k`` or ``("dropped", k)`` for ``dropped=k``;
    exactly one is required."""
    given = [key for key in ("reached", "dropped") if fields.get(key) not in (None, "")]
    if len(given) != 1:
        raise InvalidRequest(
            "give exactly one of reached=K (users who reached step K) or dropped=K (users "
            "who reached step K but not the next)",
            field="reached",
        )
    key = given[0]
    value = parse_count(key, fields.get(key))
    last = steps if key == "reached" else steps - 1
    if not 1 <= value <= last:
        raise InvalidRequest(f"{key} must be between 1 and {last}, got {value}", field=key)
    return key, value
