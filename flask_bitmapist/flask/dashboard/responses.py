"""What every answer's views answer with: the API's format (JSON or CSV download), a page
of a drill-down's users, an HTML page with its status, and a validation error as the page
shows it. One place, so every kind's routes answer alike."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request
from werkzeug.datastructures import MultiDict

from flask_bitmapist.domain import StorageUnavailable, TimeGroup
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.flask.dashboard.breakdowns import group_tables
from flask_bitmapist.flask.dashboard.forms import Page, WindowForm
from flask_bitmapist.flask.dashboard.saved_cohorts import note_drill_down_users
from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.services.answers import Answer, Breakdown, Drill, Fields
from flask_bitmapist.services.defaults import Defaults, choose_defaults

__all__ = [
    "add_answer_routes",
    "answer_format",
    "answer_page",
    "answer_response",
    "api_answer",
    "api_users",
    "as_request_error",
    "csv_download",
    "default_args",
    "first_screen",
    "hourly_off",
    "page_response",
    "try_answer",
    "try_breakdown",
    "users_page",
    "wants_json",
]


def add_answer_routes(
    bp: Blueprint,
    kind: str,
    page_path: str,
    page: Callable[[], Response],
    api: Callable[[], Response],
    users: Callable[[], Response],
) -> None:
    """An answer kind's three routes: its page at ``page_path`` (the endpoint is the
    path's name), ``/api/<kind>`` and ``/api/<kind>/users``."""
    bp.add_url_rule(page_path, page_path.strip("/"), page)
    bp.add_url_rule(f"/api/{kind}", f"api_{kind}", api)
    bp.add_url_rule(f"/api/{kind}/users", f"api_{kind}_users", users)


def answer_format() -> str:
    """The ``format`` query parameter of an API route: json (default) or csv."""
    fmt = request.args.get("format", "json").strip().lower()
    if fmt not in ("json", "csv"):
        raise InvalidRequest(f"format must be json or csv, got {fmt!r}", field="format")
    return fmt


def csv_download(text: str, filename: str) -> Response:
    """``text`` as a CSV attachment called ``filename``."""
    return current_app.response_class(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def answer_response(answer: Answer[Any, Any] | Breakdown[Any, Any], fmt: str) -> Response:
    """An answer (or a breakdown) as the API gives it: its JSON, or its CSV download named
    for the kind, the time group and the last period (``trend-day-2026-11-27.csv``)."""
    if fmt == "csv":
        return csv_download(answer.csv(), answer.csv_filename)
    return jsonify(answer.to_dict())


def api_answer(kind: str, fields: Fields, **options: Any) -> Response:
    """An API route's answer of ``kind`` to ``fields``, as JSON or CSV (``format``); with
    a ``breakdown`` field, the answer once per value of that property."""
    fmt = answer_format()
    answers = current_state().answers
    if str(fields.get("breakdown") or "").strip():
        return answer_response(answers.breakdown(kind, fields, **options), fmt)
    return answer_response(answers.answer(kind, fields, **options), fmt)


def api_users(kind: str, fields: Fields, *keys: str) -> Response:
    """An API route's drill-down of ``kind``: the answer's ``fields`` and the query
    string's ``keys`` (which number; ``group`` too, a breakdown's), one page of users."""
    state = current_state()
    keys = (*keys, "group")
    drill = state.answers.drill(kind, {**fields, **{key: request.args.get(key) for key in keys}})
    return users_page(drill, state)


def users_page(drill: Drill, state: BitmapistState) -> Response:
    """One page of a drill-down's users (``page``, ``per_page`` from the query string) as
    JSON, after what the list is of: ``count``, ``page``, ``per_page``, ``pages``,
    ``user_ids``, ``ids_mapped``. Every drill-down of the dashboard answers this way."""
    page = Page.from_args(request.args)
    users = drill.users
    note_drill_down_users(users)  # saved in full by POST /api/saved-cohorts "from"
    count = len(users)
    return jsonify(
        {
            **drill.about,
            "count": count,
            "page": page.number,
            "per_page": page.size,
            "pages": max(1, math.ceil(count / page.size)),
            # With BITMAPIST_MAP_IDS the page shows the app's own ids.
            "user_ids": state.original_ids(users.ids(page.offset, page.offset + page.size)),
            "ids_mapped": state.id_mapper is not None,
        }
    )


F = TypeVar("F", bound=WindowForm)


def answer_page(
    kind: str, form_type: type[F], options: Callable[[F], dict[str, Any]] | None = None
) -> tuple[F, Answer[Any, Any] | None, InvalidRequest | None]:
    """What an answer page of ``kind`` shows: its form (read from the query string, or
    the first screen's when it holds none of the form's keys) and, once submitted, the
    answer (with the ``options`` of the form, if any) or the error the form shows."""
    args = default_args(kind, request.args, form_type.KEYS)
    form = form_type.from_args(args)
    answers = current_state().answers
    extra = options(form) if options else {}
    answer, error = try_answer(
        (lambda: answers.answer(kind, form.fields(), **extra))
        if form_type.is_submitted(args)
        else None
    )
    return form, answer, error


def try_answer(
    build: Callable[[], Answer[Any, Any]] | None,
) -> tuple[Answer[Any, Any] | None, InvalidRequest | None]:
    """A page's answer, or the error it shows on its form: ``build`` is None when the
    form was not submitted (the page then shows the empty form)."""
    if build is None:
        return None, None
    try:
        return build(), None
    except ValueError as exc:
        return None, as_request_error(exc)


def try_breakdown(
    answer: Answer[Any, Any] | None,
) -> tuple[Breakdown[Any, Any] | None, InvalidRequest | None]:
    """With ``breakdown`` in the query string, ``answer`` once per value of that property
    (or the error the form shows: no such property); else nothing."""
    name = (request.args.get("breakdown") or "").strip()
    if answer is None or not name:
        return None, None
    try:
        return current_state().answers.breakdown(
            answer.kind.name,
            spec=answer.spec,
            breakdown=name,
            segment=answer.segment,
            compare=None if answer.previous is None else "previous",
            warn=False,
            **answer.options,
        ), None
    except InvalidRequest as exc:
        return None, exc


def page_response(
    template: str,
    *,
    answer: Answer[Any, Any] | None,
    error: Exception | None,
    breakdown: tuple[Breakdown[Any, Any] | None, InvalidRequest | None] | None = None,
    **context: Any,
) -> Response:
    """An answer's page (400 when it shows an error, else 200), with what every answer
    page shows: the time groups, the app's ``now`` (its event pickers ask
    ``/api/events/names`` for suggestions: no page lists every name). With ``breakdown``
    in the query string, one block per value of that property under the answer, whose
    numbers list their users (``breakdown``: that breakdown, if the page already has it)."""
    state = current_state()
    context.setdefault("defaults", first_screen())
    found, problem = (None, None) if error is not None else (breakdown or try_breakdown(answer))
    html = render_template(
        template,
        answer=answer,
        error=error or problem,
        breakdown=found,
        breakdown_tables=group_tables(found) if found is not None else [],
        time_groups=list(TimeGroup),
        now=state.now(),
        **context,
    )
    status = 400 if error or problem else 200
    return current_app.response_class(html, status=status, mimetype="text/html")


def as_request_error(exc: Exception) -> InvalidRequest:
    """A validation error as a page shows it: its message and the field it names; any
    other error is raised again for the blueprint's handlers."""
    if isinstance(exc, InvalidRequest):
        return exc
    field = getattr(exc, "field", None)
    if field is None:
        raise exc
    return InvalidRequest(str(exc), field=field)


def hourly_off(state: BitmapistState, group: TimeGroup | None) -> bool:
    """Whether hours are asked while hourly tracking is off: hour bitmaps exist only for
    marks made while it was on, and the page says so."""
    return group is TimeGroup.HOUR and not state.settings.track_hourly


def wants_json() -> bool:
    """Whether an error answers JSON: API routes, POSTs, ``?json=1``, or a client that
    prefers it."""
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


def first_screen() -> Defaults:
    """The events this request's first screen shows, chosen once per request from the
    stored data (:func:`~flask_bitmapist.services.defaults.choose_defaults`); none while
    storage does not answer, so the empty form still shows (its answer would be a 503)."""
    chosen: Defaults | None = g.get("bitmapist_defaults")
    if chosen is None:
        state = current_state()
        try:
            chosen = choose_defaults(state.engine, state.now())
        except StorageUnavailable:
            chosen = Defaults()
        g.bitmapist_defaults = chosen
    return chosen


def default_args(
    kind: str, args: MultiDict[str, str], keys: tuple[str, ...]
) -> MultiDict[str, str]:
    """The query string a page of ``kind`` answers: ``args`` when it holds any of the
    form's ``keys``, else the default answer's fields (the first screen), ``json`` kept."""
    if any(key in args for key in keys):
        return args
    pairs = [
        (key, str(value))
        for key, values in first_screen().fields(kind).items()
        for value in (values if isinstance(values, list) else [values])
    ]
    pairs += [(key, value) for key, value in args.items(multi=True) if key == "json"]
    return MultiDict(pairs)
