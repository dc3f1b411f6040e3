"""The marking policy of the ORM integrations: one rule for SQLAlchemy, Peewee and MongoEngine.

A model that marks its changes says which event prefix and which id attribute it uses
(:class:`MarkedModel`); creating, updating and deleting one of its objects marks
``<name>:created``, ``<name>:updated`` and ``<name>:deleted`` (:class:`ModelChange`) for
that id. A model may also keep attributes as that id's properties
(``__bitmapist_properties__``): all of them on create, those that changed on update,
removed on delete (:func:`model_write`). The marks and properties wait in a
:class:`PendingModelMarks` until the change is committed, and are dropped when it is rolled
back. Only the hook into each ORM differs: which of its events says "changed" (and which
attributes changed), "committed" and "rolled back".

Framework-free: the integrations in :mod:`flask_bitmapist.flask` find the app's marking
policy and write the marks.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

import attrs

from flask_bitmapist.domain import validate_property_name, validate_property_value
from flask_bitmapist.services.marking import MarkingPolicy, PendingMark
from flask_bitmapist.services.segments import UserRow

__all__ = [
    "MarkedModel",
    "ModelChange",
    "ModelWrite",
    "PendingModelMarks",
    "model_mark",
    "model_properties",
    "model_write",
]

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
      ``"author_id"`` to credit a comment's author. Any model works, not only users;
    - ``__bitmapist_properties__``: attributes kept as that id's properties of the same
      name, e.g. ``("plan",)`` (default: none).
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


def model_mark(
    policy: MarkingPolicy, instance: MarkedModel, change: ModelChange, now: datetime
) -> PendingMark:
    """The checked mark of ``change`` to ``instance`` at ``now``.

    Built when the change is made, not when it is committed: a bad id fails the ORM's
    write before anything is written anywhere.
    """
    event = type(instance).bitmapist_event_name(change.value)
    return policy.pending(event, instance.bitmapist_user_id(), now)


def model_properties(
    instance: MarkedModel,
    change: ModelChange,
    changed: Callable[[str], bool] | None = None,
) -> tuple[UserRow, ...]:
    """The checked property rows of ``change`` to ``instance``: every attribute of
    ``__bitmapist_properties__`` on create, those ``changed`` says changed on update (all
    when it is None), each removed (value None) on delete.

    A value is kept as text, an enum as its value; None removes the property. A name or
    value breaking the naming rules raises
    :class:`~flask_bitmapist.domain.InvalidSegmentName` when the change is made.
    """
    names = type(instance).__bitmapist_properties__
    if not names:
        return ()
    user_id = instance.bitmapist_user_id()
    rows: list[UserRow] = []
    for name in names:
        validate_property_name(name)
        if change is ModelChange.UPDATED and changed is not None and not changed(name):
            continue
        value = None if change is ModelChange.DELETED else getattr(instance, name)
        if isinstance(value, enum.Enum):
            value = value.value
        rows.append((user_id, name, None if value is None else validate_property_value(str(value))))
    return tuple(rows)


@attrs.frozen
class ModelWrite:
    """What a change writes once committed: its mark, and the properties it sets."""

    mark: PendingMark
    properties: tuple[UserRow, ...] = ()


def model_write(
    policy: MarkingPolicy,
    instance: MarkedModel,
    change: ModelChange,
    now: datetime,
    changed: Callable[[str], bool] | None = None,
) -> ModelWrite:
    """The checked mark and property rows of ``change`` to ``instance`` at ``now``
    (:func:`model_mark`, :func:`model_properties`), built when the change is made."""
    return ModelWrite(
        model_mark(policy, instance, change, now), model_properties(instance, change, changed)
    )


@attrs.frozen
class _Pending(Generic[Owner]):
    owner: Owner
    write: ModelWrite
    transaction: object


@attrs.define
class PendingModelMarks(Generic[Owner]):
    """Writes (marks and properties) waiting for their transaction to commit, each with its
    owner (who writes it) and the transaction (or savepoint) its change was made in."""

    _items: list[_Pending[Owner]] = attrs.field(factory=list, init=False)

    def __bool__(self) -> bool:
        return bool(self._items)

    def add(self, owner: Owner, write: ModelWrite, transaction: object) -> None:
        """Keep ``write`` until :meth:`committed` (or a rollback of ``transaction``)."""
        self._items.append(_Pending(owner, write, transaction))

    def rolled_back(self, undone: Callable[[object], bool]) -> None:
        """Drop the writes whose transaction ``undone`` says was rolled back."""
        self._items[:] = [item for item in self._items if not undone(item.transaction)]

    def committed(self) -> list[tuple[Owner, list[ModelWrite]]]:
        """Every write, taken out, grouped by owner (in the order first seen, each group in
        the order made: a later change to a property wins)."""
        groups: dict[int, tuple[Owner, list[ModelWrite]]] = {}
        for item in self._items:
            groups.setdefault(id(item.owner), (item.owner, []))[1].append(item.write)
        self._items.clear()
        return list(groups.values())
