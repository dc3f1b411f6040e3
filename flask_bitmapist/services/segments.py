"""Segments for every front end: setting properties, saving cohorts, and resolving a
segment expression to its users (DESIGN section 13).

The answer pipeline restricts answers with :func:`resolve_segment`; the Python functions,
the API, the CLI and the importer write and list through the other functions here, so
that ids, names, caps and errors read the same everywhere. A segment that names what does
not exist is an :class:`~flask_bitmapist.exceptions.InvalidSegment` (``field="segment"``)
listing what does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, Final, cast

import attrs

from flask_bitmapist.domain import (
    DEFAULT_MAX_EXPRESSION_TERMS,
    DEFAULT_MAX_PROPERTY_VALUES,
    DEFAULT_MAX_USER_ID,
    MARK_CHUNK_SIZE,
    Bitmap,
    BitmapRepository,
    ExternalId,
    IdMapper,
    InvalidExpression,
    PropertyAssignment,
    PropertyValue,
    SavedCohort,
    Segment,
    UserSetId,
    external_id_text,
    validate_cohort_name,
    validate_property_name,
    validate_property_value,
    validate_user_id,
)
from flask_bitmapist.domain.errors import TooManyPropertyValues
from flask_bitmapist.domain.segments import too_many_values
from flask_bitmapist.exceptions import InvalidSegment
from flask_bitmapist.services.marking import refuse_unmapped_text

__all__ = [
    "DEFAULT_MAX_BREAKDOWN_GROUPS",
    "BreakdownGroups",
    "SegmentLimits",
    "UserRow",
    "breakdown_groups",
    "breakdown_reads",
    "breakdown_values",
    "delete_cohort",
    "get_properties",
    "get_saved_cohorts",
    "resolve_segment",
    "save_cohort",
    "users_bitmap",
    "write_properties",
]

#: Names an error lists before "and N more": enough to spot a typo, short enough to read.
_LISTED: Final = 20


@attrs.frozen
class SegmentLimits:
    """What bounds a segment: ``max_terms`` names in its text
    (``BITMAPIST_MAX_EXPRESSION_TERMS``), and no read past ``max_user_id``'s byte
    (``BITMAPIST_MAX_USER_ID``; None reads whole bitmaps)."""

    max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS
    max_user_id: int | None = DEFAULT_MAX_USER_ID

    @property
    def max_bytes(self) -> int | None:
        """How far each bitmap is read."""
        return None if self.max_user_id is None else self.max_user_id // 8 + 1


def resolve_segment(
    repository: BitmapRepository, text: object, limits: SegmentLimits | None = None
) -> Bitmap:
    """The users of the segment ``text`` (``plan=pro & ~beta_testers``).

    Reads every user set the segment names in one call. A set that holds users exists; only
    when one comes back empty are the properties or saved cohorts listed, to tell an empty
    one from a name that does not exist. Raises :class:`InvalidSegment` naming
    the field ``segment`` for bad syntax, a lone negation, and a property, value or saved
    cohort that does not exist (the message lists those that do).
    """
    limits = limits or SegmentLimits()
    if not isinstance(text, str):
        raise InvalidSegment(f"segment must be text such as 'plan=pro', got {text!r}")
    if not text.strip():
        raise InvalidSegment("segment is empty: name a property value (plan=pro) or a cohort")
    try:
        segment = Segment.parse(text, max_terms=limits.max_terms)
    except InvalidExpression as exc:
        raise InvalidSegment(f"segment: {exc}") from None
    terms = sorted(segment.terms(), key=str)
    bitmaps = repository.fetch_user_sets(terms, max_bytes=limits.max_bytes)
    empty = [term for term, users in zip(terms, bitmaps, strict=True) if not users]
    _check_terms(empty, _Catalog(repository))
    return segment.evaluate(dict(zip(terms, bitmaps, strict=True)))


#: The most groups of one breakdown (``BITMAPIST_MAX_BREAKDOWN_GROUPS``), before the last
#: group of everyone else.
DEFAULT_MAX_BREAKDOWN_GROUPS: Final = 20


@attrs.frozen
class BreakdownGroups:
    """The groups of a breakdown by property ``name``: ``values`` (value, users), largest
    first, and how many values were left to the group of everyone else (``omitted``)."""

    name: str
    values: tuple[tuple[str, Bitmap], ...]
    omitted: int

    @property
    def holders(self) -> Bitmap:
        """Everyone in one of the groups of ``values``."""
        return Bitmap.union(users for _, users in self.values)


def breakdown_values(repository: BitmapRepository, name: object) -> tuple[str, tuple[str, ...]]:
    """Property ``name`` (stripped) and its values, sorted: one listing, no user set read.
    A name that is no property is an :class:`~flask_bitmapist.exceptions.InvalidRequest`
    naming the field ``breakdown`` and listing the properties."""
    properties = repository.property_values()
    if not isinstance(name, str) or name.strip() not in properties:
        raise InvalidSegment(
            f"breakdown: no property named {name!r}; properties: {_listed(properties)}",
            field="breakdown",
        )
    return name.strip(), tuple(sorted(properties[name.strip()]))


def breakdown_reads(values: int, max_groups: int) -> int:
    """How many user sets a breakdown over ``values`` values reads: all of them up to
    twice ``max_groups``, else only the ``max_groups`` kept, after counting every value.
    Counting a set where it is stored costs a little over half of reading it (25 sets of
    a million users on Redis: counted in 1.1 ms, read in 1.8 ms, by
    ``benchmarks/segment_answers.py``), so counting them all and then reading
    ``max_groups`` costs less than reading them all only past about twice ``max_groups``.

    >>> breakdown_reads(25, 20), breakdown_reads(41, 20), breakdown_reads(1000, 20)
    (25, 20, 20)
    """
    return values if values <= 2 * max_groups else max_groups


def breakdown_groups(
    repository: BitmapRepository,
    name: str,
    values: Sequence[str],
    *,
    max_groups: int = DEFAULT_MAX_BREAKDOWN_GROUPS,
    limits: SegmentLimits | None = None,
) -> BreakdownGroups:
    """The ``values`` of property ``name`` (from :func:`breakdown_values`) held by the most
    users (at most ``max_groups``), largest first (ties by value), each with its users.

    One read of the values' users (:func:`breakdown_reads` of them): past twice
    ``max_groups`` values, they are counted first (on Redis, numbers come back, not
    bitmaps) and only those kept are read, so a property of a thousand values costs the
    read of ``max_groups``.
    """
    limits = limits or SegmentLimits()
    ids = [PropertyValue(name, value) for value in values]
    if breakdown_reads(len(ids), max_groups) < len(ids):
        sizes = repository.count_user_sets(ids, max_bytes=limits.max_bytes)
        ranked = sorted(zip(sizes, values, ids, strict=True), key=lambda t: (-t[0], t[1]))
        ids = [item for _, _, item in ranked[:max_groups]]
    bitmaps = repository.fetch_user_sets(ids, max_bytes=limits.max_bytes)
    kept = sorted(
        ((item.value, users) for item, users in zip(ids, bitmaps, strict=True)),
        key=lambda pair: (-len(pair[1]), pair[0]),
    )[:max_groups]
    return BreakdownGroups(name, tuple(kept), len(values) - len(kept))


class _Catalog:
    """The names of the properties and saved cohorts, each listed when first needed: a
    segment of property values alone never lists the saved cohorts, nor the reverse."""

    def __init__(self, repository: BitmapRepository) -> None:
        self._repository = repository

    @functools.cached_property
    def properties(self) -> dict[str, frozenset[str]]:
        return self._repository.property_values()

    @functools.cached_property
    def cohorts(self) -> frozenset[str]:
        return self._repository.cohort_names()


def _check_terms(terms: Iterable[UserSetId], catalog: _Catalog) -> None:
    """Refuse the first term naming what does not exist, listing what does."""
    for term in terms:
        if isinstance(term, SavedCohort):
            if term.name in catalog.cohorts:
                continue
            properties = catalog.properties
            if term.name in properties:
                values = properties[term.name]
                raise InvalidSegment(
                    f"segment: {term.name!r} is a property, not a saved cohort: name one of "
                    f"its values, e.g. {term.name}={min(values)} (its values: "
                    f"{_listed(values)})"
                )
            raise InvalidSegment(
                f"segment: no saved cohort named {term.name!r}; saved cohorts: "
                f"{_listed(catalog.cohorts)}; properties: {_listed(properties)}"
            )
        properties = catalog.properties
        if term.name not in properties:
            raise InvalidSegment(
                f"segment: no property named {term.name!r}; properties: {_listed(properties)}"
            )
        if term.value not in properties[term.name]:
            raise InvalidSegment(
                f"segment: no user has {term.name}={term.value}; the values of "
                f"{term.name!r}: {_listed(properties[term.name])}"
            )


def _listed(names: Iterable[str]) -> str:
    ordered = sorted(names)
    if not ordered:
        return "none"
    shown = ", ".join(ordered[:_LISTED])
    more = len(ordered) - _LISTED
    return f"{shown} and {more} more" if more > 0 else shown


# -- properties ----------------------------------------------------------------------

#: One row of properties to write: (the app's user id, property name, value or None).
UserRow = tuple[object, object, object]


def write_properties(
    repository: BitmapRepository,
    rows: Iterable[UserRow],
    *,
    max_values: int = DEFAULT_MAX_PROPERTY_VALUES,
    max_user_id: int = DEFAULT_MAX_USER_ID,
    id_mapper: IdMapper | None = None,
    chunk_size: int = MARK_CHUNK_SIZE,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Set each row's property a chunk at a time (each chunk checked in full before it is
    written; with ``id_mapper`` its ids mapped in one call); returns how many rows.

    Ids are ints up to ``max_user_id``, or with ``id_mapper`` the app's ids (int, str,
    UUID), as marks take them. A value past ``max_values`` raises
    :class:`~flask_bitmapist.domain.TooManyPropertyValues` after the rest of its chunk is
    written.
    """
    iterator = iter(rows)
    written = 0
    refused: TooManyPropertyValues | None = None
    while chunk := list(islice(iterator, chunk_size)):
        assignments = _assignments(chunk, max_user_id, id_mapper)
        positions = repository.set_properties(assignments, max_values=max_values)
        if positions and refused is None:
            refused = too_many_values(assignments[positions[0]], max_values)
        written += len(chunk)
        if on_chunk is not None:
            on_chunk(len(chunk))
    if refused is not None:
        raise refused
    return written


def _assignments(
    rows: Sequence[UserRow], max_user_id: int, id_mapper: IdMapper | None
) -> list[PropertyAssignment]:
    """The rows checked in full (ids, names, values), their ids mapped with ``id_mapper``."""
    for row in rows:
        if id_mapper is None:
            refuse_unmapped_text(row[0])
            validate_user_id(row[0], max_user_id)
        else:
            external_id_text(row[0])  # a bad id is the caller's bug: checked before mapping
    names = {name: validate_property_name(name) for _, name, _ in rows}
    values = {v: validate_property_value(v) for _, _, v in rows if v is not None}
    ids: Sequence[object] = [row[0] for row in rows]
    if id_mapper is not None:
        ids = [validate_user_id(n, max_user_id) for n in id_mapper.assign(cast(Any, ids))]
    return [
        PropertyAssignment(cast(int, uid), names[name], None if v is None else values[v])
        for uid, (_, name, v) in zip(ids, rows, strict=True)
    ]


def get_properties(
    repository: BitmapRepository, *, max_user_id: int | None = DEFAULT_MAX_USER_ID
) -> dict[str, dict[str, Bitmap]]:
    """Every property and each value's users, ``{name: {value: users}}`` sorted by name
    and value: one listing, then one read of every value's users."""
    properties = repository.property_values()
    ids = [
        PropertyValue(name, value)
        for name in sorted(properties)
        for value in sorted(properties[name])
    ]
    bitmaps = repository.fetch_user_sets(
        ids, max_bytes=SegmentLimits(max_user_id=max_user_id).max_bytes
    )
    result: dict[str, dict[str, Bitmap]] = {}
    for item, bitmap in zip(ids, bitmaps, strict=True):
        result.setdefault(item.name, {})[item.value] = bitmap
    return result


# -- saved cohorts -------------------------------------------------------------------


def save_cohort(repository: BitmapRepository, name: object, users: Bitmap) -> None:
    """Keep ``users`` under ``name``, replacing an older cohort of that name."""
    repository.save_cohort(validate_cohort_name(name), users)


def users_bitmap(
    user_ids: Sequence[object],
    *,
    max_user_id: int = DEFAULT_MAX_USER_ID,
    id_mapper: IdMapper | None = None,
) -> Bitmap:
    """The user set of ``user_ids``: ints up to ``max_user_id``, or with ``id_mapper`` the
    app's ids (int, str, UUID; mapped in one call). Every id is checked first."""
    if id_mapper is None:
        for user_id in user_ids:
            refuse_unmapped_text(user_id)
        return Bitmap.from_ids(validate_user_id(user_id, max_user_id) for user_id in user_ids)
    for user_id in user_ids:
        external_id_text(user_id)
    numbers = id_mapper.assign([cast(ExternalId, user_id) for user_id in user_ids])
    return Bitmap.from_ids(validate_user_id(number, max_user_id) for number in numbers)


def delete_cohort(repository: BitmapRepository, name: object) -> bool:
    """Forget the saved cohort ``name``; whether there was one."""
    return repository.delete_cohort(validate_cohort_name(name))


def get_saved_cohorts(
    repository: BitmapRepository, *, max_user_id: int | None = DEFAULT_MAX_USER_ID
) -> dict[str, Bitmap]:
    """Every saved cohort's users, ``{name: users}`` sorted by name, in two calls."""
    names = sorted(repository.cohort_names())
    limit = SegmentLimits(max_user_id=max_user_id).max_bytes
    bitmaps = repository.fetch_user_sets([SavedCohort(name) for name in names], max_bytes=limit)
    return dict(zip(names, bitmaps, strict=True))
