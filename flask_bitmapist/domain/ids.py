"""Mapping the app's own user ids (str, UUID) to the dense ints that bitmaps index.

A bitmap holds user N at bit N, so its size follows the largest id: UUIDs or names cannot
be stored as they are, and hashing them would scatter bits over 512 MB bitmaps. An
:class:`IdMapper` gives each id a dense int on first sight (0, 1, 2, ...) and remembers
it both ways, so reading gives the original ids back.

What counts as the same user: a user id is known by its *text*: a str as it is, a UUID in
its canonical form (``str(uuid)``, lower case with hyphens), an int in decimal. So
``UUID("...")`` and ``"..."`` (canonical) are one user, as are ``42`` and ``"42"``. Reading
gives each id back with the type it had when first seen (a UUID as a ``uuid.UUID``).
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Sequence
from typing import Final

from flask_bitmapist.domain.errors import InvalidUserId, InvalidUserIdType

__all__ = [
    "MAX_ID_TEXT_LENGTH",
    "ExternalId",
    "IdMapper",
    "decode_external_id",
    "encode_external_id",
    "external_id_text",
    "map_full",
]

#: What the app may use as a user id when ids are mapped.
ExternalId = int | str | uuid.UUID

#: Longest str id accepted (an e-mail address has at most 254 characters).
MAX_ID_TEXT_LENGTH: Final = 256


def external_id_text(user_id: object) -> str:
    """The text ``user_id`` is known by, after checking it is a usable id.

    >>> external_id_text(uuid.UUID("12345678-1234-5678-1234-567812345678"))
    '12345678-1234-5678-1234-567812345678'
    >>> external_id_text(42), external_id_text("alice")
    ('42', 'alice')

    Raises :class:`InvalidUserIdType` for anything but an int (not a bool), a str or a
    UUID, and :class:`InvalidUserId` for an empty str or one longer than 256 characters.
    """
    if isinstance(user_id, str):
        if not user_id:
            raise InvalidUserId("user id must not be an empty str")
        if len(user_id) > MAX_ID_TEXT_LENGTH:
            raise InvalidUserId(
                f"user id {user_id[:40]!r}... is {len(user_id)} characters long; "
                f"at most {MAX_ID_TEXT_LENGTH} are allowed"
            )
        return user_id
    if isinstance(user_id, uuid.UUID):
        return str(user_id)
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        return str(user_id)
    raise InvalidUserIdType(
        f"a mapped user id must be a str, a UUID or an int, got {user_id!r} "
        f"({type(user_id).__name__})"
    )


def encode_external_id(user_id: ExternalId) -> str:
    """The stored form of ``user_id``: a type tag, ``:``, its text (``"u:1234..."``)."""
    text = external_id_text(user_id)
    # The type tag: the text alone would not tell a UUID or an int from a str.
    if isinstance(user_id, str):
        return f"s:{text}"
    return f"u:{text}" if isinstance(user_id, uuid.UUID) else f"i:{text}"


def decode_external_id(stored: str) -> ExternalId:
    """The id :func:`encode_external_id` stored, with its type.

    >>> decode_external_id("i:42"), decode_external_id("s:alice")
    (42, 'alice')
    """
    tag, _, text = stored.partition(":")
    if tag == "s":
        return text
    if tag == "u":
        return uuid.UUID(text)
    if tag == "i":
        return int(text)
    raise ValueError(f"not a stored user id: {stored!r}")


def map_full(max_int: int) -> InvalidUserId:
    """The error of a full map: it names the setting that would make room."""
    return InvalidUserId(
        f"the id map is full: every int up to {max_int} (BITMAPIST_MAX_USER_ID) is taken, so "
        "new user ids cannot be mapped and are not recorded; raise BITMAPIST_MAX_USER_ID "
        "to map more"
    )


class IdMapper(abc.ABC):
    """The id map port: the app's user ids <-> dense bitmap ints. Thread-safe.

    Implementations assign ints atomically: two processes mapping the same new id at once
    get the same int, and no int is given to two ids. Storage failures raise
    :class:`~flask_bitmapist.domain.errors.StorageUnavailable`.
    """

    @abc.abstractmethod
    def assign(self, user_ids: Sequence[ExternalId]) -> list[int]:
        """The ints of ``user_ids``, in order; ids never seen get the next free ints."""

    @abc.abstractmethod
    def find(self, user_ids: Sequence[ExternalId]) -> list[int | None]:
        """The ints of ``user_ids`` already mapped (None for an id never seen); assigns none."""

    @abc.abstractmethod
    def originals(self, ints: Sequence[int]) -> list[ExternalId | None]:
        """The ids the ``ints`` were assigned to (None for an int never assigned)."""

    @abc.abstractmethod
    def count(self) -> int:
        """How many ids are mapped (the next int to assign)."""
