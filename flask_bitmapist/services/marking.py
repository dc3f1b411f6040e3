"""The marking pipeline every front end shares: check a mark, map its ids, write it.

A :class:`MarkingPolicy` holds how an app marks (hourly and lifetime bitmaps, the largest
user id, whether ids are mapped): live marks (``mark_event``, ``@mark``), ``flask
bitmapist import`` and the demo data build their marks with :meth:`MarkingPolicy.pending`,
so they accept the same ids, and map ids with :meth:`MarkingPolicy.mapped` (one id-map
call per batch), so a storage failure while mapping fails open like one while writing.
Bulk writers go through :func:`write_marks`: chunk, map ids, write.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, tzinfo
from itertools import islice
from typing import Final, cast

import attrs

from flask_bitmapist.domain import (
    DEFAULT_MAX_USER_ID,
    MARK_CHUNK_SIZE,
    NO_RETENTION,
    UTC,
    BitmapRepository,
    ExternalId,
    IdMapper,
    InvalidUserIdType,
    Mark,
    RetentionPolicy,
    external_id_text,
    validate_user_id,
)

__all__ = [
    "DEFAULT_POLICY",
    "MARK_CHUNK_SIZE",
    "MarkingPolicy",
    "PendingMark",
    "UnmappedMark",
    "refuse_unmapped_text",
    "write_marks",
]


@attrs.frozen
class UnmappedMark:
    """A checked mark whose user id is still the app's own (``BITMAPIST_MAP_IDS``).

    ``template`` holds the validated event, moment and flags (its user id is a
    placeholder); :meth:`MarkingPolicy.mapped` maps ``user_id`` and writes ``template``
    with that int.
    """

    template: Mark
    user_id: ExternalId

    def mapped(self, number: int, max_user_id: int) -> Mark:
        """The mark for bitmap int ``number`` (refused beyond ``max_user_id``)."""
        return attrs.evolve(self.template, user_id=validate_user_id(number, max_user_id))


def refuse_unmapped_text(user_id: object) -> None:
    """Refuse a str or UUID id where ids are not mapped, saying how to map them."""
    if isinstance(user_id, (str, uuid.UUID)):
        raise InvalidUserIdType(
            f"user id must be an int, got {user_id!r} ({type(user_id).__name__}); to "
            "track str or UUID user ids, set BITMAPIST_MAP_IDS = True: they are then "
            "mapped to ints"
        )


#: What :meth:`MarkingPolicy.pending` returns and the writers write.
PendingMark = Mark | UnmappedMark


@attrs.frozen
class MarkingPolicy:
    """How an app marks events, read once from its settings.

    - ``hourly``: marks also set the hour's bitmap (``BITMAPIST_TRACK_HOURLY``): True for
      every event, or a tuple of event names and glob patterns (``("checkout:*",)``);
    - ``unique``: marks also set the lifetime flag (``BITMAPIST_TRACK_UNIQUE``);
    - ``max_user_id``: the largest bitmap int accepted (``BITMAPIST_MAX_USER_ID``);
    - ``map_ids``: user ids are the app's own (ints, str, UUID), mapped to bitmap ints
      (``BITMAPIST_MAP_IDS``).

    - ``zone``: the calendar whose hours, days, weeks and months marks fall in
      (``BITMAPIST_TIMEZONE``); a naive moment is local time there.
    - ``retention``: when the keys a mark writes expire (``BITMAPIST_RETENTION``); the
      expiry goes with the bits, in the same round trip.

    >>> policy = MarkingPolicy(hourly=True)
    >>> policy.pending("user:paid", 42, datetime(2026, 11, 27, 13)).hourly
    True
    """

    hourly: bool | tuple[str, ...] = False
    unique: bool = False
    max_user_id: int = DEFAULT_MAX_USER_ID
    map_ids: bool = False
    zone: tzinfo = UTC
    retention: RetentionPolicy = NO_RETENTION

    def hourly_for(self, event_name: object) -> bool:
        """Whether marks of ``event_name`` set the hour's bitmap: ``hourly`` is True, or
        names the event or a glob pattern matching it (case-sensitive).

        >>> MarkingPolicy(hourly=("checkout:*",)).hourly_for("checkout:paid")
        True
        """
        if isinstance(self.hourly, bool):
            return self.hourly
        return isinstance(event_name, str) and any(
            fnmatch.fnmatchcase(event_name, pattern) for pattern in self.hourly
        )

    def overriding(
        self, *, hourly: bool | None = None, unique: bool | None = None
    ) -> MarkingPolicy:
        """This policy with the per-call flags ``mark_event`` takes (None keeps the app's)."""
        if hourly is None and unique is None:
            return self
        return attrs.evolve(
            self,
            hourly=self.hourly if hourly is None else hourly,
            unique=self.unique if unique is None else unique,
        )

    def pending(self, event_name: object, user_id: object, moment: datetime) -> PendingMark:
        """A checked mark of ``user_id`` doing ``event_name`` at ``moment``.

        With ``map_ids`` every id (ints too) is checked as a mapped id and the result is an
        :class:`UnmappedMark`; without, the id must be an int in ``0..max_user_id``, and a
        str or UUID is refused with a hint to set ``BITMAPIST_MAP_IDS``.
        """
        if not self.map_ids:
            refuse_unmapped_text(user_id)
        mark = Mark.create(
            event_name,
            0 if self.map_ids else user_id,
            moment,
            hourly=self.hourly_for(event_name),
            unique=self.unique,
            max_user_id=self.max_user_id,
            zone=self.zone,
            retention=self.retention,
        )
        if not self.map_ids:
            return mark
        external_id_text(user_id)  # checked now: a bad id is the caller's bug, never dropped
        return UnmappedMark(mark, cast(ExternalId, user_id))

    def to_map(self, mark: Mark) -> PendingMark:
        """``mark`` (built with an int id) as this policy writes it: its id to be mapped
        when ids are mapped, so that the app's id N reads back as N (the demo data), and
        its keys expiring under the policy's retention."""
        if mark.retention != self.retention:
            mark = attrs.evolve(mark, retention=self.retention)
        return UnmappedMark(mark, mark.user_id) if self.map_ids else mark

    def mapped(
        self, id_mapper: IdMapper | None, marks: Sequence[PendingMark], *, assign: bool = True
    ) -> list[Mark]:
        """``marks`` with their ids mapped by ``id_mapper`` (one ``assign`` or ``find``
        call for all of them), ready for ``repository.mark``.

        When unmarking (``assign`` false) ids never mapped are not given ints: they have no
        bits to clear, so their marks are left out. A mapped int beyond ``max_user_id`` is
        refused (:class:`~flask_bitmapist.domain.InvalidUserId`); a storage failure raises
        :class:`~flask_bitmapist.domain.StorageUnavailable`.
        """
        unmapped = [m for m in marks if isinstance(m, UnmappedMark)]
        if not unmapped:
            return list(cast("Sequence[Mark]", marks))
        if id_mapper is None:
            # Writing them unmapped would lose them: a bug in the caller, never dropped.
            raise ValueError(
                f"{len(unmapped)} mark(s) hold unmapped user ids (the first: "
                f"{unmapped[0].user_id!r}); mapping them needs the app's id map"
            )
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
                result.append(pending.mapped(number, self.max_user_id))
        return result


#: 0.1's defaults: daily, weekly and monthly bitmaps, int ids up to 2**32 - 1, no mapping.
DEFAULT_POLICY: Final = MarkingPolicy()


def write_marks(
    repository: BitmapRepository,
    marks: Iterable[PendingMark],
    *,
    policy: MarkingPolicy,
    id_mapper: IdMapper | None = None,
    chunk_size: int = MARK_CHUNK_SIZE,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Write ``marks`` a chunk at a time: map the chunk's ids (one id-map call), then one
    ``repository.mark`` call. Returns how many marks were written.

    Memory stays bounded by ``chunk_size`` however long ``marks`` is; ``on_chunk`` is
    called with each chunk's size once it is written. Storage failures propagate
    (:class:`~flask_bitmapist.domain.StorageUnavailable`): the marks already written stay,
    and writing again is safe, since marks are idempotent.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    iterator = iter(marks)
    written = 0
    while chunk := list(islice(iterator, chunk_size)):
        repository.mark(policy.mapped(id_mapper, chunk))
        written += len(chunk)
        if on_chunk is not None:
            on_chunk(len(chunk))
    return written
