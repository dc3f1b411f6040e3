"""The marking pipeline every front end shares: check a mark, map its ids, write it.

Live marks (``mark_event``, ``@mark``), ``flask bitmapist import`` and the demo data all
build their marks with :func:`pending_mark`, so they accept the same ids, and map ids with
:func:`map_marks` (one id-map call per batch), so a storage failure while mapping fails
open like one while writing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

import attrs

from flask_bitmapist.domain import (
    ExternalId,
    IdMapper,
    InvalidUserIdType,
    Mark,
    external_id_text,
    validate_user_id,
)

__all__ = ["PendingMark", "UnmappedMark", "map_marks", "pending_mark"]


@attrs.frozen
class UnmappedMark:
    """A checked mark whose user id is still the app's own (``BITMAPIST_MAP_IDS``).

    ``template`` holds the validated event, moment and flags (its user id is a
    placeholder); :func:`record` maps ``user_id`` and writes ``template`` with that int.
    """

    template: Mark
    user_id: ExternalId

    def mapped(self, number: int, max_user_id: int) -> Mark:
        """The mark for bitmap int ``number`` (refused beyond ``max_user_id``)."""
        return attrs.evolve(self.template, user_id=validate_user_id(number, max_user_id))


#: What :func:`build_mark` returns and :func:`record` writes.
PendingMark = Mark | UnmappedMark


def pending_mark(
    event_name: object,
    user_id: object,
    moment: datetime,
    *,
    hourly: bool,
    unique: bool,
    max_user_id: int,
    map_ids: bool,
) -> PendingMark:
    """:func:`build_mark` with every option given: what ``flask bitmapist import`` checks
    each row of a file with, so imported rows and live marks accept the same ids.

    With ``map_ids`` every id (ints too) is checked as a mapped id and the result is an
    :class:`UnmappedMark`; without, the id must be an int in ``0..max_user_id``, and a str
    or UUID is refused with a hint to set ``BITMAPIST_MAP_IDS``.
    """
    if not map_ids and isinstance(user_id, (str, uuid.UUID)):
        raise InvalidUserIdType(
            f"user id must be an int, got {user_id!r} ({type(user_id).__name__}); to track "
            "str or UUID user ids, set BITMAPIST_MAP_IDS = True: they are then mapped to ints"
        )
    mark = Mark.create(
        event_name,
        0 if map_ids else user_id,
        moment,
        hourly=hourly,
        unique=unique,
        max_user_id=max_user_id,
    )
    if not map_ids:
        return mark
    external_id_text(user_id)  # checked now: a bad id is the caller's bug, never dropped
    return UnmappedMark(mark, cast(ExternalId, user_id))


def map_marks(
    id_mapper: IdMapper | None,
    marks: Sequence[PendingMark],
    *,
    max_user_id: int,
    assign: bool = True,
) -> list[Mark]:
    """``marks`` with their ids mapped by ``id_mapper`` (one ``assign`` or ``find`` call
    for all of them), ready for ``repository.mark``.

    When unmarking (``assign`` false) ids never mapped are not given ints: they have no
    bits to clear, so their marks are left out. A mapped int beyond ``max_user_id`` is
    refused (:class:`~flask_bitmapist.domain.InvalidUserId`); a storage failure raises
    :class:`~flask_bitmapist.domain.StorageUnavailable`.
    """
    unmapped = [m for m in marks if isinstance(m, UnmappedMark)]
    if not unmapped or id_mapper is None:
        return [m for m in marks if isinstance(m, Mark)]
    ids = [m.user_id for m in unmapped]
    numbers = id_mapper.assign(ids) if assign else id_mapper.find(ids)
    found = iter(numbers)
    result: list[Mark] = []
    for pending in marks:
        if isinstance(pending, Mark):
            result.append(pending)
            continue
        number = next(found)
        if number is not None:
            result.append(pending.mapped(number, max_user_id))
    return result
