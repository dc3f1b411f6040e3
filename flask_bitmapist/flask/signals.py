"""Flask-Login integration: logins and logouts are marked without any code in the app.

``init_app`` connects :func:`mark_login` to ``flask_login.user_logged_in`` and
:func:`mark_logout` to ``user_logged_out`` when Flask-Login is installed (the ``login``
extra). They mark ``user:logged_in`` / ``user:logged_out`` for the user, in the storage of
the app that sent the signal, and do nothing for apps without Flask-Bitmapist.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

from flask_bitmapist.flask.config import EXTENSION_KEY
from flask_bitmapist.flask.extras import is_missing
from flask_bitmapist.flask.state import BitmapistState
from flask_bitmapist.flask.tracking import build_mark, record, user_id_of

__all__ = [
    "LOGGED_IN_EVENT",
    "LOGGED_OUT_EVENT",
    "connect_login_signals",
    "mark_login",
    "mark_logout",
]

LOGGED_IN_EVENT: Final = "user:logged_in"
LOGGED_OUT_EVENT: Final = "user:logged_out"


def _mark_user(sender: object, user: object, event_name: str) -> None:
    extensions = getattr(sender, "extensions", {})
    state = extensions.get(EXTENSION_KEY)
    if not isinstance(state, BitmapistState):
        return
    user_id = user_id_of(user)
    if user_id is None:
        # Logging out an anonymous visitor: there is nobody to mark.
        return
    record(state, [build_mark(state, event_name, user_id)])


def mark_login(sender: object, user: object, **extra: Any) -> None:
    """Receiver of ``user_logged_in``: marks ``user:logged_in`` for ``user``."""
    _mark_user(sender, user, LOGGED_IN_EVENT)


def mark_logout(sender: object, user: object, **extra: Any) -> None:
    """Receiver of ``user_logged_out``: marks ``user:logged_out`` for ``user``."""
    _mark_user(sender, user, LOGGED_OUT_EVENT)


def connect_login_signals() -> bool:
    """Connect the receivers when Flask-Login is installed; whether it is (idempotent:
    connecting twice keeps one connection)."""
    try:
        flask_login = importlib.import_module("flask_login")
    except ImportError as exc:
        if is_missing(exc, "flask_login"):
            return False  # no Flask-Login, no logins to mark
        raise
    flask_login.user_logged_in.connect(mark_login)
    flask_login.user_logged_out.connect(mark_logout)
    return True
