"""``POST /api/saved-cohorts``: save a user set under a name (DESIGN section 13).

The body is JSON, ``{"name": "beta_testers", "users": [1, 2, 3]}`` or ``{"name": ...,
"from": "/bitmapist/api/cohort/cell?primary_event=...&row=0&col=1"}``: a drill-down URL of
this API (a path with its query; a host, if given, must be this request's), whose users
are saved, all of them, not a page. The route needs the dashboard permission (the
blueprint's) and a JSON content type, which a cross-site form cannot send, so it takes no
CSRF token. It answers 201 with ``{"name": ..., "count": N}``.

``from`` is resolved by dispatching, inside this request, to that drill-down's view (GET,
this blueprint's routes only): every drill-down hands its user set to
:func:`note_drill_down_users` on its way to the page, which keeps it here.
"""

from __future__ import annotations

from contextvars import ContextVar
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from flask_bitmapist.domain import (
    Bitmap,
    InvalidAnswerSpec,
    InvalidCohortSpec,
    InvalidSegmentName,
    InvalidUserId,
    InvalidUserIdType,
    validate_cohort_name,
)
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.flask.dashboard.forms import json_object
from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.services import segments

__all__ = ["note_drill_down_users", "register_saved_cohort_views"]

#: What the body holds, as its errors say.
_WANTED = 'like {"name": ..., "users": [...]} or {"name": ..., "from": "<drill-down URL>"}'
#: While a ``from`` URL is dispatched: where its drill-down leaves its users.
_captured: ContextVar[list[Bitmap] | None] = ContextVar("bitmapist_captured", default=None)


def register_saved_cohort_views(bp: Blueprint) -> None:
    """Add ``POST /api/saved-cohorts`` to the dashboard blueprint."""
    bp.add_url_rule(
        "/api/saved-cohorts", "api_saved_cohorts_post", api_save_cohort, methods=["POST"]
    )


def note_drill_down_users(users: Bitmap) -> None:
    """Called by every drill-down with all of its users: kept when the drill-down runs for
    a ``from`` URL, ignored otherwise."""
    captured = _captured.get()
    if captured is not None:
        captured.append(users)


def api_save_cohort() -> tuple[Response, int]:
    """Save ``users`` or the users of the drill-down ``from`` under ``name``."""
    state = current_state()
    body = json_object(request, wanted=_WANTED)
    name = body.get("name")
    try:
        validate_cohort_name(name)
    except InvalidSegmentName as exc:
        raise InvalidRequest(f"name: {exc}", field="name") from None
    if ("users" in body) == ("from" in body):
        raise InvalidRequest(
            'give either "users" (a list of user ids) or "from" (a drill-down URL of this API)',
            field="users" if "users" not in body else "from",
        )
    users = _users_of(state, body["users"]) if "users" in body else _drill_down(body["from"])
    segments.save_cohort(state.repository, name, users)
    return jsonify({"name": name, "count": len(users)}), 201


def _users_of(state: BitmapistState, ids: object) -> Bitmap:
    if not isinstance(ids, list):
        raise InvalidRequest(f"users must be a list of user ids, got {ids!r}", field="users")
    try:
        return segments.users_bitmap(
            ids, max_user_id=state.settings.max_user_id, id_mapper=state.id_mapper
        )
    except (InvalidUserId, InvalidUserIdType) as exc:
        raise InvalidRequest(f"users: {exc}", field="users") from None


def _drill_down(url: object) -> Bitmap:
    """All the users of the drill-down at ``url``, by running its view in this request."""
    if not isinstance(url, str) or not url:
        raise InvalidRequest(
            f"from must be a drill-down URL of this API, got {url!r}", field="from"
        )
    parts = urlsplit(url)
    if (parts.scheme or parts.netloc) and parts.netloc != request.host:
        raise InvalidRequest(
            f"from must be a URL of this app ({request.host}), got host {parts.netloc!r}",
            field="from",
        )
    # Routes are matched below the app's mount point (its script root), as requests are.
    root = request.script_root
    path = parts.path[len(root) :] if root and parts.path.startswith(root + "/") else parts.path
    adapter = current_app.url_map.bind(request.host, script_name=root or None)
    try:
        endpoint, view_args = adapter.match(path, method="GET")
    except RequestRedirect as exc:
        raise InvalidRequest(f"from: {url!r} moved to {exc.new_url}", field="from") from None
    except HTTPException:
        raise InvalidRequest(
            f"from: {parts.path!r} is no GET route of this app", field="from"
        ) from None
    if not endpoint.startswith("bitmapist.") or endpoint == "bitmapist.static":
        raise InvalidRequest(f"from: {parts.path!r} is not a drill-down of this API", field="from")
    captured: list[Bitmap] = []
    token = _captured.set(captured)
    try:
        with current_app.test_request_context(
            path,
            base_url=request.host_url.rstrip("/") + root,
            query_string=parts.query,
            method="GET",
        ):
            current_app.view_functions[endpoint](**view_args)
    except (InvalidRequest, InvalidCohortSpec, InvalidAnswerSpec) as exc:
        raise InvalidRequest(f"from: {exc}", field="from") from None
    finally:
        _captured.reset(token)
    if len(captured) != 1:
        raise InvalidRequest(
            f"from: {parts.path!r} is not a drill-down (a URL that lists users, such as "
            "the cohort cell or a count's users)",
            field="from",
        )
    return captured[0]
