"""The trends page, ``/api/trend`` (JSON or CSV) and ``/api/trend/users``, and the events
page's sparklines that link to trends.

``GET /api/trend?expr=E&expr=F&time_group=days&periods=30&rolling=1&now=...`` answers
exactly as docs/answers.md shows it, with ``complete`` (and ``warnings`` for names
without data); every count drills down to its users a page at a time. The answer itself
comes from the app's pipeline (:class:`~flask_bitmapist.services.answers.Answers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, request, url_for

from flask_bitmapist.domain import MAX_SERIES, EventRef, Trend
from flask_bitmapist.flask.dashboard import responses
from flask_bitmapist.flask.dashboard.chart import Sparkline, TrendChart
from flask_bitmapist.flask.dashboard.forms import AnswerForm
from flask_bitmapist.flask.state import current_state
from flask_bitmapist.services.reports import period_iso, period_label

__all__ = ["SPARKLINE_DAYS", "event_sparklines", "register"]

#: The events page's small trend: this many days, ending today.
SPARKLINE_DAYS = 30


def register(bp: Blueprint) -> None:
    """Add the trends page and its API routes to the dashboard blueprint."""
    responses.add_answer_routes(bp, "trend", "/trends", trends_page, api_trend, api_trend_users)


def api_trend() -> Response:
    """``{"dates": [...], "series": [{"expr": "E", "counts": [...]}, ...], "complete":
    [...]}``; CSV with ``format=csv``."""
    form = AnswerForm.from_args(request.args)
    return responses.api_answer("trend", form.fields(), labels=form.exprs)


def api_trend_users() -> Response:
    """The users behind ``counts[index]`` of series ``series`` (from 0)."""
    fields = AnswerForm.from_args(request.args).fields()
    return responses.api_users("trend", fields, "series", "index")


def trends_page() -> Response:
    """Several expressions on one line chart, a table under it, CSV and JSON links."""
    state = current_state()
    form, answer, error = responses.answer_page(
        "trend", AnswerForm, lambda form: {"labels": form.exprs}
    )
    trend = answer.result if answer else None
    breakdown = responses.try_breakdown(answer if error is None else None)
    found = breakdown[0]
    return responses.page_response(
        "bitmapist/trends.html",
        answer=answer,
        error=error,
        breakdown=breakdown,
        form=form,
        trend=trend,
        labels=form.exprs,
        chart=TrendChart.build(
            trend,
            form.exprs,
            answer.complete or (),
            breakdown=found.name if found else "",
            groups=[(value, part.result) for value, part in found.groups] if found else (),
        )
        if answer and trend
        else None,
        rows=_rows(trend, answer.complete) if answer and trend else [],
        query=form.query(),
        users_url=url_for("bitmapist.api_trend_users") + "?" + form.query(),
        hourly_off=responses.hourly_off(state, trend.spec.time_group if trend else None),
        max_series=MAX_SERIES,
    )


def _rows(trend: Trend, complete: Sequence[bool] | None) -> list[dict[str, Any]]:
    group = trend.spec.time_group
    return [
        {
            "index": k,
            "label": period_label(group, date),
            "iso": period_iso(group, date),
            "counts": [series.counts[k] for series in trend.series],
            "previous": [series.counts[k] for series in trend.previous.series]
            if trend.previous is not None
            else [],
            "complete": complete[k] if complete else True,
        }
        for k, date in enumerate(trend.dates)
    ]


def event_sparklines(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each event's daily users over its ``trail`` of days (the events page reads them with
    its counts, in one read), drawn small, with the link to its trend."""
    return {
        row["name"]: {
            "line": Sparkline.build(row["trail"]),
            "url": url_for(
                "bitmapist.trends",
                # An event name written so the expression parser reads it back.
                expr=str(EventRef(row["name"])),
                time_group="day",
                periods=len(row["trail"]),
            ),
        }
        for row in rows
    }
