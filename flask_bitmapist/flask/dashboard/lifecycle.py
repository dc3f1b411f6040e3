"""The lifecycle page, ``/api/lifecycle`` (JSON or CSV) and ``/api/lifecycle/users``.

``GET /api/lifecycle?expr=E&time_group=&periods=&now=`` answers ``{"dates", "new",
"returning", "resurrecting", "dormant", "complete"}`` (see docs/answers.md); every
count drills down to its users. The answer comes from the app's pipeline.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from flask_bitmapist.domain import LifecycleStatus, TimeGroup
from flask_bitmapist.flask.dashboard import responses
from flask_bitmapist.flask.dashboard.chart import LifecycleChart
from flask_bitmapist.flask.dashboard.forms import AnswerForm
from flask_bitmapist.flask.state import current_state
from flask_bitmapist.services.reports import period_iso, period_label

__all__ = ["register"]


def register(bp: Blueprint) -> None:
    """Add the lifecycle page and its API routes to the dashboard blueprint."""
    responses.add_answer_routes(
        bp, "lifecycle", "/lifecycle", lifecycle_page, api_lifecycle, api_lifecycle_users
    )


def api_lifecycle() -> Response:
    """``{"dates", "new", "returning", "resurrecting", "dormant", "complete"}``; CSV with
    ``format=csv``."""
    return responses.api_answer("lifecycle", AnswerForm.from_args(request.args).fields())


def api_lifecycle_users() -> Response:
    """The users counted as ``status`` in period ``index`` (from 0)."""
    fields = AnswerForm.from_args(request.args).fields()
    return responses.api_users("lifecycle", fields, "status", "index")


def lifecycle_page() -> Response:
    """Stacked bars (new, returning, resurrecting above zero, dormant below) and a table."""
    state = current_state()
    form, answer, error = responses.answer_page("lifecycle", AnswerForm)
    lifecycle = answer.result if answer else None
    group = lifecycle.spec.time_group if lifecycle else TimeGroup.DAY
    complete = (answer.complete if answer else None) or ()
    return responses.page_response(
        "bitmapist/lifecycle.html",
        answer=answer,
        error=error,
        form=form,
        lifecycle=lifecycle,
        chart=LifecycleChart.build(lifecycle, complete) if lifecycle else None,
        statuses=[status.value for status in LifecycleStatus],
        rows=[
            {
                "index": k,
                "label": period_label(group, date),
                "iso": period_iso(group, date),
                "counts": {s.value: lifecycle.counts(s)[k] for s in LifecycleStatus},
                "complete": complete[k] if complete else True,
            }
            for k, date in enumerate(lifecycle.dates)
        ]
        if lifecycle
        else [],
        query=form.query(rolling=False),
        users_url=url_for("bitmapist.api_lifecycle_users") + "?" + form.query(rolling=False),
        hourly_off=responses.hourly_off(state, lifecycle.spec.time_group if lifecycle else None),
    )
