"""Trend and lifecycle pages, their JSON/CSV API, and the drill-down to their users.

``GET /api/trend?expr=E&expr=F&time_group=days&periods=30&rolling=1&now=...`` and
``GET /api/lifecycle?expr=E&time_group=&periods=&now=`` answer exactly as DESIGN section
10 shapes them (``format=csv`` for CSV); ``/trends`` and ``/lifecycle`` show a chart, a
table and a CSV link, with every choice in the URL. Every count drills down to its users
through ``/api/trend/users`` and ``/api/lifecycle/users``, a page at a time, as cohort
cells do. Bad input answers 400 naming the field; storage trouble 503 (the blueprint's
handlers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import attrs
from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from flask_bitmapist.domain import (
    MAX_SERIES,
    Bitmap,
    EventRef,
    Lifecycle,
    LifecycleEngine,
    LifecycleSpec,
    LifecycleStatus,
    Period,
    TimeGroup,
    Trend,
    TrendEngine,
    TrendSpec,
)
from flask_bitmapist.flask.dashboard.answer_charts import LifecycleChart, Sparkline, TrendChart
from flask_bitmapist.flask.dashboard.forms import InvalidRequest, Page, parse_count, parse_now
from flask_bitmapist.flask.dashboard.saved_cohorts import note_drill_down_users
from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.services.answers import lifecycle_spec, trend_spec
from flask_bitmapist.services.reports import (
    lifecycle_to_csv,
    lifecycle_to_dict,
    period_iso,
    period_label,
    period_stamp,
    trend_to_csv,
    trend_to_dict,
)

__all__ = ["AnswerForm", "event_sparklines", "register_answer_views", "users_page"]

#: The events page's small trend: this many days, ending today.
SPARKLINE_DAYS = 30


def register_answer_views(bp: Blueprint) -> None:
    """Add the trend and lifecycle pages and API routes to the dashboard blueprint."""
    bp.add_url_rule("/trends", "trends", trends_page)
    bp.add_url_rule("/lifecycle", "lifecycle", lifecycle_page)
    bp.add_url_rule("/api/trend", "api_trend", api_trend)
    bp.add_url_rule("/api/trend/users", "api_trend_users", api_trend_users)
    bp.add_url_rule("/api/lifecycle", "api_lifecycle", api_lifecycle)
    bp.add_url_rule("/api/lifecycle/users", "api_lifecycle_users", api_lifecycle_users)


@attrs.frozen
class AnswerForm:
    """A trend or lifecycle request as typed, so a page can show it again with its error."""

    exprs: tuple[str, ...] = ()
    time_group: str = "day"
    periods: str = "30"
    rolling: str = "1"
    now: str = ""

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> AnswerForm:
        """Read repeated ``expr`` (blank ones dropped), ``time_group``, ``periods``,
        ``rolling`` and ``now`` from a query string."""
        exprs = tuple(e.strip() for e in args.getlist("expr") if e.strip())
        defaults = cls()

        def get(key: str, default: str) -> str:
            value = args.get(key)
            return default if value is None or not value.strip() else value.strip()

        return cls(
            exprs=exprs,
            time_group=get("time_group", defaults.time_group),
            periods=get("periods", defaults.periods),
            rolling=get("rolling", defaults.rolling),
            now=get("now", ""),
        )

    @property
    def submitted(self) -> bool:
        """Whether an expression was given (else a page shows an empty form)."""
        return bool(self.exprs)

    def _moment(self, state: BitmapistState) -> datetime:
        return parse_now("now", self.now, state.zone) or state.now()

    def _required(self) -> None:
        if not self.exprs:
            raise InvalidRequest("expr is required: an event or an expression", field="expr")

    def trend_spec(self, state: BitmapistState) -> TrendSpec:
        """The validated trend request (errors name the field)."""
        self._required()
        return state.kept(
            trend_spec(
                list(self.exprs),
                now=self._moment(state),
                time_group=self.time_group,
                periods=parse_count("periods", self.periods),
                rolling=parse_count("rolling", self.rolling),
                max_terms=state.settings.max_expression_terms,
            )
        )

    def lifecycle_spec(self, state: BitmapistState) -> LifecycleSpec:
        """The validated lifecycle request: exactly one expression."""
        self._required()
        if len(self.exprs) > 1:
            raise InvalidRequest(f"a lifecycle takes one expr, got {len(self.exprs)}", field="expr")
        return state.kept(
            lifecycle_spec(
                self.exprs[0],
                now=self._moment(state),
                time_group=self.time_group,
                periods=parse_count("periods", self.periods),
                max_terms=state.settings.max_expression_terms,
            )
        )

    def query(self, *, rolling: bool = True, **extra: object) -> str:
        """The request as a query string (for links), with ``extra`` keys appended."""
        pairs = [("expr", e) for e in self.exprs]
        pairs += [("time_group", self.time_group), ("periods", self.periods)]
        if rolling:
            pairs.append(("rolling", self.rolling))
        if self.now:
            pairs.append(("now", self.now))
        pairs += [(key, str(value)) for key, value in extra.items()]
        return urlencode(pairs)


def answer_format() -> str:
    """The ``format`` query parameter of an answer's API: json (default) or csv."""
    fmt = request.args.get("format", "json").strip().lower()
    if fmt not in ("json", "csv"):
        raise InvalidRequest(f"format must be json or csv, got {fmt!r}", field="format")
    return fmt


def csv_download(text: str, name: str, last: Period) -> Response:
    """A CSV download named for the answer, its time group and the window's last period
    (local to the app's zone: ``trend-day-2026-11-27.csv``)."""
    filename = f"{name}-{last.group.value}-{period_stamp(last)}.csv"
    return current_app.response_class(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def users_page(users: Bitmap, state: BitmapistState, **about: Any) -> Response:
    """One page of ``users`` (``page``, ``per_page`` from the query string) as JSON, after
    ``about`` (what the list is of): ``count``, ``page``, ``per_page``, ``pages``,
    ``user_ids``, ``ids_mapped``. Every drill-down of the dashboard answers this way."""
    note_drill_down_users(users)  # saved in full by POST /api/saved-cohorts "from"
    page = Page.from_args(request.args)
    count = len(users)
    return jsonify(
        {
            **about,
            "count": count,
            "page": page.number,
            "per_page": page.size,
            "pages": max(1, math.ceil(count / page.size)),
            # With BITMAPIST_MAP_IDS the page shows the app's own ids.
            "user_ids": state.original_ids(users.ids(page.offset, page.offset + page.size)),
            "ids_mapped": state.id_mapper is not None,
        }
    )


# -- trend --------------------------------------------------------------------------------


def _trend(state: BitmapistState, form: AnswerForm) -> Trend:
    return TrendEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
        form.trend_spec(state)
    )


def api_trend() -> Response:
    """``{"dates": [...], "series": [{"expr": "E", "counts": [...]}, ...]}``; CSV with
    ``format=csv``."""
    fmt = answer_format()
    state = current_state()
    form = AnswerForm.from_args(request.args)
    trend = _trend(state, form)
    if fmt == "csv":
        spec = trend.spec
        return csv_download(trend_to_csv(trend, form.exprs), "trend", spec.window.last)
    return jsonify(trend_to_dict(trend, form.exprs))


def api_trend_users() -> Response:
    """The users behind ``counts[index]`` of series ``series`` (from 0)."""
    state = current_state()
    form = AnswerForm.from_args(request.args)
    spec = form.trend_spec(state)
    series = parse_count("series", request.args.get("series"), 0)
    index = parse_count("index", request.args.get("index"))
    users = TrendEngine(state.repository, max_user_id=state.settings.max_user_id).users(
        spec, series, index
    )
    return users_page(
        users,
        state,
        expr=form.exprs[series],
        series=series,
        index=index,
        date=period_iso(spec.time_group, spec.window.dates()[index]),
        rolling=spec.rolling,
    )


def trends_page() -> Response | str:
    """Several expressions on one line chart, a table under it, CSV and JSON links."""
    state = current_state()
    form = AnswerForm.from_args(request.args)
    trend: Trend | None = None
    error: InvalidRequest | None = None
    if form.submitted:
        try:
            trend = _trend(state, form)
        except (InvalidRequest, ValueError) as exc:
            error = _as_request_error(exc)
    html = render_template(
        "bitmapist/trends.html",
        form=form,
        error=error,
        trend=trend,
        labels=form.exprs,
        chart=TrendChart.build(trend, form.exprs) if trend else None,
        rows=_trend_rows(trend) if trend else [],
        query=form.query(),
        hourly_off=_hourly_off(state, trend.spec.time_group if trend else None),
        max_series=MAX_SERIES,
        time_groups=list(TimeGroup),
        now=state.now(),
    )
    return current_app.response_class(html, status=400 if error else 200, mimetype="text/html")


def _trend_rows(trend: Trend) -> list[dict[str, Any]]:
    group = trend.spec.time_group
    return [
        {
            "index": k,
            "label": period_label(group, date),
            "iso": period_iso(group, date),
            "counts": [series.counts[k] for series in trend.series],
        }
        for k, date in enumerate(trend.dates)
    ]


# -- lifecycle ----------------------------------------------------------------------------


def _lifecycle(state: BitmapistState, form: AnswerForm) -> Lifecycle:
    return LifecycleEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
        form.lifecycle_spec(state)
    )


def api_lifecycle() -> Response:
    """``{"dates", "new", "returning", "resurrecting", "dormant"}``; CSV with
    ``format=csv``."""
    fmt = answer_format()
    state = current_state()
    lifecycle = _lifecycle(state, AnswerForm.from_args(request.args))
    if fmt == "csv":
        spec = lifecycle.spec
        return csv_download(lifecycle_to_csv(lifecycle), "lifecycle", spec.window.last)
    return jsonify(lifecycle_to_dict(lifecycle))


def api_lifecycle_users() -> Response:
    """The users counted as ``status`` in period ``index`` (from 0)."""
    state = current_state()
    form = AnswerForm.from_args(request.args)
    spec = form.lifecycle_spec(state)
    status = LifecycleStatus.parse(request.args.get("status", ""))
    index = parse_count("index", request.args.get("index"))
    users = LifecycleEngine(state.repository, max_user_id=state.settings.max_user_id).users(
        spec, status, index
    )
    return users_page(
        users,
        state,
        expr=form.exprs[0],
        status=status.value,
        index=index,
        date=period_iso(spec.time_group, spec.window.dates()[index]),
    )


def lifecycle_page() -> Response | str:
    """Stacked bars (new, returning, resurrecting above zero, dormant below) and a table."""
    state = current_state()
    form = AnswerForm.from_args(request.args)
    lifecycle: Lifecycle | None = None
    error: InvalidRequest | None = None
    if form.submitted:
        try:
            lifecycle = _lifecycle(state, form)
        except (InvalidRequest, ValueError) as exc:
            error = _as_request_error(exc)
    group = lifecycle.spec.time_group if lifecycle else TimeGroup.DAY
    html = render_template(
        "bitmapist/lifecycle.html",
        form=form,
        error=error,
        lifecycle=lifecycle,
        chart=LifecycleChart.build(lifecycle) if lifecycle else None,
        statuses=[status.value for status in LifecycleStatus],
        rows=[
            {
                "index": k,
                "label": period_label(group, date),
                "iso": period_iso(group, date),
                "counts": {s.value: lifecycle.counts(s)[k] for s in LifecycleStatus},
            }
            for k, date in enumerate(lifecycle.dates)
        ]
        if lifecycle
        else [],
        query=form.query(rolling=False),
        hourly_off=_hourly_off(state, lifecycle.spec.time_group if lifecycle else None),
        time_groups=list(TimeGroup),
        now=state.now(),
    )
    return current_app.response_class(html, status=400 if error else 200, mimetype="text/html")


def _hourly_off(state: BitmapistState, group: TimeGroup | None) -> bool:
    # Hour bitmaps exist only for marks made while hourly tracking was on.
    return group is TimeGroup.HOUR and not state.settings.track_hourly


def _as_request_error(exc: Exception) -> InvalidRequest:
    """Any validation error as the page shows it: its message and the field it names."""
    if isinstance(exc, InvalidRequest):
        return exc
    field = getattr(exc, "field", None)
    if field is None:
        raise exc  # not a validation error of ours: let the blueprint's handlers answer
    return InvalidRequest(str(exc), field=field)


# -- the events page's sparklines ---------------------------------------------------------


def event_sparklines(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each event's daily users over its ``trail`` of days (the events page reads them with
    its counts, in one read), drawn small, with the link to its trend."""
    return {
        row["name"]: {
            "line": Sparkline.build(row["trail"]),
            "url": url_for(
                "bitmapist.trends",
                expr=_as_text(row["name"]),
                time_group="day",
                periods=len(row["trail"]),
            ),
        }
        for row in rows
    }


def _as_text(name: str) -> str:
    # An event name written so the expression parser reads it back (quoted if need be).
    return str(EventRef(name))
