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

import ast
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask_bitmapist.exceptions import BitmapistError as BitmapistError
    from flask_bitmapist.exceptions import EventFileError as EventFileError
    from flask_bitmapist.exceptions import InvalidAnswerSpec as InvalidAnswerSpec
    from flask_bitmapist.exceptions import InvalidCohortSpec as InvalidCohortSpec
    from flask_bitmapist.exceptions import InvalidConfiguration as InvalidConfiguration
    from flask_bitmapist.exceptions import InvalidEventName as InvalidEventName
    from flask_bitmapist.exceptions import InvalidExpression as InvalidExpression
    from flask_bitmapist.exceptions import InvalidJson as InvalidJson
    from flask_bitmapist.exceptions import InvalidMoment as InvalidMoment
    from flask_bitmapist.exceptions import InvalidPeriod as InvalidPeriod
    from flask_bitmapist.exceptions import InvalidRequest as InvalidRequest
    from flask_bitmapist.exceptions import InvalidRetention as InvalidRetention
    from flask_bitmapist.exceptions import InvalidSegment as InvalidSegment
    from flask_bitmapist.exceptions import InvalidSegmentName as InvalidSegmentName
    from flask_bitmapist.exceptions import InvalidStorageConfig as InvalidStorageConfig
    from flask_bitmapist.exceptions import InvalidTimeGroup as InvalidTimeGroup
    from flask_bitmapist.exceptions import InvalidTimestamp as InvalidTimestamp
    from flask_bitmapist.exceptions import InvalidUserId as InvalidUserId
    from flask_bitmapist.exceptions import InvalidUserIdType as InvalidUserIdType
    from flask_bitmapist.exceptions import MissingExtra as MissingExtra
    from flask_bitmapist.exceptions import MomentOutOfRange as MomentOutOfRange
    from flask_bitmapist.exceptions import PeriodsExpired as PeriodsExpired
    from flask_bitmapist.exceptions import ReadBudgetExceeded as ReadBudgetExceeded
    from flask_bitmapist.exceptions import StorageUnavailable as StorageUnavailable
    from flask_bitmapist.exceptions import TooManyPropertyValues as TooManyPropertyValues
    from flask_bitmapist.flask.answers import get_funnel as get_funnel
    from flask_bitmapist.flask.answers import get_lifecycle as get_lifecycle
    from flask_bitmapist.flask.answers import get_stickiness as get_stickiness
    from flask_bitmapist.flask.answers import get_trend as get_trend
    from flask_bitmapist.flask.config import Settings as Settings
    from flask_bitmapist.flask.extension import FlaskBitmapist as FlaskBitmapist
    from flask_bitmapist.flask.mixins import Bitmapistable as Bitmapistable
    from flask_bitmapist.flask.mongoengine_mixin import (
        MongoEngineBitmapistable as MongoEngineBitmapistable,
    )
    from flask_bitmapist.flask.peewee_mixin import PeeweeBitmapistable as PeeweeBitmapistable
    from flask_bitmapist.flask.query import BitOpAnd as BitOpAnd
    from flask_bitmapist.flask.query import BitOpOr as BitOpOr
    from flask_bitmapist.flask.query import BitOpXor as BitOpXor
    from flask_bitmapist.flask.query import DayEvents as DayEvents
    from flask_bitmapist.flask.query import Events as Events
    from flask_bitmapist.flask.query import HourEvents as HourEvents
    from flask_bitmapist.flask.query import MonthEvents as MonthEvents
    from flask_bitmapist.flask.query import UserSet as UserSet
    from flask_bitmapist.flask.query import WeekEvents as WeekEvents
    from flask_bitmapist.flask.query import YearEvents as YearEvents
    from flask_bitmapist.flask.query import chain_events as chain_events
    from flask_bitmapist.flask.query import get_cohort as get_cohort
    from flask_bitmapist.flask.query import get_event_data as get_event_data
    from flask_bitmapist.flask.query import get_event_names as get_event_names
    from flask_bitmapist.flask.segments import delete_cohort as delete_cohort
    from flask_bitmapist.flask.segments import get_properties as get_properties
    from flask_bitmapist.flask.segments import get_saved_cohorts as get_saved_cohorts
    from flask_bitmapist.flask.segments import get_segment as get_segment
    from flask_bitmapist.flask.segments import save_cohort as save_cohort
    from flask_bitmapist.flask.segments import set_property as set_property
    from flask_bitmapist.flask.state import BitmapistState as BitmapistState
    from flask_bitmapist.flask.state import current_state as current_state
    from flask_bitmapist.flask.tracking import mark as mark
    from flask_bitmapist.flask.tracking import mark_event as mark_event
    from flask_bitmapist.flask.tracking import unmark_event as unmark_event


# The facade's names load on first use (as svcs does): importing
# ``flask_bitmapist.domain`` or ``flask_bitmapist.services`` must not load Flask, redis
# or SQLAlchemy, and Python imports this module first for either. The errors load on
# first use too: the pytest plugin (``flask_bitmapist.testing``), loaded in every test
# session of an environment that has the package, must not load numpy. The imports above
# are the one list of public names: type checkers follow them, and the lazy loading reads
# them from this file (as scientific Python's lazy_loader reads a stub), so a name added
# there is exported, loaded and listed by ``dir()`` with nothing else to edit.


def _public_modules() -> dict[str, str]:
    """Each public name and the module that defines it, from the ``TYPE_CHECKING``
    imports of this file."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )
    return {
        alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


_LAZY = _public_modules()
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
