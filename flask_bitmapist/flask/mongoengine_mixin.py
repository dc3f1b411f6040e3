"""``MongoEngineBitmapistable``: a MongoEngine mixin that marks document changes.

::

    import mongoengine
    from flask_bitmapist import MongoEngineBitmapistable

    class User(MongoEngineBitmapistable, mongoengine.Document):
        __bitmapist_id__ = "number"                 # whose id to mark (default: "id")
        number = mongoengine.IntField(required=True)

    class Comment(MongoEngineBitmapistable, mongoengine.Document):
        __bitmapist_name__ = "note"                 # event prefix (default: class name, lower)
        __bitmapist_id__ = "author_id"
        author_id = mongoengine.IntField(required=True)

``save()`` marks ``<name>:created`` (a new document) or ``<name>:updated`` (when a field
changed), ``delete()`` ``<name>:deleted``, for the id: the same policy as the SQLAlchemy
and Peewee mixins (:mod:`flask_bitmapist.services.model_marks`), hooked into MongoEngine's
``post_save`` and ``post_delete`` signals. MongoDB commits each write by itself, so the
mark follows the write (a failed write raises first and marks nothing). The id is checked
before the write (``pre_save_post_validation``): a bad one raises and nothing is written.
``QuerySet.update()`` and ``QuerySet.delete()`` do not load documents and are not marked.
``__bitmapist_properties__`` keeps fields as the id's properties, by the same policy: all
on create, the fields a save changed on update, removed on delete; a bad value raises
before the write.

MongoDB's ``_id`` is an ObjectId, not a user id: name an int attribute with
``__bitmapist_id__``, or turn on ``BITMAPIST_MAP_IDS`` to mark str ids (``str(doc.id)``
through a property, say).

Saving needs an application context with Flask-Bitmapist (that app's storage gets the
marks). MongoEngine comes with the ``mongoengine`` extra (``pip install
'flask-bitmapist[mongoengine]'``); without it, importing ``MongoEngineBitmapistable``
raises :class:`~flask_bitmapist.exceptions.MissingExtra`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from flask_bitmapist.flask.extras import is_missing, missing_extra

try:
    from mongoengine import signals
except ImportError as exc:
    if is_missing(exc, "mongoengine"):
        raise missing_extra("mongoengine", "mongoengine", "MongoEngineBitmapistable") from exc
    raise

from flask_bitmapist.flask.model_hooks import mark_change, pending_change, write_changes
from flask_bitmapist.flask.state import BitmapistState
from flask_bitmapist.services.model_marks import MarkedModel, ModelChange, ModelWrite

__all__ = ["MongoEngineBitmapistable"]

#: The attribute of a document holding its checked write between the check and the write.
PENDING_ATTRIBUTE: Final = "_flask_bitmapist_pending"


class MongoEngineBitmapistable(MarkedModel):
    """Mixin for MongoEngine documents: marks ``<name>:created|updated|deleted`` once saved
    or deleted. Configure per model with ``__bitmapist_name__``, ``__bitmapist_id__`` and
    ``__bitmapist_properties__`` (see
    :class:`~flask_bitmapist.services.model_marks.MarkedModel`)."""


def _checked(sender: Any, document: Any, created: bool = False, **kwargs: Any) -> None:
    # Before the write: a bad id raises here, and nothing is written anywhere.
    if not isinstance(document, MongoEngineBitmapistable):
        return
    pending = None
    if created:
        pending = pending_change(document, ModelChange.CREATED)
    elif changed_fields := document._get_changed_fields():  # type: ignore[attr-defined]
        # A save that changed nothing is no update.
        changed = _changes(document, changed_fields)
        pending = pending_change(document, ModelChange.UPDATED, changed)
    # Past MongoEngine's __setattr__, which would take it for a field of a DynamicDocument.
    object.__setattr__(document, PENDING_ATTRIBUTE, pending)


def _changes(document: Any, changed_fields: list[str]) -> Callable[[str], bool]:
    """Whether a save changes an attribute: its field (by its name in the database) or a
    part of it changed (an attribute that is no field counts as changed)."""

    def changed(name: str) -> bool:
        field = document._fields.get(name)
        if field is None:
            return True
        db_name = field.db_field
        return any(key == db_name or key.startswith(f"{db_name}.") for key in changed_fields)

    return changed


def _saved(sender: Any, document: Any, **kwargs: Any) -> None:
    pending: tuple[BitmapistState, ModelWrite] | None = getattr(document, PENDING_ATTRIBUTE, None)
    if pending is not None:
        object.__setattr__(document, PENDING_ATTRIBUTE, None)
        state, write = pending
        write_changes(state, [write])


def _deleted(sender: Any, document: Any, **kwargs: Any) -> None:
    if isinstance(document, MongoEngineBitmapistable):
        mark_change(document, ModelChange.DELETED)


signals.pre_save_post_validation.connect(_checked, weak=False)
signals.post_save.connect(_saved, weak=False)
signals.post_delete.connect(_deleted, weak=False)
