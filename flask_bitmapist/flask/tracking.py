"""Recording events: the ``@mark`` decorator and ``mark_event`` / ``unmark_event``.

Bad input (an invalid event name or user id) always raises, before anything is written:
it is a bug in the caller. A storage failure does not: marking must never break the host
app, so by default the marks wait in a bounded replay buffer and are written again when
storage answers, the outage is counted (``current_state().status()``) and logged (a line
when it starts, a summary at most once per ``BITMAPIST_ERROR_LOG_INTERVAL`` seconds, a
line when it ends), and the request goes on (see
:mod:`flask_bitmapist.services.replay`). ``BITMAPIST_RAISE_ON_ERROR = True`` raises it
instead (for jobs and tests).

User ids are ints (0.1's rule). With ``BITMAPIST_MAP_IDS = True`` they may also be str or
UUID (ints too): :func:`build_mark` checks the id and returns an :class:`UnmappedMark`,
and :func:`record` maps the ids of all its marks in one storage call before writing
(:meth:`MarkingPolicy.mapped`, which ``flask bitmapist import`` uses per chunk too), so a
storage failure while mapping fails open like one while writing.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar, cast

from flask import current_app
from werkzeug.local import LocalProxy

from flask_bitmapist.domain import localize, validate_event_name
from flask_bitmapist.flask.extras import import_extra
from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.services.marking import PendingMark

__all__ = [
    "UserIdSource",
    "build_mark",
    "current_user_id",
    "mark",
    "mark_event",
    "record",
    "unmark_event",
    "user_id_of",
]

P = ParamSpec("P")
R = TypeVar("R")

#: What ``@mark`` accepts as ``uuid``: an id, a callable returning one, or None for the
#: current Flask-Login user (a ``LocalProxy`` such as ``current_user`` works too).
UserIdSource = int | str | uuid.UUID | Callable[[], object] | None


def user_id_of(user: object) -> object:
    """The id of a user object: its ``id`` attribute, else Flask-Login's ``get_id()``.

    ``get_id()`` returns a str; a string of ASCII digits becomes an int.
    """
    value = getattr(user, "id", None)
    get_id = getattr(user, "get_id", None)
    if value is None and callable(get_id):
        value = get_id()
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def current_user_id() -> object | None:
    """The id of Flask-Login's current user, or None for an anonymous visitor.

    Raises :class:`~flask_bitmapist.exceptions.MissingExtra` when Flask-Login is not
    installed, :class:`RuntimeError` when the app has no Flask-Login ``LoginManager``.
    """
    flask_login = import_extra(
        "flask_login", "login", "@mark without a uuid (it marks the current Flask-Login user)"
    )
    if not hasattr(current_app, "login_manager"):
        raise RuntimeError(
            "@mark without a uuid marks the current Flask-Login user, but app "
            f"{current_app.name!r} has no LoginManager: set up Flask-Login, or pass the "
            "id (an int or a callable returning it), e.g. @mark('page:viewed', get_user_id)."
        )
    user = cast(LocalProxy[Any], flask_login.current_user)._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return None
    return user_id_of(user)


def build_mark(
    state: BitmapistState,
    event_name: object,
    user_id: object,
    *,
    now: datetime | None = None,
    track_hourly: bool | None = None,
    track_unique: bool | None = None,
) -> PendingMark:
    """A validated mark; ``None`` options take the app's settings, ``now`` the app's clock.

    With ``BITMAPIST_MAP_IDS`` it is an :class:`UnmappedMark` (the id is mapped when
    written); without, a str or UUID id is refused with a hint to turn mapping on.
    """
    policy = state.marking.overriding(hourly=track_hourly, unique=track_unique)
    return policy.pending(event_name, user_id, state.now() if now is None else now)


def record(state: BitmapistState, marks: Sequence[PendingMark], *, unmark: bool = False) -> None:
    """Write ``marks`` (or clear them) in the app's storage, failing open (see module doc)."""
    state.recorder.record(marks, unmark=unmark)


def mark_event(
    event_name: str,
    uuid: object,
    now: datetime | None = None,
    track_hourly: bool | None = None,
    *,
    track_unique: bool | None = None,
) -> None:
    """Record that user ``uuid`` did ``event_name`` at ``now`` (default: now).

    Sets the month, ISO week and day bitmaps (and the hour's with ``track_hourly``, the
    lifetime flag with ``track_unique``; both default to the app's settings), in the
    calendar of ``BITMAPIST_TIMEZONE``: a naive ``now`` is local time there, an aware one
    is converted. Needs an app context.

    >>> mark_event("user:paid", 42)  # doctest: +SKIP
    """
    _record_one(event_name, uuid, now, track_hourly, track_unique, unmark=False)


def unmark_event(
    event_name: str,
    uuid: object,
    now: datetime | None = None,
    track_hourly: bool | None = None,
    *,
    track_unique: bool | None = None,
) -> None:
    """Undo :func:`mark_event`: clear user ``uuid``'s bits for ``event_name`` at ``now``."""
    _record_one(event_name, uuid, now, track_hourly, track_unique, unmark=True)


def _record_one(
    event_name: str,
    uuid: object,
    now: datetime | None,
    track_hourly: bool | None,
    track_unique: bool | None,
    *,
    unmark: bool,
) -> None:
    state = current_state()
    pending = build_mark(
        state, event_name, uuid, now=now, track_hourly=track_hourly, track_unique=track_unique
    )
    record(state, [pending], unmark=unmark)


def _resolve(uuid: UserIdSource) -> object | None:
    """The id to mark for this call; None means there is nobody to mark."""
    if uuid is None:
        return current_user_id()
    if isinstance(uuid, LocalProxy):
        # `@mark("x", current_user)`: the proxy is callable, but calling it is wrong.
        return user_id_of(uuid._get_current_object())
    if callable(uuid):
        return uuid()
    return uuid


def mark(
    event_name: str,
    uuid: UserIdSource = None,
    *,
    now: datetime | None = None,
    track_hourly: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a view (or any function called in an app context) to mark an event per call.

    ``uuid`` is resolved on every call, never at import:

    - an int: always that id (``@mark("index:visited", 1)``, as in 0.1);
    - a callable: its result (``@mark("x", lambda: g.account.id)``); None marks nothing;
    - None (default) or ``current_user``: the logged-in Flask-Login user; an anonymous
      visitor marks nothing.

    Works on sync and async functions. The event is marked before the function runs.
    The event name is checked when decorating, the id on each call (bad ones raise).
    """
    validate_event_name(event_name)
    if now is not None:
        localize(now)  # refuses what is not a datetime, at decoration time

    def mark_call() -> None:
        state = current_state()
        user_id = _resolve(uuid)
        if user_id is not None:
            record(
                state, [build_mark(state, event_name, user_id, now=now, track_hourly=track_hourly)]
            )

    def decorator(function: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(function):
            # Stay a coroutine function: Flask runs async views itself (ensure_sync), and
            # an awaited helper must still be awaitable.
            coroutine = cast(Callable[P, Awaitable[Any]], function)

            @functools.wraps(function)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                mark_call()
                return await coroutine(*args, **kwargs)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            mark_call()
            return function(*args, **kwargs)

        return wrapper

    return decorator
