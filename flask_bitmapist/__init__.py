"""Flask-Bitmapist: bitmap analytics and cohorts for Flask.

Three lines set it up::

    from flask_bitmapist import FlaskBitmapist, mark

    flaskbitmapist = FlaskBitmapist()
    flaskbitmapist.init_app(app)

then ``@mark("index:visited", 1)`` on a view, ``mark_event("user:paid", user.id)`` anywhere
in an app context, ``Bitmapistable`` on SQLAlchemy models (``PeeweeBitmapistable``,
``MongoEngineBitmapistable`` on Peewee and MongoEngine ones) for
``<model>:created|updated|deleted``, and Flask-Login logins and logouts marked automatically.
Read it back with ``get_event_data("user:paid", "months")`` (a user set), ``get_cohort(...)``
and ``chain_events(...)``, as in 0.1. Segments: ``set_property(user.id, "plan", "pro")``,
``save_cohort("beta_testers", users)``, ``get_segment("plan=pro & ~beta_testers")``.
An app's tests check what it marks with the pytest fixture ``analytics`` of
:mod:`flask_bitmapist.testing`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask_bitmapist.exceptions import (
        BitmapistError,
        EventFileError,
        InvalidAnswerSpec,
        InvalidCohortSpec,
        InvalidConfiguration,
        InvalidEventName,
        InvalidExpression,
        InvalidJson,
        InvalidMoment,
        InvalidPeriod,
        InvalidRequest,
        InvalidRetention,
        InvalidSegment,
        InvalidSegmentName,
        InvalidStorageConfig,
        InvalidTimeGroup,
        InvalidTimestamp,
        InvalidUserId,
        InvalidUserIdType,
        MissingExtra,
        MomentOutOfRange,
        PeriodsExpired,
        ReadBudgetExceeded,
        StorageUnavailable,
        TooManyPropertyValues,
    )
    from flask_bitmapist.flask.answers import (
        get_funnel,
        get_lifecycle,
        get_stickiness,
        get_trend,
    )
    from flask_bitmapist.flask.config import (
        Settings,
    )
    from flask_bitmapist.flask.extension import (
        FlaskBitmapist,
    )
    from flask_bitmapist.flask.mixins import (
        Bitmapistable,
    )
    from flask_bitmapist.flask.mongoengine_mixin import (
        MongoEngineBitmapistable,
    )
    from flask_bitmapist.flask.peewee_mixin import (
        PeeweeBitmapistable,
    )
    from flask_bitmapist.flask.query import (
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
    from flask_bitmapist.flask.segments import (
        delete_cohort,
        get_properties,
        get_saved_cohorts,
        get_segment,
        save_cohort,
        set_property,
    )
    from flask_bitmapist.flask.state import (
        BitmapistState,
        current_state,
    )
    from flask_bitmapist.flask.tracking import (
        mark,
        mark_event,
        unmark_event,
    )

# The facade's names load on first use (as svcs does): importing
# ``flask_bitmapist.domain`` or ``flask_bitmapist.services`` must not load Flask, redis
# or SQLAlchemy, and Python imports this module first for either. The errors load on
# first use too: the pytest plugin (``flask_bitmapist.testing``), loaded in every test
# session of an environment that has the package, must not load numpy.
_LAZY: dict[str, str] = {
    "BitmapistError": "flask_bitmapist.exceptions",
    "EventFileError": "flask_bitmapist.exceptions",
    "InvalidAnswerSpec": "flask_bitmapist.exceptions",
    "InvalidCohortSpec": "flask_bitmapist.exceptions",
    "InvalidConfiguration": "flask_bitmapist.exceptions",
    "InvalidEventName": "flask_bitmapist.exceptions",
    "InvalidExpression": "flask_bitmapist.exceptions",
    "InvalidJson": "flask_bitmapist.exceptions",
    "InvalidMoment": "flask_bitmapist.exceptions",
    "InvalidPeriod": "flask_bitmapist.exceptions",
    "InvalidRequest": "flask_bitmapist.exceptions",
    "InvalidSegment": "flask_bitmapist.exceptions",
    "InvalidSegmentName": "flask_bitmapist.exceptions",
    "InvalidRetention": "flask_bitmapist.exceptions",
    "InvalidStorageConfig": "flask_bitmapist.exceptions",
    "InvalidTimeGroup": "flask_bitmapist.exceptions",
    "InvalidTimestamp": "flask_bitmapist.exceptions",
    "InvalidUserId": "flask_bitmapist.exceptions",
    "InvalidUserIdType": "flask_bitmapist.exceptions",
    "MissingExtra": "flask_bitmapist.exceptions",
    "MomentOutOfRange": "flask_bitmapist.exceptions",
    "PeriodsExpired": "flask_bitmapist.exceptions",
    "ReadBudgetExceeded": "flask_bitmapist.exceptions",
    "StorageUnavailable": "flask_bitmapist.exceptions",
    "TooManyPropertyValues": "flask_bitmapist.exceptions",
    "FlaskBitmapist": "flask_bitmapist.flask.extension",
    "Bitmapistable": "flask_bitmapist.flask.mixins",
    "PeeweeBitmapistable": "flask_bitmapist.flask.peewee_mixin",
    "MongoEngineBitmapistable": "flask_bitmapist.flask.mongoengine_mixin",
    "BitOpAnd": "flask_bitmapist.flask.query",
    "BitOpOr": "flask_bitmapist.flask.query",
    "BitOpXor": "flask_bitmapist.flask.query",
    "DayEvents": "flask_bitmapist.flask.query",
    "Events": "flask_bitmapist.flask.query",
    "HourEvents": "flask_bitmapist.flask.query",
    "MonthEvents": "flask_bitmapist.flask.query",
    "UserSet": "flask_bitmapist.flask.query",
    "WeekEvents": "flask_bitmapist.flask.query",
    "YearEvents": "flask_bitmapist.flask.query",
    "chain_events": "flask_bitmapist.flask.query",
    "get_cohort": "flask_bitmapist.flask.query",
    "get_event_data": "flask_bitmapist.flask.query",
    "get_event_names": "flask_bitmapist.flask.query",
    "get_lifecycle": "flask_bitmapist.flask.answers",
    "get_trend": "flask_bitmapist.flask.answers",
    "get_funnel": "flask_bitmapist.flask.answers",
    "get_stickiness": "flask_bitmapist.flask.answers",
    "delete_cohort": "flask_bitmapist.flask.segments",
    "get_properties": "flask_bitmapist.flask.segments",
    "get_saved_cohorts": "flask_bitmapist.flask.segments",
    "get_segment": "flask_bitmapist.flask.segments",
    "save_cohort": "flask_bitmapist.flask.segments",
    "set_property": "flask_bitmapist.flask.segments",
    "BitmapistState": "flask_bitmapist.flask.state",
    "Settings": "flask_bitmapist.flask.config",
    "current_state": "flask_bitmapist.flask.state",
    "mark": "flask_bitmapist.flask.tracking",
    "mark_event": "flask_bitmapist.flask.tracking",
    "unmark_event": "flask_bitmapist.flask.tracking",
}

__all__ = [
    "BitOpAnd",
    "BitOpOr",
    "BitOpXor",
    "BitmapistError",
    "BitmapistState",
    "Bitmapistable",
    "DayEvents",
    "EventFileError",
    "Events",
    "FlaskBitmapist",
    "HourEvents",
    "InvalidAnswerSpec",
    "InvalidCohortSpec",
    "InvalidConfiguration",
    "InvalidEventName",
    "InvalidExpression",
    "InvalidJson",
    "InvalidMoment",
    "InvalidPeriod",
    "InvalidRequest",
    "InvalidRetention",
    "InvalidSegment",
    "InvalidSegmentName",
    "InvalidStorageConfig",
    "InvalidTimeGroup",
    "InvalidTimestamp",
    "InvalidUserId",
    "InvalidUserIdType",
    "MissingExtra",
    "MomentOutOfRange",
    "MongoEngineBitmapistable",
    "MonthEvents",
    "PeeweeBitmapistable",
    "PeriodsExpired",
    "ReadBudgetExceeded",
    "Settings",
    "StorageUnavailable",
    "TooManyPropertyValues",
    "UserSet",
    "WeekEvents",
    "YearEvents",
    "chain_events",
    "current_state",
    "delete_cohort",
    "get_cohort",
    "get_event_data",
    "get_event_names",
    "get_funnel",
    "get_lifecycle",
    "get_properties",
    "get_saved_cohorts",
    "get_segment",
    "get_stickiness",
    "get_trend",
    "mark",
    "mark_event",
    "save_cohort",
    "set_property",
    "unmark_event",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
