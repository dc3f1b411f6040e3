"""The marking policy of the ORM integrations: one rule for SQLAlchemy, Peewee and MongoEngine.

A model that marks its changes says which event prefix and which id attribute it uses
(:class:`MarkedModel`); creating, updating and deleting one of its objects marks
``<name>:created``, ``<name>:updated`` and ``<name>:deleted`` (:class:`ModelChange`) for
that id. The marks wait in a :class:`PendingModelMarks` until the change is committed, and
are dropped when it is rolled back. Only the hook into each ORM differs: which of its
events says "changed", "committed" and "rolled back".

Framework-free: the integrations in :mod:`flask_bitmapist.flask` find the app's marking
policy and write the marks.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

import attrs

from flask_bitmapist.services.marking import MarkingPolicy, PendingMark

__all__ = ["MarkedModel", "ModelChange", "PendingModelMarks", "model_mark"]

#: Who writes a pending mark (the app's state, in the facade).
Owner = TypeVar("Owner")


class ModelChange(enum.Enum):
    """What happened to a model's object; the value is the event's suffix."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class MarkedModel:
    """The per-model settings every ORM mixin shares, as class attributes.

    - ``__bitmapist_name__``: the event prefix (default: the lower-cased class name);
    - ``__bitmapist_id__``: the attribute holding the id to mark (default: ``"id"``), e.g.
      ``"author_id"`` to credit a comment's author. Any model works, not only users.
    """

    __bitmapist_name__: ClassVar[str | None] = None
    __bitmapist_id__: ClassVar[str] = "id"

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


def model_mark(
    policy: MarkingPolicy, instance: MarkedModel, change: ModelChange, now: datetime
) -> PendingMark:
    """The checked mark of ``change`` to ``instance`` at ``now``.

    Built when the change is made, not when it is committed: a bad id fails the ORM's
    write before anything is written anywhere.
    """
    event = type(instance).bitmapist_event_name(change.value)
    return policy.pending(event, instance.bitmapist_user_id(), now)


@attrs.frozen
class _Pending(Generic[Owner]):
    owner: Owner
    mark: PendingMark
    transaction: object


@attrs.define
class PendingModelMarks(Generic[Owner]):
    """Marks waiting for their transaction to commit, each with its owner (who writes it)
    and the transaction (or savepoint) its change was made in."""

    _items: list[_Pending[Owner]] = attrs.field(factory=list, init=False)

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, owner: Owner, mark: PendingMark, transaction: object) -> None:
        """Keep ``mark`` until :meth:`committed` (or a rollback of ``transaction``)."""
        self._items.append(_Pending(owner, mark, transaction))

    def rolled_back(self, undone: Callable[[object], bool]) -> None:
        """Drop the marks whose transaction ``undone`` says was rolled back."""
        self._items[:] = [item for item in self._items if not undone(item.transaction)]

    def committed(self) -> list[tuple[Owner, list[PendingMark]]]:
        """Every mark, taken out, grouped by owner (in the order first seen), to write."""
        groups: dict[int, tuple[Owner, list[PendingMark]]] = {}
        for item in self._items:
            groups.setdefault(id(item.owner), (item.owner, []))[1].append(item.mark)
        self._items.clear()
        return list(groups.values())
