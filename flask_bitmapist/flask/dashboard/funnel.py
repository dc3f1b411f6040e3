"""The funnel page, ``/api/funnel`` (JSON or CSV) and ``/api/funnel/users``.

``GET /api/funnel?step=a&step=b&time_group=&periods=&now=`` answers ``{"steps": [...],
"counts": [...]}`` (see docs/answers.md); every count and every drop-off lists its
users. The answer comes from the app's pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, Response, request, url_for

from flask_bitmapist.domain import MAX_STEPS, EventRef, parse_expression
from flask_bitmapist.flask.dashboard import responses
from flask_bitmapist.flask.dashboard.chart import FunnelChart
from flask_bitmapist.flask.dashboard.forms import FunnelForm

__all__ = ["named_events", "register"]


def register(bp: Blueprint) -> None:
    """Add the funnel page and its API routes to the dashboard blueprint."""
    responses.add_answer_routes(bp, "funnel", "/funnel", funnel_page, api_funnel, api_funnel_users)


def funnel_page() -> Response:
    """Up to ten steps, chosen as events or typed as expressions; horizontal bars with the
    conversion from the previous step and from the first; every count and every drop-off
    lists its users."""
    form, answer, error = responses.answer_page("funnel", FunnelForm)
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
