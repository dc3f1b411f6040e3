"""Events, user ids and the bitmaps a mark touches."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, tzinfo

import attrs

from flask_bitmapist.domain.errors import InvalidEventName, InvalidUserId, InvalidUserIdType
from flask_bitmapist.domain.periods import UTC, Period, TimeGroup, localize
from flask_bitmapist.domain.retention import NO_RETENTION, RetentionPolicy

__all__ = [
    "DEFAULT_MAX_USER_ID",
    "MAX_EVENT_NAME_LENGTH",
    "REDIS_MAX_USER_ID",
    "BitmapId",
    "Mark",
    "validate_event_name",
    "validate_stored_event_name",
    "validate_user_id",
]

#: The longest event name this package writes. Reading has no limit: bitmapist has none.
MAX_EVENT_NAME_LENGTH = 200
#: Redis bitmaps hold at most 2**32 bits: no setting may allow more.
REDIS_MAX_USER_ID = 2**32 - 1
#: The largest id a mark accepts unless ``BITMAPIST_MAX_USER_ID`` says otherwise. A bitmap
#: is as long as its largest id, so one mark of id N makes Redis allocate N/8 bytes in each
#: key it sets: month, week, day, hour and the lifetime flag, 5 keys at most. To keep one
#: mark under about 64 MB, a key may take 64 / 5 = 12.8 MB, i.e. ids below about 2**26.6;
#: the power of two under that, 2**26 ids, makes 8 MiB per key and 40 MiB for 5 keys (45 MiB
#: with the 1 MiB Redis adds when it grows a string past 1 MiB). Sparse or huge ids belong
#: in the id map (``BITMAPIST_MAP_IDS``), which hands out dense ints.
DEFAULT_MAX_USER_ID = 2**26 - 1
RESERVED_PREFIX = "bitop_"
# Written names also refuse what would make a name look like another in a table or a
# terminal: bidirectional controls (U+061C, U+200E/F, U+202A-202E, U+2066-2069) and
# zero-width characters (U+200B-200D, U+2060, U+FEFF); and lone surrogates, which no
# encoding can store.
_INVISIBLE = "\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"
_SURROGATES = "\ud800-\udfff"
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_FORBIDDEN = re.compile(rf"[\s\x00-\x1f\x7f-\x9f{_INVISIBLE}{_SURROGATES}]")
# bitmapist writes any name, and its deployments have names like "song played": reading
# allows the plain space (U+0020) and zero-width characters, still no other whitespace or
# control character, and no bidirectional control (it reorders the text around it
# wherever the name is shown, so such a name cannot be shown safely) or lone surrogate
# (no key can hold one).
_FORBIDDEN_STORED = re.compile(rf"[^\S ]|[\x00-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}]")


def validate_event_name(name: object) -> str:
    """Return ``name`` if this package may write it, else raise naming the value.

    Valid: a non-empty str of at most 200 characters, without whitespace or control
    characters, not starting with ``bitop_`` (bitmapist's temporary keys). Marking
    (``Mark.create``, ``mark_event``, ``@mark``, imports) uses this rule; reading uses the
    wider :func:`validate_stored_event_name`.
    """
    name = _validate_common(name)
    if len(name) > MAX_EVENT_NAME_LENGTH:
        raise InvalidEventName(
            f"event name {name[:40]!r}... is {len(name)} characters long; "
            f"at most {MAX_EVENT_NAME_LENGTH} are allowed"
        )
    bad = _FORBIDDEN.search(name)
    if bad:
        raise InvalidEventName(
            f"event name {name!r} contains {bad.group()!r} at position {bad.start()}; "
            f"{_refused_kind(bad.group())} are not allowed"
        )
    return _check_prefix(name)


def validate_stored_event_name(name: object) -> str:
    """Return ``name`` if it may name an event already stored, else raise naming the value.

    Doist's bitmapist accepts any event name, so data it wrote may hold names this package
    would not write (:func:`validate_event_name`): reading and querying accept them too.
    Valid: a non-empty str of any length whose only whitespace is the plain space
    (``"song played"``), without control characters, bidirectional controls or lone
    surrogates, not starting with ``bitop_``.

    >>> validate_stored_event_name("song played")
    'song played'
    """
    name = _validate_common(name)
    bad = _FORBIDDEN_STORED.search(name)
    if bad:
        raise InvalidEventName(
            f"event name {_shown(name)} contains {bad.group()!r} at position {bad.start()}; "
            f"{_refused_kind(bad.group(), stored=True)} are not allowed"
        )
    return _check_prefix(name)


def _refused_kind(char: str, *, stored: bool = False) -> str:
    if "\ud800" <= char <= "\udfff":
        return "lone surrogates (half of a UTF-16 pair, not text)"
    if stored and re.fullmatch(f"[{_BIDI}]", char):
        return "bidirectional controls"
    if not stored and re.fullmatch(f"[{_INVISIBLE}]", char):
        return "bidirectional controls and zero-width characters"
    if stored:
        return "control characters and whitespace other than the space"
    return "whitespace and control characters"


def _validate_common(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidEventName(f"event name must be a str, got {name!r}")
    if not name:
        raise InvalidEventName("event name must not be empty")
    return name


def _check_prefix(name: str) -> str:
    if name.startswith(RESERVED_PREFIX):
        raise InvalidEventName(f"event name {_shown(name)} must not start with {RESERVED_PREFIX!r}")
    return name


def _shown(name: str) -> str:
    # A stored name may be any length: an error message shows the start of a long one.
    if len(name) <= MAX_EVENT_NAME_LENGTH:
        return repr(name)
    return f"{name[:40]!r}... ({len(name)} characters)"


def validate_user_id(user_id: object, max_user_id: int = DEFAULT_MAX_USER_ID) -> int:
    """Return ``user_id`` if it is an int in ``0..max_user_id``, else raise naming the value.

    An id above ``max_user_id`` (but one Redis could hold) is refused with a message naming
    ``BITMAPIST_MAX_USER_ID`` and ``BITMAPIST_MAP_IDS``: the two ways to accept it.
    """
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise InvalidUserIdType(
            f"user id must be an int, got {user_id!r} ({type(user_id).__name__})"
        )
    if 0 <= user_id <= max_user_id:
        return user_id
    if max_user_id < user_id <= REDIS_MAX_USER_ID:
        size = user_id // 8 + 1
        shown = f"{size / 2**20:,.1f} MiB" if size >= 2**20 else f"{size:,} bytes"
        raise InvalidUserId(
            f"user id {user_id!r} is out of range 0..{max_user_id} (BITMAPIST_MAX_USER_ID): "
            f"a bitmap is as long as its largest id, so it would take {shown} in "
            "every key a mark sets. Map sparse or large ids to dense ints with "
            "BITMAPIST_MAP_IDS = True, or raise BITMAPIST_MAX_USER_ID (at most "
            f"{REDIS_MAX_USER_ID}) if the memory is meant"
        )
    raise InvalidUserId(f"user id {user_id!r} is out of range 0..{max_user_id}")


@attrs.frozen(order=True, cache_hash=True)
class BitmapId:
    """One stored bitmap: an event in a stored period, or its lifetime flag (``period=None``)."""

    event: str
    period: Period | None

    @property
    def key_suffix(self) -> str:
        """bitmapist's suffix: the period's, or ``u`` for the lifetime flag."""
        return "u" if self.period is None else self.period.key_suffix


_MARKED_GROUPS = (TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY)


@attrs.frozen
class Mark:
    """One "user ``user_id`` did ``event`` at ``moment``": the unit of writing.

    Build marks with :meth:`create`, which validates; ``targets`` lists the bitmaps to set.
    ``retention`` says when each of them expires (:meth:`expiries`); a repository gives
    the keys it writes that expiry in the same call.
    """

    event: str
    user_id: int
    moment: datetime
    hourly: bool = False
    unique: bool = False
    retention: RetentionPolicy = NO_RETENTION

    @classmethod
    def create(
        cls,
        event: object,
        user_id: object,
        moment: datetime,
        *,
        hourly: bool = False,
        unique: bool = False,
        max_user_id: int = DEFAULT_MAX_USER_ID,
        zone: tzinfo | None = None,
        retention: RetentionPolicy = NO_RETENTION,
    ) -> Mark:
        """Validate the event name, the user id and the moment, then build the mark.

        The mark goes to the periods of ``zone``'s calendar, by default the zone
        ``moment`` carries (UTC for a naive one); its ``moment`` is kept in that zone.
        """
        return cls(
            validate_event_name(event),
            validate_user_id(user_id, max_user_id),
            localize(moment, zone),
            hourly,
            unique,
            retention,
        )

    def targets(self) -> tuple[BitmapId, ...]:
        """Month, week and day (and hour, and the lifetime flag, when asked) bitmaps."""
        groups: Iterable[TimeGroup] = _MARKED_GROUPS
        if self.hourly:
            groups = (*_MARKED_GROUPS, TimeGroup.HOUR)
        zone = self.moment.tzinfo or UTC
        ids = [BitmapId(self.event, Period.containing(g, self.moment, zone)) for g in groups]
        if self.unique:
            ids.append(BitmapId(self.event, None))
        return tuple(ids)

    def expiries(self) -> tuple[tuple[BitmapId, int | None], ...]:
        """Each target with its expiry under ``retention``, in milliseconds since the epoch
        (``PEXPIREAT``'s argument), or None when it is kept forever."""
        return tuple((target, self.retention.expiry_ms(target.period)) for target in self.targets())
