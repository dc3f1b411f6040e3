"""``PeeweeBitmapistable``: a Peewee mixin that marks model changes once they are committed.

::

    import peewee
    from flask_bitmapist import PeeweeBitmapistable

    class User(PeeweeBitmapistable, BaseModel):       # the mixin comes first
        name = peewee.CharField()

    class Comment(PeeweeBitmapistable, BaseModel):
        __bitmapist_name__ = "note"                 # event prefix (default: class name, lower)
        __bitmapist_id__ = "author_id"              # whose id to mark (default: "id")
        author_id = peewee.IntegerField()

``save()`` marks ``<name>:created`` (a new row) or ``<name>:updated``, ``delete_instance()``
``<name>:deleted``, for the id: the same policy as the SQLAlchemy mixin
(:mod:`flask_bitmapist.services.model_marks`), ``__bitmapist_properties__`` included (an
update keeps the fields it saves that were set since the last save). Inside a transaction
(``db.atomic()``, ``db.transaction()``) the marks wait until it commits, and a rollback
drops them; outside one, the row is committed by the save and marked right after it.
Peewee has no hook for a savepoint's rollback: a nested ``atomic()`` rolled back on its
own inside a transaction that then commits still marks. Class-level queries
(``User.update(...).execute()``, ``User.delete()...``) do not load objects and are not
marked; neither are saves in ``db.manual_commit()`` mode before it commits (they are
marked at once, as outside a transaction).

Saving needs an application context with Flask-Bitmapist (that app's storage gets the
marks). Peewee comes with the ``peewee`` extra (``pip install 'flask-bitmapist[peewee]'``);
without it, importing ``PeeweeBitmapistable`` raises
:class:`~flask_bitmapist.exceptions.MissingExtra`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from flask_bitmapist.flask.extras import is_missing, missing_extra

try:
    import peewee
except ImportError as exc:
    if is_missing(exc, "peewee"):
        raise missing_extra("peewee", "peewee", "PeeweeBitmapistable") from exc
    raise

from flask_bitmapist.flask.model_hooks import mark_change, pending_change, write_committed
from flask_bitmapist.flask.state import BitmapistState
from flask_bitmapist.services.model_marks import MarkedModel, ModelChange, PendingModelMarks

__all__ = ["PeeweeBitmapistable"]

#: The attribute of a Peewee transaction holding the marks waiting for its commit.
PENDING_ATTRIBUTE: Final = "_flask_bitmapist_pending"


class PeeweeBitmapistable(MarkedModel):
    """Mixin for Peewee models: marks ``<name>:created|updated|deleted`` after commit.

    Put it before ``peewee.Model`` (or your base model) in the bases, so that its
    ``save`` and ``delete_instance`` run. Configure per model with ``__bitmapist_name__``,
    ``__bitmapist_id__`` and ``__bitmapist_properties__`` (see
    :class:`~flask_bitmapist.services.model_marks.MarkedModel`).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__
        if peewee.Model in mro and mro.index(peewee.Model) < mro.index(PeeweeBitmapistable):
            raise TypeError(
                f"{cls.__name__}: put PeeweeBitmapistable before the Peewee model in the "
                f"bases (class {cls.__name__}(PeeweeBitmapistable, BaseModel)), otherwise "
                "Peewee's save() runs instead of the mixin's and nothing is marked"
            )

    def save(self, force_insert: bool = False, only: Any = None) -> Any:
        """Peewee's ``save``, then ``<name>:created`` or ``<name>:updated`` (after commit)."""
        model: Any = self
        created = bool(force_insert) or model._meta.primary_key is False or model._pk is None
        changed = _saved_changes(model, only)  # read before the save clears them
        rows = _peewee_super(self).save(force_insert=force_insert, only=only)
        if rows:
            _after_commit(self, ModelChange.CREATED if created else ModelChange.UPDATED, changed)
        return rows

    def delete_instance(self, *args: Any, **kwargs: Any) -> Any:
        """Peewee's ``delete_instance``, then ``<name>:deleted`` (after commit)."""
        rows = _peewee_super(self).delete_instance(*args, **kwargs)
        if rows:
            _after_commit(self, ModelChange.DELETED)
        return rows


def _peewee_super(instance: PeeweeBitmapistable) -> Any:
    # The mixin is not a Peewee model itself: its bases' methods come after it in the MRO.
    return super(PeeweeBitmapistable, instance)


def _saved_changes(model: Any, only: Any) -> Callable[[str], bool]:
    """Whether a save writes a changed attribute: a dirty field among those saved (an
    attribute that is no field counts as changed)."""
    fields = model._meta.fields
    dirty = set(model._dirty)
    if only is not None:
        dirty &= {field if isinstance(field, str) else field.name for field in only}
    return lambda name: name in dirty or name not in fields


def _after_commit(
    instance: PeeweeBitmapistable,
    change: ModelChange,
    changed: Callable[[str], bool] | None = None,
) -> None:
    database: Any = type(instance)._meta.database  # type: ignore[attr-defined]
    transactions = database._state.transactions
    if not transactions or isinstance(transactions[-1], peewee._manual):
        # Autocommit (or manual commit, which has no hook): the row is committed already.
        mark_change(instance, change, changed)
        return
    # Nested db.transaction() blocks stack up; only the outermost one commits.
    outermost = transactions[0]
    state, write = pending_change(instance, change, changed)
    _pending_of(outermost).add(state, write, outermost)


def _pending_of(transaction: Any) -> PendingModelMarks[BitmapistState]:
    """The marks waiting for ``transaction``; the first call hooks its commit and rollback."""
    pending: PendingModelMarks[BitmapistState] | None = getattr(
        transaction, PENDING_ATTRIBUTE, None
    )
    if pending is not None:
        return pending
    pending = PendingModelMarks()
    commit, rollback = transaction.commit, transaction.rollback

    def commit_then_mark(*args: Any, **kwargs: Any) -> Any:
        result = commit(*args, **kwargs)  # a failed commit raises first: nothing is marked
        write_committed(pending)
        return result

    def rollback_and_forget(*args: Any, **kwargs: Any) -> Any:
        pending.rolled_back(lambda _transaction: True)
        return rollback(*args, **kwargs)

    # Peewee's transaction calls self.commit / self.rollback when its block ends, and
    # db.session_commit() / session_rollback() do too: the instance's own methods win.
    transaction.commit = commit_then_mark
    transaction.rollback = rollback_and_forget
    setattr(transaction, PENDING_ATTRIBUTE, pending)
    return pending
