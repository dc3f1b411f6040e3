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
that changes them, and removed on delete. A value is kept as text (an enum as its value);
None removes the property. A value that breaks the naming rules fails the flush; a store
that is down, or a value past ``BITMAPIST_MAX_PROPERTY_VALUES``, is logged at commit
(the rows are committed already).

Flushing needs an application context with Flask-Bitmapist (that app's storage gets the
marks). Storage failures at commit time fail open, like every mark. SQLAlchemy comes with
the ``sqlalchemy`` extra (``pip install 'flask-bitmapist[sqlalchemy]'``); without it,
importing ``Bitmapistable`` raises :class:`~flask_bitmapist.exceptions.MissingExtra`.
"""

from __future__ import annotations

import enum
import logging
from typing import Any, ClassVar, Final

import attrs

from flask_bitmapist.flask.extras import is_missing, missing_extra

try:
    from sqlalchemy import event, inspect
    from sqlalchemy.orm import Mapper, Session, SessionTransaction, object_session
except ImportError as exc:
    if is_missing(exc, "sqlalchemy"):
        raise missing_extra("sqlalchemy", "sqlalchemy", "Bitmapistable") from exc
    raise

from flask_bitmapist.domain import (
    BitmapistError,
    validate_property_name,
    validate_property_value,
)
from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.flask.tracking import build_mark, record
from flask_bitmapist.services.marking import PendingMark
from flask_bitmapist.services.segments import UserRow, write_properties

__all__ = ["Bitmapistable"]

#: Where a session keeps the marks waiting for its commit (``session.info``).
PENDING_KEY: Final = "flask_bitmapist.pending_marks"

_log = logging.getLogger(__name__)


class Bitmapistable:
    """Mixin for SQLAlchemy models: marks ``<name>:created|updated|deleted`` after commit.

    Configure per model with class attributes:

    - ``__bitmapist_name__``: the event prefix (default: the lower-cased class name);
    - ``__bitmapist_id__``: the attribute holding the id to mark (default: ``"id"``), e.g.
      ``"author_id"`` to credit a comment's author;
    - ``__bitmapist_properties__``: attributes kept as that id's properties, e.g.
      ``("plan",)`` (default: none).
    """

    __bitmapist_name__: ClassVar[str | None] = None
    __bitmapist_id__: ClassVar[str] = "id"
    __bitmapist_properties__: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def bitmapist_event_name(cls, action: str) -> str:
        """The event marked for ``action`` (``created``, ``updated``, ``deleted``)."""
        return f"{cls.__bitmapist_name__ or cls.__name__.lower()}:{action}"

    def bitmapist_user_id(self) -> object:
        """The id to mark: the value of the ``__bitmapist_id__`` attribute."""
        name = type(self).__bitmapist_id__
        try:
            return getattr(self, name)
        except AttributeError:
            raise NotImplementedError(
                f"{type(self).__name__} has no attribute {name!r} to take the id to mark "
                "from: add it, or set __bitmapist_id__ to the attribute that holds the id"
            ) from None


@attrs.frozen
class _Pending:
    """A mark waiting for its transaction to commit."""

    state: BitmapistState
    mark: PendingMark | UserRow
    transaction: SessionTransaction


def _queue(target: Bitmapistable, action: str) -> None:
    session = object_session(target)
    if session is None:  # pragma: no cover - flush events always have a session
        return
    state = current_state()
    # Validated now: a bad id fails the flush, before anything is written anywhere.
    user_id = target.bitmapist_user_id()
    mark = build_mark(state, target.bitmapist_event_name(action), user_id)
    transaction = session.get_nested_transaction() or session.get_transaction()
    assert transaction is not None  # flushing always happens inside one
    queue = session.info.setdefault(PENDING_KEY, [])
    queue.append(_Pending(state, mark, transaction))
    queue += [_Pending(state, row, transaction) for row in _property_rows(target, action, user_id)]


def _property_rows(target: Bitmapistable, action: str, user_id: object) -> list[UserRow]:
    """The properties to set for ``action``: all on insert, those changed on update,
    none left on delete."""
    rows: list[UserRow] = []
    changes = inspect(target).attrs
    for name in type(target).__bitmapist_properties__:
        validate_property_name(name)
        if action == "updated" and not changes[name].history.has_changes():
            continue
        value = None if action == "deleted" else getattr(target, name)
        if isinstance(value, enum.Enum):
            value = value.value
        text = None if value is None else validate_property_value(str(value))
        rows.append((user_id, name, text))
    return rows


@event.listens_for(Bitmapistable, "after_insert", propagate=True)
def _after_insert(mapper: Mapper[Any], connection: Any, target: Bitmapistable) -> None:
    _queue(target, "created")


@event.listens_for(Bitmapistable, "after_update", propagate=True)
def _after_update(mapper: Mapper[Any], connection: Any, target: Bitmapistable) -> None:
    session = object_session(target)
    # SQLAlchemy calls this for every dirty object, even without a net change.
    if session is not None and session.is_modified(target):
        _queue(target, "updated")


@event.listens_for(Bitmapistable, "after_delete", propagate=True)
def _after_delete(mapper: Mapper[Any], connection: Any, target: Bitmapistable) -> None:
    _queue(target, "deleted")


@event.listens_for(Session, "after_commit")
def _write_after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        # A savepoint was released: its changes commit with the enclosing transaction.
        return
    pending: list[_Pending] = session.info.pop(PENDING_KEY, [])
    by_state: dict[int, tuple[BitmapistState, list[PendingMark], list[UserRow]]] = {}
    for item in pending:
        _, marks, rows = by_state.setdefault(id(item.state), (item.state, [], []))
        if isinstance(item.mark, tuple):
            rows.append(item.mark)
        else:
            marks.append(item.mark)
    for state, marks, rows in by_state.values():
        record(state, marks)
        if rows:
            _write_properties(state, rows)


def _write_properties(state: BitmapistState, rows: list[UserRow]) -> None:
    try:
        write_properties(
            state.repository,
            rows,
            max_values=state.settings.max_property_values,
            max_user_id=state.settings.max_user_id,
            id_mapper=state.id_mapper,
        )
    except BitmapistError as exc:
        # The rows are committed: raising now would tell the caller their commit failed.
        _log.warning("Flask-Bitmapist could not set %d properties after commit: %s", len(rows), exc)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Pending] | None = session.info.get(PENDING_KEY)
    if pending:
        pending[:] = [p for p in pending if not _within(p.transaction, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction is over: whatever did not commit never will (close()
    # ends a transaction without a rollback event).
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)
