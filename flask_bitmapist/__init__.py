"""Flask-Bitmapist: bitmap analytics and cohorts for Flask.

Three lines set it up::

    from flask_bitmapist import FlaskBitmapist, mark

    flaskbitmapist = FlaskBitmapist()
    flaskbitmapist.init_app(app)

then ``@mark("index:visited", 1)`` on a view, ``mark_event("user:paid", user.id)`` anywhere
in an app context, Flask-Login logins and logouts marked automatically.
"""

from __future__ import annotations

from flask_bitmapist.exceptions import (
    BitmapistError,
    InvalidCohortSpec,
    InvalidConfiguration,
    InvalidEventName,
    InvalidExpression,
    InvalidPeriod,
    InvalidTimeGroup,
    InvalidUserId,
    InvalidUserIdType,
    StorageUnavailable,
)
from flask_bitmapist.extension import FlaskBitmapist
from flask_bitmapist.state import BitmapistState, Settings, current_state
from flask_bitmapist.tracking import mark, mark_event, unmark_event

__all__ = [
    "BitmapistError",
    "BitmapistState",
    "FlaskBitmapist",
    "InvalidCohortSpec",
    "InvalidConfiguration",
    "InvalidEventName",
    "InvalidExpression",
    "InvalidPeriod",
    "InvalidTimeGroup",
    "InvalidUserId",
    "InvalidUserIdType",
    "Settings",
    "StorageUnavailable",
    "current_state",
    "mark",
    "mark_event",
    "unmark_event",
]
