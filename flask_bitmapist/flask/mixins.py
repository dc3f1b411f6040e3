"""``Bitmapistable``: an SQLAlchemy mixin that marks model changes once they are committed.

::

    from flask_bitmapist import Bitmapistable

    class User(db.Model, Bitmapistable):          # Flask-SQLAlchemy 3
        id = db.Column(db.Integer, primary_key=True)

    class Comment(Base, Bitmapistable):           # plain SQLAlchemy 2
        __bitmapist_name__ = "comment"            # event prefix (default: class name, lower)
        __bitmapist_id__ = "author_id"            # whose id to mark (default: "id")
        ...

    class Account(Base, Bitmapistable):
        __bitmapist_id__ = "owner_id"
        __bitmapist_properties__ = ("plan",)      # kept as the owner's property "plan"

Inserting, updating and deleting a row marks ``<name>:created``, ``<name>:updated`` and
``<name>:deleted`` for the id. The marks are collected while the session flushes and
written only when its transaction commits: a rollback (of the transaction, or of the
savepoint the change was made in) leaves no trace. Bulk statements such as
``session.execute(update(User))`` do not load objects and are not marked.

Attributes named in ``__bitmapist_properties__`` are kept as the id's properties of the
same name (DESIGN section 13), set after commit like the marks: on insert, on an update
that changes them, and removed on delete (the policy of
:mod:`flask_bitmapist.services.model_marks`; SQLAlchemy's attribute history says what an
update changed). A value that breaks the naming rules fails the flush; a store that is
down, or a value past ``BITMAPIST_MAX_PROPERTY_VALUES``, is logged at commit (the rows are
committed already).

Flushing needs an application context with Flask-Bitmapist (that app's storage gets the
marks). Storage failures at commit time fail open, like every mark. SQLAlchemy comes with
the ``sqlalchemy`` extra (``pip install 'flask-bitmapist[sqlalchemy]'``); without it,
importing ``Bitmapistable`` raises :class:`~flask_bitmapist.exceptions.MissingExtra`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from flask_bitmapist.flask.extras import is_missing, missing_extra

try:
    from sqlalchemy import event, inspect
    from sqlalchemy.orm import Mapper, Session, SessionTransaction, object_session
except ImportError as exc:
    if is_missing(exc, "sqlalchemy"):
        raise missing_extra("sqlalchemy", "sqlalchemy", "Bitmapistable") from exc
    raise

from flask_bitmapist.flask.model_hooks import pending_change, write_committed
from flask_bitmapist.flask.state import BitmapistState
from flask_bitmapist.services.model_marks import MarkedModel, ModelChange, PendingModelMarks

__all__ = ["Bitmapistable"]

#: Where a session keeps the marks waiting for its commit (``session.info``).
PENDING_KEY: Final = "flask_bitmapist.pending_marks"


class Bitmapistable(MarkedModel):
    """Mixin for SQLAlchemy models: marks ``<name>:created|updated|deleted`` after commit.

    Configure per model with class attributes:

    - ``__bitmapist_name__``: the event prefix (default: the lower-cased class name);
    - ``__bitmapist_id__``: the attribute holding the id to mark (default: ``"id"``), e.g.
      ``"author_id"`` to credit a comment's author;
    - ``__bitmapist_properties__``: attributes kept as that id's properties, e.g.
      ``("plan",)`` (default: none).
    """


def _queue(target: Bitmapistable, change: ModelChange) -> None:
    session = object_session(target)
    if session is None:  # pragma: no cover - flush events always have a session
        return
    state, write = pending_change(target, change, _changed_in(target))
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None  # flushing always happens inside one
    pending: PendingModelMarks[BitmapistState] = session.info.setdefault(
        PENDING_KEY, PendingModelMarks()
    )
    pending.add(state, write, transaction)


def _changed_in(target: Bitmapistable) -> Callable[[str], bool]:
    """Whether the flush changes an attribute of ``target``: its history has changes (an
    attribute that SQLAlchemy does not map counts as changed)."""
    attributes = inspect(target).attrs
    return lambda name: name not in attributes or bool(attributes[name].history.has_changes())


@event.listens_for(Bitmapistable, "after_insert", propagate=True)
def _after_insert(mapper: Mapper[Any], connection: Any, target: Bitmapistable) -> None:
    _queue(target, ModelChange.CREATED)


@event.listens_for(Bitmapistable, "after_update", propagate=True)
def _after_update(mapper: Mapper[Any], connection: Any, target: Bitmapistable) -> None:
    session = object_session(target)
    # SQLAlchemy calls this for every dirty object, even without a net change.
    if session is not None and session.is_modified(target):
        _queue(target, ModelChange.UPDATED)


@event.listens_for(Bitmapistable, "after_delete", propagate=True)
def _after_delete(mapper: Mapper[Any], connection: Any, target: Bitmapistable) -> None:
    _queue(target, ModelChange.DELETED)


@event.listens_for(Session, "after_commit")
def _write_after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        # A savepoint was released: its changes commit with the enclosing transaction.
        return
    pending: PendingModelMarks[BitmapistState] | None = session.info.pop(PENDING_KEY, None)
    if pending:
        write_committed(pending)


def _within(transaction: object, ancestor: SessionTransaction) -> bool:
    while isinstance(transaction, SessionTransaction):
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: PendingModelMarks[BitmapistState] | None = session.info.get(PENDING_KEY)
    if pending:
        pending.rolled_back(lambda transaction: _within(transaction, previous_transaction))


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction is over: whatever did not commit never will (close()
    # ends a transaction without a rollback event).
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)
