"""Flask-Bitmapist: bitmap analytics and cohorts for Flask.

Three lines set it up::

    from flask_bitmapist import FlaskBitmapist, mark

    flaskbitmapist = FlaskBitmapist()
    flaskbitmapist.init_app(app)

then ``@mark("index:visited", 1)`` on a view, ``mark_event("user:paid", user.id)`` anywhere
in an app context, ``Bitmapistable`` on SQLAlchemy models for
``<model>:created|updated|deleted``, and Flask-Login logins and logouts marked automatically.
Read it back with ``get_event_data("user:paid", "months")`` (a user set), ``get_cohort(...)``
and ``chain_events(...)``, as in 0.1.
"""

from __future__ import annotations

from flask_bitmapist.exceptions import (
    BitmapistError,
    InvalidCohortSpec,
    InvalidConfiguration,
    InvalidEventName,
    InvalidExpression,
    InvalidMoment,
    InvalidPeriod,
    InvalidStorageConfig,
    InvalidTimeGroup,
    InvalidUserId,
    InvalidUserIdType,
    StorageUnavailable,
)
from flask_bitmapist.extension import FlaskBitmapist
from flask_bitmapist.mixins import Bitmapistable
from flask_bitmapist.query import (
    BitOpAnd,
    BitOpOr,
    BitOpXor,
    DayEvents,
    Events,
    HourEvents,
    MonthEvents,
    UserSet,
    WeekEvents,
    YearEvents,
    chain_events,
    get_cohort,
    get_event_data,
    get_event_names,
)
from flask_bitmapist.state import BitmapistState, Settings, current_state
from flask_bitmapist.tracking import mark, mark_event, unmark_event

__all__ = [
    "BitOpAnd",
    "BitOpOr",
    "BitOpXor",
    "BitmapistError",
    "BitmapistState",
    "Bitmapistable",
    "DayEvents",
    "Events",
    "FlaskBitmapist",
    "HourEvents",
    "InvalidCohortSpec",
    "InvalidConfiguration",
    "InvalidEventName",
    "InvalidExpression",
    "InvalidMoment",
    "InvalidPeriod",
    "InvalidStorageConfig",
    "InvalidTimeGroup",
    "InvalidUserId",
    "InvalidUserIdType",
    "MonthEvents",
    "Settings",
    "StorageUnavailable",
    "UserSet",
    "WeekEvents",
    "YearEvents",
    "chain_events",
    "current_state",
    "get_cohort",
    "get_event_data",
    "get_event_names",
    "mark",
    "mark_event",
    "unmark_event",
]
