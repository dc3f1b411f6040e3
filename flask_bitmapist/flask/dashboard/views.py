"""The ``bitmapist`` blueprint: events page, cohort page, JSON/CSV API, drill-down.

Every view reads the app's state through :func:`~flask_bitmapist.flask.state.current_state`,
so one blueprint object per app is all the per-app wiring there is. Bad input answers 400
naming the field, storage trouble 503, a refused visitor 403 saying how to allow access.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
)

from flask_bitmapist.domain import (
    Cohort,
    CohortMode,
    CohortSpec,
    InvalidAnswerSpec,
    InvalidCohortSpec,
    StorageUnavailable,
    TimeGroup,
)
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.flask.dashboard.answer_views import (
    api_funnel,
    api_funnel_users,
    api_stickiness,
    api_stickiness_users,
    funnel_page,
    stickiness_page,
)
from flask_bitmapist.flask.dashboard.answers import (
    SPARKLINE_DAYS,
    event_sparklines,
    register_answer_views,
    users_page,
)
from flask_bitmapist.flask.dashboard.chart import RetentionChart
from flask_bitmapist.flask.dashboard.forms import (
    CohortForm,
    parse_cell,
    parse_count,
    parse_legacy_body,
)
from flask_bitmapist.flask.dashboard.saved_cohorts import register_saved_cohort_views
from flask_bitmapist.flask.dashboard.storage_view import register_storage_view
from flask_bitmapist.flask.state import BitmapistState, Settings, current_state
from flask_bitmapist.services.bounded_json import MAX_JSON_BYTES, InvalidJson, load_json
from flask_bitmapist.services.event_counts import EventCounts, count_events
from flask_bitmapist.services.event_listing import EVENTS_PER_PAGE, EventPage, page_events
from flask_bitmapist.services.reports import (
    cohort_to_csv,
    cohort_to_dict,
    cohort_to_legacy_dict,
    column_label,
    event_counts_to_csv,
    format_count,
    format_mean,
    format_percent,
    period_iso,
    period_label,
    period_stamp,
    spec_to_dict,
)

__all__ = ["create_blueprint", "heat_class"]

FORBIDDEN_MESSAGE = (
    "The Flask-Bitmapist dashboard is not enabled for this request. Set "
    "BITMAPIST_DASHBOARD_PERMISSION to a callable that returns True for the people allowed "
    "to see it (for example lambda: current_user.is_authenticated and current_user.is_admin), "
    "or run the app with debug or testing on. Set BITMAPIST_DISABLE_BLUEPRINT to remove it."
)
UNAVAILABLE_MESSAGE = (
    "The analytics storage did not answer, so these numbers cannot be shown right now. "
    "Check that Redis is running and reachable at BITMAPIST_REDIS_URL, then reload."
)
# A page with only the dashboard's own assets: no inline script, no third-party origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
)
HEAT_STEPS = 10
DASHBOARD_ROOT = Path(__file__).resolve().parent


def create_blueprint(settings: Settings) -> Blueprint:
    """The dashboard blueprint, mounted at ``settings.url_prefix``."""
    bp = Blueprint(
        "bitmapist",
        "flask_bitmapist",
        url_prefix=settings.url_prefix or None,
        # This folder, holding templates/bitmapist and static/bitmapist.
        root_path=str(DASHBOARD_ROOT),
        template_folder="templates",
        static_folder="static",
    )
    bp.before_request(_check_permission)
    bp.after_request(_secure)
    bp.after_request(_note_recovery)
    bp.register_error_handler(InvalidRequest, _bad_request)
    bp.register_error_handler(InvalidCohortSpec, _bad_request)
    bp.register_error_handler(InvalidAnswerSpec, _bad_request)
    bp.register_error_handler(StorageUnavailable, _unavailable)
    bp.context_processor(_template_helpers)
    bp.context_processor(_zone_context)
    bp.add_url_rule("/", "index", index)
    bp.add_url_rule("/cohort", "cohort", cohort_page, methods=["GET"])
    bp.add_url_rule("/cohort", "cohort_post", cohort_post, methods=["POST"])
    bp.add_url_rule("/api/events", "api_events", api_events)
    bp.add_url_rule("/api/events/names", "api_event_names", api_event_names)
    bp.add_url_rule("/api/cohort", "api_cohort", api_cohort)
    bp.add_url_rule("/api/cohort.csv", "api_cohort_csv", api_cohort_csv)
    bp.add_url_rule("/api/cohort/cell", "api_cohort_cell", api_cohort_cell)
    register_answer_views(bp)
    bp.add_url_rule("/stickiness", "stickiness", stickiness_page)
    bp.add_url_rule("/api/stickiness", "api_stickiness", api_stickiness)
    bp.add_url_rule("/api/stickiness/users", "api_stickiness_users", api_stickiness_users)
    bp.add_url_rule("/funnel", "funnel", funnel_page)
    bp.add_url_rule("/api/funnel", "api_funnel", api_funnel)
    bp.add_url_rule("/api/funnel/users", "api_funnel_users", api_funnel_users)
    register_saved_cohort_views(bp)
    register_storage_view(bp)
    return bp


# -- access, errors, headers ------------------------------------------------------------


def _wants_json() -> bool:
    if request.blueprint is None:  # pragma: no cover - only called from our views
        return False
    rule = request.url_rule.rule if request.url_rule is not None else ""
    prefix = current_state().settings.url_prefix.rstrip("/")
    if rule.startswith(f"{prefix}/api/") or request.method == "POST":
        return True
    if request.args.get("json"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _error(status: int, message: str, *, code: str, field: str | None = None) -> Response:
    if _wants_json():
        body: dict[str, Any] = {"error": code, "message": message}
        if field is not None:
            body["field"] = field
        response = jsonify(body)
    else:
        html = render_template("bitmapist/error.html", status=status, message=message)
        response = current_app.response_class(html, mimetype="text/html")
    response.status_code = status
    return response


def _check_permission() -> Response | None:
    if request.endpoint == "bitmapist.static":
        return None  # stylesheets and scripts are not data
    state = current_state()
    permission: Callable[[], object] | None = state.settings.dashboard_permission
    if permission is None:
        allowed = current_app.debug or current_app.testing
    else:
        allowed = bool(current_app.ensure_sync(permission)())
    if allowed:
        return None
    return _error(403, FORBIDDEN_MESSAGE, code="forbidden")


def _secure(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "bitmapist.static":
        # Analytics are private: keep them out of shared caches.
        response.headers.setdefault("Cache-Control", "private, no-store")
    return response


def _bad_request(exc: Exception) -> Response:
    field = getattr(exc, "field", None)
    return _error(400, str(exc), code="bad_request", field=field)


def _unavailable(exc: Exception) -> Response:
    # One line when reads start failing, a summary per BITMAPIST_ERROR_LOG_INTERVAL, one
    # when they work again: not a line per page load.
    current_state().read_outages.failed(exc, {"pages answered 503": 1})
    return _error(503, UNAVAILABLE_MESSAGE, code="storage_unavailable")


def _note_recovery(response: Response) -> Response:
    if response.status_code == 200 and request.endpoint != "bitmapist.static":
        outages = current_state().read_outages
        if outages.in_outage:
            outages.recovered()
    return response


def heat_class(share: float | None) -> str:
    """The colour class of a cell from its share of the row in percent: ``heat-0`` for
    nobody, then one step per started tenth up to ``heat-10``; ``heat-none`` for no value.

    >>> heat_class(0.0), heat_class(0.4), heat_class(10.0), heat_class(10.1), heat_class(100.0)
    ('heat-0', 'heat-1', 'heat-1', 'heat-2', 'heat-10')
    """
    if share is None:
        return "heat-none"
    step = min(HEAT_STEPS, max(0, math.ceil(share * HEAT_STEPS / 100 - 1e-9)))
    return f"heat-{step}"


def _zone_context() -> dict[str, str]:
    """The app's zone, shown on every page: every period and time there is local to it."""
    return {"zone_name": current_state().settings.timezone_name}


def _template_helpers() -> dict[str, Callable[..., str]]:
    return {
        "heat": heat_class,
        "column_label": column_label,
        "fmt_count": format_count,
        "fmt_mean": format_mean,
        "fmt_pct": format_percent,
    }


# -- the events page ------------------------------------------------------------------


def index() -> str:
    """A page of events, most recently active first (``q`` searches, ``page`` pages), with
    how many users did each today, this week, this month, this year, and a small line of
    its last 30 days linking to its trend."""
    state = current_state()
    listing = _event_page()
    counts = count_events(state.engine, state.now(), names=listing.names, trail_days=SPARKLINE_DAYS)
    shown = [
        {"name": name, "counts": row, "trail": trail, "at_least": counts.lower_bounds(name)}
        for (name, row), trail in zip(counts.rows, counts.trails, strict=True)
    ]
    return render_template(
        "bitmapist/index.html",
        events=shown,
        sparklines=event_sparklines(shown),
        listing=listing,
        query=listing.query,
        headings=[
            (label.capitalize(), period_label(p.group, p.start))
            for label, p in zip(counts.labels, counts.periods, strict=True)
        ],
        now=counts.now,
    )


def _event_page(size_field: str = "per_page", default_size: int = EVENTS_PER_PAGE) -> EventPage:
    """The page of event names the query string asks for (``q``, ``page``, and the page
    size as ``size_field``), from one bounded listing."""
    args = request.args
    try:
        return page_events(
            current_state().repository,
            query=args.get("q", ""),
            page=parse_count("page", args.get("page"), 1),
            per_page=parse_count(size_field, args.get(size_field), default_size),
        )
    except InvalidRequest as exc:
        if exc.field == "per_page" and size_field != "per_page":
            raise InvalidRequest(
                str(exc).replace("per_page", size_field), field=size_field
            ) from None
        raise


def api_events() -> Response:
    """``{"now", "timezone", "periods": {...}, "events": [{"name", "day", "week", "month",
    "year", "newest"}], "page", "per_page", "pages", "total", "complete", "keys_read"}``: a
    page of events (``q``, ``page``, ``per_page``), most recently active first
    (``format=csv``: the page as CSV, one line per event). ``complete`` is false when the
    listing stopped before reading every key (``total`` then counts what was read). An
    event whose bitmaps hold ids above ``BITMAPIST_MAX_USER_ID`` (another client's, not
    read) also has ``"at_least"``: the periods whose counts are lower bounds."""
    fmt = _api_format()
    state = current_state()
    listing = _event_page()
    counts = count_events(state.engine, state.now(), names=listing.names)
    keys = counts.keys
    if fmt == "csv":
        day = period_stamp(counts.periods[0])
        return _csv_download(event_counts_to_csv(counts, keys), f"events-{day}.csv")
    return jsonify(
        {
            "now": counts.now.isoformat(),
            "timezone": state.settings.timezone_name,
            "periods": {
                key: period_iso(p.group, p.start)
                for key, p in zip(keys, counts.periods, strict=True)
            },
            "events": [
                {**_event_json(counts, name, row), "newest": _naive_iso(newest)}
                for (name, row), newest in zip(counts.rows, listing.newest, strict=True)
            ],
            **_listing_json(listing),
            "per_page": listing.size,
            "pages": listing.pages,
        }
    )


def api_event_names() -> Response:
    """``{"names": [...], "total", "complete", "keys_read", "q"}``: the pickers'
    suggestions, up to ``limit`` (default 20) names containing ``q``, most recently active
    first, from one bounded listing; nothing is counted."""
    listing = _event_page("limit", 20)
    return jsonify({"names": list(listing.names), **_listing_json(listing)})


def _listing_json(listing: EventPage) -> dict[str, Any]:
    return {
        "q": listing.query,
        "page": listing.number,
        "total": listing.total,
        "complete": listing.complete,
        "keys_read": listing.keys_read,
    }


def _naive_iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _event_json(counts: EventCounts, name: str, row: tuple[int, ...]) -> dict[str, Any]:
    event: dict[str, Any] = {"name": name, **dict(zip(counts.keys, row, strict=True))}
    lows = counts.lower_bounds(name)
    if any(lows):
        event["at_least"] = [key for key, low in zip(counts.keys, lows, strict=True) if low]
    return event


def _api_format() -> str:
    fmt = request.args.get("format", "json").strip().lower()
    if fmt not in ("json", "csv"):
        raise InvalidRequest(f"format must be json or csv, got {fmt!r}", field="format")
    return fmt


def _csv_download(text: str, filename: str) -> Response:
    return current_app.response_class(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- the cohort page --------------------------------------------------------------------


def _spec(state: BitmapistState, form: CohortForm) -> CohortSpec:
    settings = state.settings
    return state.kept(
        form.to_spec(
            now=state.now(),
            max_cells=settings.max_cohort_cells,
            max_terms=settings.max_expression_terms,
        )
    )


def cohort_page() -> Response | str:
    """The form and, once submitted, the heatmap, the chart and links to CSV and JSON."""
    state = current_state()
    form = CohortForm.from_args(request.args)
    cohort: Cohort | None = None
    error: InvalidRequest | None = None
    if CohortForm.is_submitted(request.args):
        try:
            cohort = state.engine.compute(_spec(state, form))
        except InvalidRequest as exc:
            if _wants_json():
                raise
            error = exc
    if request.args.get("json") and cohort is not None:
        return jsonify({**cohort_to_dict(cohort), "as_percent": form.percent})
    html = render_template(
        "bitmapist/cohort.html",
        form=form,
        time_groups=list(TimeGroup),
        modes=list(CohortMode),
        error=error,
        cohort=cohort,
        view=_heatmap_view(cohort, form.percent) if cohort else None,
        chart=RetentionChart.build(cohort, as_percent=form.percent) if cohort else None,
        # Hour bitmaps exist only for marks made while hourly tracking was on.
        hourly_off=cohort is not None
        and cohort.spec.time_group is TimeGroup.HOUR
        and not state.settings.track_hourly,
        query=form.query(),
        now=state.now(),
    )
    return current_app.response_class(html, status=400 if error else 200, mimetype="text/html")


def _heatmap_view(cohort: Cohort, as_percent: bool) -> dict[str, Any]:
    """What the heatmap partial needs, besides the cohort itself."""
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
    }


def cohort_post() -> Response | str:
    """0.1's API: a JSON body in, the heatmap fragment out (``?json=1``: 0.1's JSON)."""
    state = current_state()
    body = _json_body()
    spec, as_percent = parse_legacy_body(
        body,
        now=state.now(),
        max_cells=state.settings.max_cohort_cells,
        max_terms=state.settings.max_expression_terms,
    )
    cohort = state.engine.compute(state.kept(spec))
    if request.args.get("json"):
        time_group = body.get("time_group") if isinstance(body.get("time_group"), str) else None
        return jsonify(cohort_to_legacy_dict(cohort, as_percent=as_percent, time_group=time_group))
    return render_template(
        "bitmapist/_heatmap.html", cohort=cohort, view=_heatmap_view(cohort, as_percent), query=""
    )


def _json_body() -> dict[str, Any]:
    """The request's JSON object, read within :data:`MAX_JSON_BYTES` and
    :data:`MAX_JSON_DEPTH` (a body past either is a 400, never parsed)."""
    if not request.is_json:
        raise InvalidRequest(
            "the body must be JSON (Content-Type: application/json) with primary_event "
            "and secondary_event",
            field="body",
        )
    length = request.content_length
    if length is not None and length > MAX_JSON_BYTES:
        raise InvalidRequest(
            f"the body is {length:,} bytes long; at most {MAX_JSON_BYTES:,} are read",
            field="body",
        )
    # Read at most one byte past the bound, whatever Content-Length claimed.
    data = request.stream.read(MAX_JSON_BYTES + 1)
    try:
        body = load_json(data)
    except InvalidJson as exc:
        raise InvalidRequest(f"the body: {exc}", field="body") from None
    if not isinstance(body, dict):
        raise InvalidRequest(
            f"the body must be a JSON object with primary_event and secondary_event, "
            f"got {type(body).__name__}",
            field="body",
        )
    return body


# -- the API ----------------------------------------------------------------------------


def _api_cohort(state: BitmapistState) -> tuple[CohortForm, Cohort]:
    form = CohortForm.from_args(request.args)
    return form, state.engine.compute(_spec(state, form))


def api_cohort() -> Response:
    """The cohort as JSON (``format=csv``: as CSV)."""
    if _api_format() == "csv":
        return api_cohort_csv()
    form, cohort = _api_cohort(current_state())
    return jsonify({**cohort_to_dict(cohort), "as_percent": form.percent})


def api_cohort_csv() -> Response:
    """The heatmap table as a CSV download."""
    form, cohort = _api_cohort(current_state())
    spec = cohort.spec
    stamp = period_stamp(spec.last_period)
    filename = f"cohort-{spec.time_group.value}-{stamp}.csv"
    return _csv_download(cohort_to_csv(cohort, as_percent=form.percent), filename)


def api_cohort_cell() -> Response:
    """The user ids behind one cell, ascending, a page at a time."""
    state = current_state()
    form = CohortForm.from_args(request.args)
    spec = _spec(state, form)
    row, col = parse_cell(request.args)
    users = state.engine.cell_users(spec, row, col)
    periods = spec.row_periods()
    return users_page(
        users,
        state,
        row=row,
        col=col,
        date=period_iso(spec.time_group, periods[row].start),
        period=period_iso(spec.time_group, periods[row + col].start),
        spec=spec_to_dict(spec),
    )


#: 0.1's module-level blueprint (``flask_bitmapist.views.bitmapist_bp``), mounted at
#: ``/bitmapist``: an app that sets ``BITMAPIST_DISABLE_BLUEPRINT`` may register it itself,
#: ``app.register_blueprint(bitmapist_bp, url_prefix="/admin/bitmapist")``. Its views
#: serve the app that runs them, as the blueprint ``init_app`` registers does.
bitmapist_bp: Final = create_blueprint(Settings.from_config({}))
