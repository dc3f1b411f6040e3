"""Flask-Login integration: logins and logouts are marked without any code in the app.

``init_app`` connects :func:`mark_login` to ``flask_login.user_logged_in`` and
:func:`mark_logout` to ``user_logged_out``. They mark ``user:logged_in`` /
``user:logged_out`` for the user, in the storage of the app that sent the signal, and do
nothing for apps without Flask-Bitmapist.
"""

from __future__ import annotations

from typing import Any, Final

from flask_login import user_logged_in, user_logged_out

from flask_bitmapist.flask.config import EXTENSION_KEY
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


def connect_login_signals() -> None:
    """Connect the receivers (idempotent: connecting twice keeps one connection)."""
    user_logged_in.connect(mark_login)
    user_logged_out.connect(mark_logout)
