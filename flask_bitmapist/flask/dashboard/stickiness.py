"""The stickiness page, ``/api/stickiness`` (JSON or CSV) and ``/api/stickiness/users``.

``GET /api/stickiness?expr=E&time_group=&periods=&now=`` answers ``{"periods": N,
"counts": [...]}`` (see docs/answers.md); every count lists its users. The answer
comes from the app's pipeline.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from flask_bitmapist.flask.dashboard import responses
from flask_bitmapist.flask.dashboard.chart import StickinessChart
from flask_bitmapist.flask.dashboard.forms import StickinessForm
from flask_bitmapist.services.reports import period_label

__all__ = ["register"]


def register(bp: Blueprint) -> None:
    """Add the stickiness page and its API routes to the dashboard blueprint."""
    responses.add_answer_routes(
        bp, "stickiness", "/stickiness", stickiness_page, api_stickiness, api_stickiness_users
    )


def stickiness_page() -> Response:
    """The form and, once submitted, a bar chart and a table whose numbers list users."""
    form, answer, error = responses.answer_page("stickiness", StickinessForm)
    stickiness = answer.result if answer else None
    return responses.page_response(
        "bitmapist/stickiness.html",
        answer=answer,
        error=error,
        form=form,
        stickiness=stickiness,
        chart=StickinessChart.build(stickiness) if stickiness else None,
        labels=[period_label(stickiness.spec.time_group, d) for d in stickiness.dates]
        if stickiness
        else [],
        query=form.query(),
        users_url=url_for("bitmapist.api_stickiness_users") + "?" + form.query(),
    )


def api_stickiness() -> Response:
    """``{"periods": N, "counts": [...]}`` (``format=csv``: a line per k)."""
    return responses.api_answer("stickiness", StickinessForm.from_args(request.args).fields())


def api_stickiness_users() -> Response:
    """The users who matched in exactly ``k`` periods, a page at a time."""
    fields = StickinessForm.from_args(request.args).fields()
    return responses.api_users("stickiness", fields, "k")
