"""The cohort page, 0.1's ``POST /cohort``, ``/api/cohort`` (JSON or CSV),
``/api/cohort.csv`` and ``/api/cohort/cell``.

The spec is built from the page's form or 0.1's JSON body
(:mod:`~flask_bitmapist.flask.dashboard.forms`); the answer comes from the app's pipeline
(:class:`~flask_bitmapist.services.answers.Answers`), with ``complete`` per column of the
last diagonal and warnings for names without data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from flask_bitmapist.domain import Cohort, CohortMode, CohortSpec
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.flask.dashboard import responses
from flask_bitmapist.flask.dashboard.chart import RetentionChart
from flask_bitmapist.flask.dashboard.forms import (
    COHORT_FIELDS,
    CohortForm,
    json_object,
    parse_cell,
    parse_legacy_body,
)
from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.services.answers import Answer
from flask_bitmapist.services.reports import (
    cohort_to_legacy_dict,
    column_label,
    period_iso,
    period_label,
)

__all__ = ["register"]


def register(bp: Blueprint) -> None:
    """Add the cohort page, 0.1's POST and the cohort API to the dashboard blueprint."""
    bp.add_url_rule("/cohort", "cohort", cohort_page, methods=["GET"])
    bp.add_url_rule("/cohort", "cohort_post", cohort_post, methods=["POST"])
    bp.add_url_rule("/api/cohort", "api_cohort", api_cohort)
    bp.add_url_rule("/api/cohort.csv", "api_cohort_csv", api_cohort_csv)
    bp.add_url_rule("/api/cohort/cell", "api_cohort_cell", api_cohort_cell)


def _spec(state: BitmapistState, form: CohortForm) -> CohortSpec:
    settings = state.settings
    return form.to_spec(
        now=state.now(),
        max_cells=settings.max_cohort_cells,
        max_terms=settings.max_expression_terms,
    )


def _answer(state: BitmapistState, form: CohortForm) -> Answer[CohortSpec, Cohort]:
    spec = _spec(state, form)
    return state.answers.answer("cohort", spec=spec, segment=form.segment, as_percent=form.percent)


def cohort_page() -> Response:
    """The form and, once submitted, the heatmap, the chart and links to CSV and JSON."""
    state = current_state()
    args = responses.default_args("cohort", request.args, COHORT_FIELDS)
    form = CohortForm.from_args(args)
    submitted = CohortForm.is_submitted(args)
    if not submitted and request.args.get("json"):
        raise InvalidRequest(
            "primary: no cohort to answer: give primary (an event) and secondary, "
            "or store some events first",
            field="primary",
        )
    answer, error = responses.try_answer((lambda: _answer(state, form)) if submitted else None)
    if error is not None and responses.wants_json():
        raise error
    if request.args.get("json") and answer is not None:
        return jsonify(answer.to_dict())
    cohort = answer.result if answer else None
    return responses.page_response(
        "bitmapist/cohort.html",
        answer=answer,
        error=error,
        form=form,
        modes=list(CohortMode),
        cohort=cohort,
        view=_heatmap_view(cohort, form.percent, answer.complete) if answer and cohort else None,
        chart=RetentionChart.build(cohort, as_percent=form.percent) if cohort else None,
        hourly_off=responses.hourly_off(state, cohort.spec.time_group if cohort else None),
        query=form.query(),
        users_url=url_for("bitmapist.api_cohort_cell") + "?" + form.query(),
    )


def _heatmap_view(
    cohort: Cohort, as_percent: bool, complete: Sequence[bool] | None = None
) -> dict[str, Any]:
    """What the heatmap partial needs, besides the cohort itself: ``incomplete`` holds
    the columns whose cell on the last diagonal is of the period containing now."""
    group = cohort.spec.time_group
    rows = len(cohort.totals)
    return {
        "as_percent": as_percent,
        "labels": [period_label(group, d) for d in cohort.dates],
        # Once per column, not per cell: the page stays linear in cells with a small factor.
        "column_labels": [column_label(group, j) for j in range(cohort.spec.cols)],
        "iso_dates": [period_iso(group, d) for d in cohort.dates],
        "mean_total": sum(cohort.totals) / rows if rows else 0,
        "averages": cohort.average_percentages if as_percent else cohort.averages,
        "incomplete": {j for j, done in enumerate(complete or ()) if not done},
        "last_row": rows - 1,
    }


def cohort_post() -> Response | str:
    """0.1's API: a JSON body in, the heatmap fragment out (``?json=1``: 0.1's JSON)."""
    state = current_state()
    body = json_object(request, wanted="with primary_event and secondary_event")
    spec, as_percent = parse_legacy_body(
        body,
        now=state.now(),
        max_cells=state.settings.max_cohort_cells,
        max_terms=state.settings.max_expression_terms,
    )
    answer = state.answers.answer("cohort", spec=spec, warn=False, segment=body.get("segment"))
    cohort = answer.result
    if request.args.get("json"):
        time_group = body.get("time_group") if isinstance(body.get("time_group"), str) else None
        return jsonify(cohort_to_legacy_dict(cohort, as_percent=as_percent, time_group=time_group))
    return render_template(
        "bitmapist/_heatmap.html",
        cohort=cohort,
        view=_heatmap_view(cohort, as_percent, answer.complete),
        query="",
    )


def api_cohort() -> Response:
    """The cohort as JSON (``format=csv``: as CSV); with ``breakdown``, once per value."""
    fmt = responses.answer_format()
    state = current_state()
    form = CohortForm.from_args(request.args)
    if form.breakdown:
        spec = _spec(state, form)
        breakdown = state.answers.breakdown(
            "cohort",
            spec=spec,
            breakdown=form.breakdown,
            segment=form.segment,
            as_percent=form.percent,
        )
        return responses.answer_response(breakdown, fmt)
    return responses.answer_response(_answer(state, form), fmt)


def api_cohort_csv() -> Response:
    """The heatmap table as a CSV download."""
    state = current_state()
    return responses.answer_response(_answer(state, CohortForm.from_args(request.args)), "csv")


def api_cohort_cell() -> Response:
    """The user ids behind one cell, ascending, a page at a time."""
    state = current_state()
    form = CohortForm.from_args(request.args)
    row, col = parse_cell(request.args)
    cell = {"row": row, "col": col, "group": request.args.get("group"), "breakdown": form.breakdown}
    drill = state.answers.drill("cohort", cell, spec=_spec(state, form), segment=form.segment)
    return responses.users_page(drill, state)
