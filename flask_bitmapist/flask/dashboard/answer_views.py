"""The stickiness and funnel pages, their JSON/CSV API and their drill-downs.

Registered on the ``bitmapist`` blueprint by :func:`~flask_bitmapist.flask.dashboard.
views.create_blueprint`, which also turns bad input into 400s naming the field and storage
trouble into 503s. Numbers come from the domain engines, JSON and CSV from the shared
reports, so the CLI prints the same.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, render_template, request, url_for

from flask_bitmapist.domain import (
    MAX_STEPS,
    BitmapistError,
    FunnelEngine,
    InvalidAnswerSpec,
    StickinessEngine,
    TimeGroup,
)
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.flask.dashboard.answer_forms import (
    FunnelForm,
    StickinessForm,
    named_events,
    parse_drill_step,
)
from flask_bitmapist.flask.dashboard.answers import answer_format, csv_download, users_page
from flask_bitmapist.flask.dashboard.chart import FunnelChart, StickinessChart
from flask_bitmapist.flask.dashboard.forms import parse_count
from flask_bitmapist.flask.state import current_state
from flask_bitmapist.services.reports import (
    funnel_spec_to_dict,
    funnel_to_csv,
    funnel_to_dict,
    period_label,
    stickiness_spec_to_dict,
    stickiness_to_csv,
    stickiness_to_dict,
)

__all__ = [
    "api_funnel",
    "api_funnel_users",
    "api_stickiness",
    "api_stickiness_users",
    "funnel_page",
    "stickiness_page",
]


# -- stickiness -------------------------------------------------------------------------


def stickiness_page() -> Response | str:
    """The form and, once submitted, a bar chart and a table whose numbers list users."""
    state = current_state()
    form = StickinessForm.from_args(request.args)
    stickiness = None
    error: BitmapistError | None = None
    if StickinessForm.is_submitted(request.args):
        try:
            stickiness = StickinessEngine(
                state.repository, max_user_id=state.settings.max_user_id
            ).compute(
                state.kept(
                    form.to_spec(now=state.now(), max_terms=state.settings.max_expression_terms)
                )
            )
        except (InvalidRequest, InvalidAnswerSpec) as exc:
            error = exc
    html = render_template(
        "bitmapist/stickiness.html",
        form=form,
        time_groups=list(TimeGroup),
        error=error,
        stickiness=stickiness,
        chart=StickinessChart.build(stickiness) if stickiness else None,
        labels=[period_label(stickiness.spec.time_group, d) for d in stickiness.dates]
        if stickiness
        else [],
        query=form.query(),
        users_url=url_for("bitmapist.api_stickiness_users") + "?" + form.query(),
        now=state.now(),
    )
    return current_app.response_class(html, status=400 if error else 200, mimetype="text/html")


def api_stickiness() -> Response:
    """``{"periods": N, "counts": [...]}`` (``format=csv``: a line per k)."""
    fmt = answer_format()
    state = current_state()
    spec = state.kept(
        StickinessForm.from_args(request.args).to_spec(
            now=state.now(), max_terms=state.settings.max_expression_terms
        )
    )
    stickiness = StickinessEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
        spec
    )
    if fmt == "csv":
        return csv_download(stickiness_to_csv(stickiness), "stickiness", spec.window.last)
    return jsonify(stickiness_to_dict(stickiness))


def api_stickiness_users() -> Response:
    """The users who matched in exactly ``k`` periods, a page at a time."""
    state = current_state()
    spec = state.kept(
        StickinessForm.from_args(request.args).to_spec(
            now=state.now(), max_terms=state.settings.max_expression_terms
        )
    )
    k = parse_count("k", request.args.get("k"))
    users = StickinessEngine(state.repository, max_user_id=state.settings.max_user_id).users(
        spec, k
    )
    return users_page(users, state, k=k, spec=stickiness_spec_to_dict(spec))


# -- funnels ----------------------------------------------------------------------------


def funnel_page() -> Response | str:
    """Up to ten steps, chosen as events or typed as expressions; horizontal bars with the
    conversion from the previous step and from the first; every count and every drop-off
    lists its users."""
    state = current_state()
    form = FunnelForm.from_args(request.args)
    funnel = None
    error: BitmapistError | None = None
    if FunnelForm.is_submitted(request.args):
        try:
            funnel = FunnelEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
                state.kept(
                    form.to_spec(now=state.now(), max_terms=state.settings.max_expression_terms)
                )
            )
        except (InvalidRequest, InvalidAnswerSpec) as exc:
            error = exc
    html = render_template(
        "bitmapist/funnel.html",
        form=form,
        step_rows=form.step_rows(named_events(form.steps)),
        max_steps=MAX_STEPS,
        time_groups=list(TimeGroup),
        error=error,
        funnel=funnel,
        chart=FunnelChart.build(funnel) if funnel else None,
        query=form.query(),
        users_url=url_for("bitmapist.api_funnel_users") + "?" + form.query(),
        now=state.now(),
    )
    return current_app.response_class(html, status=400 if error else 200, mimetype="text/html")


def api_funnel() -> Response:
    """``{"steps": [...], "counts": [...]}`` (``format=csv``: a line per step)."""
    fmt = answer_format()
    state = current_state()
    spec = state.kept(
        FunnelForm.from_args(request.args).to_spec(
            now=state.now(), max_terms=state.settings.max_expression_terms
        )
    )
    funnel = FunnelEngine(state.repository, max_user_id=state.settings.max_user_id).compute(spec)
    if fmt == "csv":
        return csv_download(funnel_to_csv(funnel), "funnel", spec.window.last)
    return jsonify(funnel_to_dict(funnel))


def api_funnel_users() -> Response:
    """The users who reached step ``reached=K``, or who reached step ``dropped=K`` but not
    the next, a page at a time."""
    state = current_state()
    spec = state.kept(
        FunnelForm.from_args(request.args).to_spec(
            now=state.now(), max_terms=state.settings.max_expression_terms
        )
    )
    which, step = parse_drill_step(request.args, len(spec.steps))
    engine = FunnelEngine(state.repository, max_user_id=state.settings.max_user_id)
    users = (
        engine.step_users(spec, step) if which == "reached" else engine.dropped_users(spec, step)
    )
    return users_page(users, state, **{which: step}, spec=funnel_spec_to_dict(spec))
