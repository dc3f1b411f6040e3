"""The funnel page, ``/api/funnel`` (JSON or CSV) and ``/api/funnel/users``.

``GET /api/funnel?step=a&step=b&time_group=&periods=&now=`` answers ``{"steps": [...],
"counts": [...]}`` (see docs/answers.md); every count and every drop-off lists its
users. The answer comes from the app's pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar
from urllib.parse import urlencode

import attrs
from flask import Blueprint, Response, request, url_for
from werkzeug.datastructures import MultiDict

from flask_bitmapist.domain import MAX_STEPS, EventRef, InvalidEventName, parse_expression
from flask_bitmapist.flask.dashboard import responses
from flask_bitmapist.flask.dashboard.chart import FunnelChart
from flask_bitmapist.flask.dashboard.forms import window_args
from flask_bitmapist.flask.state import current_state

__all__ = ["FunnelForm", "named_events", "register"]

#: The funnel page shows at least this many step rows.
MIN_STEP_ROWS = 3


def register(bp: Blueprint) -> None:
    """Add the funnel page and its API routes to the dashboard blueprint."""
    responses.add_answer_routes(bp, "funnel", "/funnel", funnel_page, api_funnel, api_funnel_users)


@attrs.frozen
class FunnelForm:
    """The funnel request as typed, each step as a text expression.

    The API sends each step as a repeated ``step`` (an event name or an expression). The
    page sends, per step row, the event chosen in ``step_event`` and an optional
    ``step_expression`` that replaces it, paired by position; rows left blank are dropped.
    """

    #: The query-string keys of the form; a request with none of them shows the default.
    KEYS: ClassVar[tuple[str, ...]] = (
        "step",
        "step_event",
        "step_expression",
        "time_group",
        "periods",
        "now",
        "segment",
    )

    steps: tuple[str, ...] = ()
    time_group: str = "day"
    periods: str = "30"
    now: str = ""
    segment: str = ""
    compare: str = ""
    breakdown: str = ""

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> FunnelForm:
        """Read the form from a query string (``request.args``)."""
        steps = [v.strip() for v in args.getlist("step") if v.strip()]
        events = [v.strip() for v in args.getlist("step_event")]
        expressions = [v.strip() for v in args.getlist("step_expression")]
        rows = max(len(events), len(expressions))
        events += [""] * (rows - len(events))
        expressions += [""] * (rows - len(expressions))
        for name, expression in zip(events, expressions, strict=True):
            if expression:
                steps.append(expression)
            elif name:
                steps.append(_event_text(name))
        return cls(steps=tuple(steps), **window_args(args))

    @staticmethod
    def is_submitted(args: Mapping[str, str]) -> bool:
        """Whether the query string holds any field (else: show an empty form)."""
        return any(key in args for key in FunnelForm.KEYS)

    def fields(self) -> dict[str, object]:
        """The request's fields, as the answer pipeline reads them."""
        return {
            "step": list(self.steps),
            "time_group": self.time_group,
            "periods": self.periods,
            "now": self.now,
            "segment": self.segment,
            "compare": self.compare,
            "breakdown": self.breakdown,
        }

    def step_rows(self, events: frozenset[str] | set[str]) -> list[tuple[str, str]]:
        """The page's step rows as ``(event, expression)``: a step that is one of ``events``
        fills the event picker, anything else the expression; then blank rows, at
        least :data:`MIN_STEP_ROWS` in all and one more than filled, up to ten."""
        names = {_event_text(event): event for event in events}
        rows = [(names[s], "") if s in names else ("", s) for s in self.steps]
        wanted = min(MAX_STEPS, max(MIN_STEP_ROWS, len(rows) + 1))
        return rows + [("", "")] * (wanted - len(rows))

    def query(self, **overrides: object) -> str:
        """The request as the API's query string (``step`` repeated), ``overrides`` added."""
        pairs = [("step", step) for step in self.steps]
        pairs += [("time_group", self.time_group), ("periods", self.periods)]
        if self.now:
            pairs.append(("now", self.now))
        if self.segment:
            pairs.append(("segment", self.segment))
        if self.compare:
            pairs.append(("compare", self.compare))
        if self.breakdown:
            pairs.append(("breakdown", self.breakdown))
        pairs += [(key, str(value)) for key, value in overrides.items()]
        return urlencode(pairs)


def funnel_page() -> Response:
    """Up to ten steps, chosen as events or typed as expressions; horizontal bars with the
    conversion from the previous step and from the first; every count and every drop-off
    lists its users."""
    state = current_state()
    args = responses.default_args("funnel", request.args, FunnelForm.KEYS)
    form = FunnelForm.from_args(args)
    submitted = FunnelForm.is_submitted(args)
    answer, error = responses.try_answer(
        (lambda: state.answers.answer("funnel", form.fields())) if submitted else None
    )
    funnel = answer.result if answer else None
    return responses.page_response(
        "bitmapist/funnel.html",
        answer=answer,
        error=error,
        form=form,
        step_rows=form.step_rows(named_events(form.steps)),
        max_steps=MAX_STEPS,
        funnel=funnel,
        chart=FunnelChart.build(funnel) if funnel else None,
        query=form.query(),
        users_url=url_for("bitmapist.api_funnel_users") + "?" + form.query(),
    )


def api_funnel() -> Response:
    """``{"steps": [...], "counts": [...]}`` (``format=csv``: a line per step)."""
    return responses.api_answer("funnel", FunnelForm.from_args(request.args).fields())


def api_funnel_users() -> Response:
    """The users who reached step ``reached=K``, or who reached step ``dropped=K`` but not
    the next, a page at a time."""
    fields = FunnelForm.from_args(request.args).fields()
    return responses.api_users("funnel", fields, "reached", "dropped")


def named_events(steps: Iterable[str]) -> frozenset[str]:
    """The names of the ``steps`` that are one event each: their rows show them in the
    event picker, the others in the expression field."""
    names = set()
    for step in steps:
        try:
            expression = parse_expression(step)
        except ValueError:
            continue
        if isinstance(expression, EventRef):
            names.add(expression.name)
    return frozenset(names)


def _event_text(name: str) -> str:
    """An event chosen from the list, as an expression (quoted when its name needs it).

    A name no event can have is kept as typed: reading it as an expression then fails
    with an error naming the step."""
    try:
        return str(EventRef(name))
    except InvalidEventName:
        return name
