"""What the three ORM integrations share in the facade: the app whose storage gets a model's
marks, and writing them once committed (the policy is
:mod:`flask_bitmapist.services.model_marks`)."""

from __future__ import annotations

from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.flask.tracking import record
from flask_bitmapist.services.marking import PendingMark
from flask_bitmapist.services.model_marks import (
    MarkedModel,
    ModelChange,
    PendingModelMarks,
    model_mark,
)

__all__ = ["mark_change", "pending_change", "write_committed"]


def pending_change(
    instance: MarkedModel, change: ModelChange
) -> tuple[BitmapistState, PendingMark]:
    """The current app's state and the checked mark of ``change`` to ``instance``, now.

    Needs an application context (the :class:`RuntimeError` of :func:`current_state`
    says so); a bad id raises before anything is written.
    """
    state = current_state()
    return state, model_mark(state.marking, instance, change, state.now())


def mark_change(instance: MarkedModel, change: ModelChange) -> None:
    """Mark ``change`` to ``instance`` at once (the change is committed already)."""
    state, mark = pending_change(instance, change)
    record(state, [mark])


def write_committed(pending: PendingModelMarks[BitmapistState]) -> None:
    """Write every mark of ``pending`` in its app's storage (failing open, as every mark)."""
    for state, marks in pending.committed():
        record(state, marks)
