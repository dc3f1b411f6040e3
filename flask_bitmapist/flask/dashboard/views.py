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

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from flask_bitmapist.domain import InvalidAnswerSpec, InvalidCohortSpec, StorageUnavailable
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.flask.dashboard import (
    cohort,
    funnel,
    lifecycle,
    responses,
    stickiness,
    trend,
)
from flask_bitmapist.flask.dashboard.forms import parse_count
from flask_bitmapist.flask.dashboard.responses import answer_format, csv_download, wants_json
from flask_bitmapist.flask.dashboard.saved_cohorts import register_saved_cohort_views
from flask_bitmapist.flask.dashboard.storage_view import register_storage_view
from flask_bitmapist.flask.dashboard.trend import SPARKLINE_DAYS, event_sparklines
from flask_bitmapist.flask.state import Settings, current_state
from flask_bitmapist.services.event_counts import EventCounts, count_events
from flask_bitmapist.services.event_listing import EVENTS_PER_PAGE, EventPage, page_events
from flask_bitmapist.services.reports import (
    column_label,
    event_counts_to_csv,
    format_count,
    format_mean,
    format_percent,
    period_iso,
    period_label,
    period_stamp,
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
    bp.add_url_rule("/api/events", "api_events", api_events)
    bp.add_url_rule("/api/events/names", "api_event_names", api_event_names)
    # One module per answer kind, each adding its page and API routes.
    for kind in (cohort, trend, lifecycle, stickiness, funnel):
        kind.register(bp)
    register_saved_cohort_views(bp)
    register_storage_view(bp)
    return bp


# -- access, errors, headers ------------------------------------------------------------


def _error(status: int, message: str, *, code: str, field: str | None = None) -> Response:
    if wants_json():
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
        defaults=responses.first_screen(),
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
    fmt = answer_format()
    state = current_state()
    listing = _event_page()
    counts = count_events(state.engine, state.now(), names=listing.names)
    keys = counts.keys
    if fmt == "csv":
        day = period_stamp(counts.periods[0])
        return csv_download(event_counts_to_csv(counts, keys), f"events-{day}.csv")
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


#: 0.1's module-level blueprint (``flask_bitmapist.views.bitmapist_bp``), mounted at
#: ``/bitmapist``: an app that sets ``BITMAPIST_DISABLE_BLUEPRINT`` may register it itself,
#: ``app.register_blueprint(bitmapist_bp, url_prefix="/admin/bitmapist")``. Its views
#: serve the app that runs them, as the blueprint ``init_app`` registers does.
bitmapist_bp: Final = create_blueprint(Settings.from_config({}))
