"""What the three ORM integrations share in the facade: the app whose storage gets a model's
marks and properties, and writing them once committed (the policy is
:mod:`flask_bitmapist.services.model_marks`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from flask_bitmapist.domain import BitmapistError
from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.flask.tracking import record
from flask_bitmapist.services.model_marks import (
    MarkedModel,
    ModelChange,
    ModelWrite,
    PendingModelMarks,
    model_write,
)
from flask_bitmapist.services.segments import write_properties

__all__ = ["mark_change", "pending_change", "write_changes", "write_committed"]

_log = logging.getLogger(__name__)


def pending_change(
    instance: MarkedModel,
    change: ModelChange,
    changed: Callable[[str], bool] | None = None,
) -> tuple[BitmapistState, ModelWrite]:
    """The current app's state and the checked write (mark and properties) of ``change``
    to ``instance``, now; ``changed`` says which attributes an update changed.

    Needs an application context (the :class:`RuntimeError` of :func:`current_state`
    says so); a bad id, property name or value raises before anything is written.
    """
    state = current_state()
    return state, model_write(state.marking, instance, change, state.now(), changed)


def mark_change(
    instance: MarkedModel,
    change: ModelChange,
    changed: Callable[[str], bool] | None = None,
) -> None:
    """Write ``change`` to ``instance`` at once (the change is committed already)."""
    state, write = pending_change(instance, change, changed)
    write_changes(state, [write])


def write_committed(pending: PendingModelMarks[BitmapistState]) -> None:
    """Write every mark and property of ``pending`` in its app's storage."""
    for state, writes in pending.committed():
        write_changes(state, writes)


def write_changes(state: BitmapistState, writes: Sequence[ModelWrite]) -> None:
    """Write committed changes: the marks failing open, as every mark; the properties
    logged when they cannot be set (raising now would tell the caller their committed
    change failed)."""
    record(state, [write.mark for write in writes])
    rows = [row for write in writes for row in write.properties]
    if not rows:
        return
    try:
        write_properties(
            state.repository,
            rows,
            max_values=state.settings.max_property_values,
            max_user_id=state.settings.max_user_id,
            id_mapper=state.id_mapper,
        )
    except BitmapistError as exc:
        _log.warning("Flask-Bitmapist could not set %d properties after commit: %s", len(rows), exc)
