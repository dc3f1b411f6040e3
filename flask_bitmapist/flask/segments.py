"""Properties and saved cohorts in an app context (DESIGN section 13).

Each function reads or writes the current app's storage; storage that cannot be reached
raises :class:`~flask_bitmapist.exceptions.StorageUnavailable` (unlike marking, setting a
property does not fail open: it is not on the path of a user's request). User ids are
those ``mark_event`` takes: ints, or with ``BITMAPIST_MAP_IDS`` the app's own ids, and the
user sets returned give them back.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_bitmapist.domain import Bitmap
from flask_bitmapist.flask.query import UserSet
from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.services import segments

__all__ = [
    "delete_cohort",
    "get_properties",
    "get_saved_cohorts",
    "get_segment",
    "save_cohort",
    "set_property",
]


def set_property(user_id: object, name: str, value: str | None) -> None:
    """Record that user ``user_id``'s property ``name`` is now ``value`` (None removes it).

    A user holds at most one value per property: setting another one moves them. Names
    and values follow the rules of event names (a name without ``=``, ``{`` or ``}``); a
    property holds at most ``BITMAPIST_MAX_PROPERTY_VALUES`` values, past which
    :class:`~flask_bitmapist.exceptions.TooManyPropertyValues` is raised. Properties are
    current state, not history::

        set_property(42, "plan", "pro")
    """
    state = current_state()
    segments.write_properties(
        state.repository,
        [(user_id, name, value)],
        max_values=state.settings.max_property_values,
        max_user_id=state.settings.max_user_id,
        id_mapper=state.id_mapper,
    )


def get_properties() -> dict[str, dict[str, UserSet]]:
    """Every property, each value and its users: ``{"plan": {"pro": users, ...}, ...}``."""
    state = current_state()
    found = segments.get_properties(state.repository, max_user_id=state.settings.max_user_id)
    return {
        name: {value: _users(state, bitmap) for value, bitmap in values.items()}
        for name, values in found.items()
    }


def save_cohort(name: str, users: UserSet | Bitmap | Iterable[object]) -> None:
    """Keep ``users`` under ``name``, replacing a cohort saved earlier under that name.

    ``users`` is any user set the package returns (``get_event_data(...)``, a drill-down's
    users) or user ids. The name follows the rules of event names, without ``=``::

        save_cohort("beta_testers", [1, 2, 3])
    """
    state = current_state()
    segments.save_cohort(state.repository, name, _bitmap_of(state, users))


def delete_cohort(name: str) -> bool:
    """Forget the saved cohort ``name``; whether there was one."""
    return segments.delete_cohort(current_state().repository, name)


def get_saved_cohorts() -> dict[str, UserSet]:
    """Every saved cohort and its users, ``{name: users}``, sorted by name."""
    state = current_state()
    found = segments.get_saved_cohorts(state.repository, max_user_id=state.settings.max_user_id)
    return {name: _users(state, bitmap) for name, bitmap in found.items()}


def get_segment(segment: str) -> UserSet:
    """The users of a segment expression: ``get_segment("plan=pro & ~beta_testers")``.

    Terms are ``NAME=VALUE`` (a property value) or ``NAME`` (a saved cohort), combined with
    ``&``, ``|``, ``~`` and parentheses as event expressions are. A term naming what does
    not exist raises :class:`~flask_bitmapist.exceptions.InvalidSegment`, listing what does.
    """
    state = current_state()
    limits = segments.SegmentLimits(
        max_terms=state.settings.max_expression_terms, max_user_id=state.settings.max_user_id
    )
    return _users(state, segments.resolve_segment(state.repository, segment, limits))


def _users(state: BitmapistState, bitmap: Bitmap) -> UserSet:
    return UserSet(bitmap, id_mapper=state.id_mapper)


def _bitmap_of(state: BitmapistState, users: object) -> Bitmap:
    if isinstance(users, UserSet):
        return users.bitmap
    if isinstance(users, Bitmap):
        return users
    if isinstance(users, (str, bytes)) or not isinstance(users, Iterable):
        raise TypeError(f"users must be a user set or user ids, got {users!r}")
    return segments.users_bitmap(
        list(users), max_user_id=state.settings.max_user_id, id_mapper=state.id_mapper
    )
