"""Redis storage in Doist bitmapist's key format and bit order.

Keys are ``{prefix}{event}_{suffix}`` (default prefix ``trackist_``) with bitmapist's
suffixes: month ``2026-11``, ISO week ``W2026-48``, day ``2026-11-27``, hour
``2026-11-27-13`` and the lifetime flag ``u``. Bit N of a key is user id N (Redis's SETBIT
order), so bitmapist and this repository read and write each other's data unchanged.

Writes use one ``BITFIELD key SET u1 <id> <0|1> ...`` command per key, all keys of a chunk
of marks sent together (one round trip, no MULTI). Measured on 200,000 marks through a
redis-py pipeline with hiredis: one SETBIT per bit marked 83,000 events/s, one BITFIELD per
key 373,000 (4.5x): the per-command cost in client and server is paid once per key instead
of once per bit, and its one array reply is parsed in one call. Packing the BITFIELDs with
numpy instead of redis-py (see ``_resp``) then took it past 500,000 events/s.

Properties and saved cohorts (DESIGN section 13) are kept beside the events, in keys that
start with ``{`` and end with ``}`` or ``]``. bitmapist's and this repository's listings of
``{prefix}*`` never see them, and no event key can equal one: an event key starts with the
prefix and ends with a period suffix or ``u``.

- ``{<prefix>properties}``: set, the names of the properties;
- ``{<prefix>property:<name>}``: set, the values of property ``<name>`` that hold users;
- ``{<prefix>property:<name>}[<value>]``: bitmap, the users whose ``<name>`` is ``<value>``;
- ``{<prefix>cohorts}``: set, the names of the saved cohorts;
- ``{<prefix>cohorts}[<name>]``: bitmap, the users saved as ``<name>``.

Property names hold no ``{`` or ``}``, so the braces are a Redis Cluster hash tag: a
property's values and bitmaps share one slot, and one script moves a user between values
atomically (the script reads the values' keys from the set, in that slot); the saved
cohorts share the slot of ``{<prefix>cohorts}``. (A key prefix that itself starts with
``}`` would leave the tag empty: not supported for segments on a cluster.)

The repository speaks in keyed commands; a transport (see
:mod:`~flask_bitmapist.infra.transports`) carries them to a single Redis or to a Redis
Cluster. On a cluster nothing relies on two keys living on one node: writes and reads go
out as one pipeline per node in one round (see :class:`~flask_bitmapist.infra.cluster.
ClusterRouter`, which also keeps a failing node from stalling the caller), reads fetch
each key on its own instead of MGET, and event names are scanned on every primary. A
cluster repository made from a URL connects on first use, not in ``from_url``: an app starts
while its cluster is down (calls raise :class:`StorageUnavailable` until it is up), as it
does with a single Redis, which redis-py reaches only when a command is sent.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Any, Final, TypeVar, overload
from zoneinfo import ZoneInfo

from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError, ResponseError

from flask_bitmapist.domain import (
    MARK_CHUNK_SIZE,
    REDIS_MAX_USER_ID,
    Bitmap,
    BitmapId,
    EventListing,
    Mark,
    validate_event_name,
    validate_stored_event_name,
    validate_user_id,
)
from flask_bitmapist.domain.events import RESERVED_PREFIX
from flask_bitmapist.domain.keys import month_label, parse_suffix
from flask_bitmapist.domain.repository import EventSearch, check_chunk_size, check_max_bytes, chunks
from flask_bitmapist.domain.segments import (
    PropertyAssignment,
    PropertyValue,
    SavedCohort,
    UserSetId,
)
from flask_bitmapist.infra._redis_common import RedisClient, storage_errors, validate_prefix
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.transports import Command, RedisTransport, transport_for
from flask_bitmapist.infra.urls import DEFAULT_TIMEOUT, redact_url, transport_from_url
from flask_bitmapist.infra.user_sets import UserSetStore

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "DEFAULT_TIMEOUT",
    "SET_PROPERTIES_SCRIPT",
    "UNMARK_SCRIPT",
    "RedisClient",
    "RedisRepository",
    "redact_url",
]

#: KEYS[1]: a bitmap; ARGV: the offsets to clear. Only bits inside the key are cleared
#: (SETBIT past the end would grow it, up to 512 MiB), so unmarking never grows a key nor
#: creates one; the length is read and the bits cleared in one atomic run.
UNMARK_SCRIPT: Final = """
local bits = redis.call('STRLEN', KEYS[1]) * 8
for i = 1, #ARGV do
  local offset = tonumber(ARGV[i])
  if offset < bits then
    redis.call('SETBIT', KEYS[1], offset, 0)
  end
end
return bits
"""

#: KEYS[1]: a property's set of values. ARGV[1]: the most values it may hold; ARGV[2]: the
#: head of its value keys (``{<prefix>property:<name>}[``); then (user id, value) pairs, an
#: empty value removing the property. Each user leaves every other value (one GETBIT per
#: value), then joins the new one; a new value past the cap is refused, and the user put
#: back where they were. A value left without users (BITPOS finds no set bit) is dropped
#: once at the end of the run, or when the cap needs room: checking after every move read
#: the bitmap from its start each time (2.5 GB for 200,000 moves). One run, so no other
#: writer sees a user in two values. Returns the positions (1, 2, ...) of the pairs
#: refused. The value keys are not in KEYS: they are read from the set, and share its hash
#: slot (the braces of the keys).
SET_PROPERTIES_SCRIPT: Final = """
local most = tonumber(ARGV[1])
local head = ARGV[2]
local values, count, dirty, refused = {}, 0, {}, {}
for _, v in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  values[v] = true
  count = count + 1
end
local function drop_empty()
  for v in pairs(dirty) do
    if values[v] and redis.call('BITPOS', head .. v .. ']', 1) == -1 then
      redis.call('DEL', head .. v .. ']')
      redis.call('SREM', KEYS[1], v)
      values[v] = nil
      count = count - 1
    end
  end
  dirty = {}
end
for i = 3, #ARGV, 2 do
  local uid = tonumber(ARGV[i])
  local value = ARGV[i + 1]
  local left = nil
  for other in pairs(values) do
    if other ~= value and redis.call('GETBIT', head .. other .. ']', uid) == 1 then
      redis.call('SETBIT', head .. other .. ']', uid, 0)
      left = other
      dirty[other] = true
    end
  end
  local new = value ~= '' and not values[value]
  if new and count >= most then
    drop_empty()
  end
  if new and count >= most then
    refused[#refused + 1] = (i - 1) / 2
    if left then
      redis.call('SETBIT', head .. left .. ']', uid, 1)
      if not values[left] then
        values[left] = true
        count = count + 1
        redis.call('SADD', KEYS[1], left)
      end
    end
  elseif value ~= '' then
    if new then
      values[value] = true
      count = count + 1
      redis.call('SADD', KEYS[1], value)
    end
    redis.call('SETBIT', head .. value .. ']', uid, 1)
  end
end
drop_empty()
return refused
"""
_SET_PROPERTIES_SHA: Final = hashlib.sha1(SET_PROPERTIES_SCRIPT.encode()).hexdigest()

#: KEYS: the cohorts' set of names, the cohort's bitmap; ARGV: its name, its bytes.
_SAVE_COHORT_SCRIPT: Final = """
redis.call('SET', KEYS[2], ARGV[2])
return redis.call('SADD', KEYS[1], ARGV[1])
"""
#: KEYS: the cohorts' set of names, the cohort's bitmap; ARGV: its name.
_DELETE_COHORT_SCRIPT: Final = """
redis.call('DEL', KEYS[2])
return redis.call('SREM', KEYS[1], ARGV[1])
"""
#: Assignments per script run: a run holds Redis for about (values of the property) bit
#: tests per assignment, so a few ms with a handful of values.
_PROPERTY_BATCH: Final = 1000

#: bitmapist's prefix: data written by bitmapist is found under it.
DEFAULT_KEY_PREFIX: Final = "trackist_"

# bitmapist's suffixes, unpadded: month, ISO week, day, hour, and the lifetime flag.
_SUFFIX: Final = re.compile(r"u|W\d+-\d+|\d+-\d+(?:-\d+(?:-\d+)?)?")
_GLOB_SPECIAL: Final = re.compile(r"([*?\[\]\\])")
# Targets are cached per (event, flags, UTC day, hour) so that a bulk mark of many events
# in few periods does the calendar math once per period; cleared when it grows this big.
_KEY_CACHE_LIMIT: Final = 4096
#: Seconds a key's expiry, once sent, is not sent again by this repository. An expiry is
#: absolute and the same for every mark of the key's period, so sending it with every
#: mark repeats the same command: on single marks that was 1.3x the cost of a mark
#: without a policy (three more commands and replies), against about 1.1x now. A key
#: someone else deletes meanwhile (FLUSHDB, DEL) regains its expiry within this time.
EXPIRY_RESEND_INTERVAL: Final = 60.0
# Keys the server looks at per SCAN of an event listing: a tenth of the round trips of
# COUNT 1000 (listing 900,000 keys took 2.5 s against 3.0 s on a loaded two-core
# machine), each reply still under a megabyte.
_LISTING_SCAN_COUNT: Final = 10_000

_T = TypeVar("_T")


def _texts(members: object) -> frozenset[str]:
    """The members of a set reply as text (a member that is not UTF-8 is left out: this
    package writes none)."""
    if not isinstance(members, (set, list, tuple)):
        return frozenset()
    texts = set()
    for member in members:
        try:
            texts.add(member.decode() if isinstance(member, bytes) else str(member))
        except UnicodeDecodeError:
            continue
    return frozenset(texts)


def _common_start(names: Iterable[str]) -> str:
    """The longest start every one of ``names`` shares (what a SCAN pattern may fix)."""
    first, last = min(names), max(names)
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]


def _newest_of_suffix(suffix: bytes) -> tuple[bool, datetime | None]:
    """Whether ``suffix`` is one of bitmapist's, and the local start of its period (None
    for the lifetime flag ``u`` and for periods no calendar holds, such as ``2026-13``)."""
    try:
        text = suffix.decode("ascii")
    except UnicodeDecodeError:
        return False, None
    if not _SUFFIX.fullmatch(text):
        return False, None
    if text == "u":
        return True, None
    try:
        if text.startswith("W"):
            year, week = (int(part) for part in text[1:].split("-"))
            monday = date.fromisocalendar(year, week, 1)
            return True, datetime(monday.year, monday.month, monday.day)
        parts = [int(part) for part in text.split("-")]
        # A month starts on its 1st, a day at 0h.
        year, month, day, hour = parts + [1, 0][len(parts) - 2 :]
        return True, datetime(year, month, day, hour)
    except (ValueError, OverflowError):
        return True, None


def _glob_ignoring_ascii_case(text: str) -> str:
    """A Redis glob matching ``text`` with ASCII letters in any case (``pai`` ->
    ``[pP][aA][iI]``) and glob characters escaped."""
    out = []
    for char in text:
        if char.isascii() and char.isalpha():
            out.append(f"[{char.lower()}{char.upper()}]")
        else:
            out.append(_GLOB_SPECIAL.sub(r"\\\1", char))
    return "".join(out)


#: The rank of a key that is no event's: below every event key's.
_NOT_AN_EVENT: Final = -2
#: The rank of an event key with no date (the lifetime flag ``u``, or ``2026-13``).
_UNDATED: Final = -1


class _SuffixRanks(dict[bytes, int]):
    """Each key suffix's rank, parsed on first use: a later period ranks higher (hours
    since year 1), an undated event key :data:`_UNDATED`, any other key
    :data:`_NOT_AN_EVENT`. ``moments`` maps each dated rank back to its period's start."""

    def __init__(self) -> None:
        super().__init__()
        self.moments: dict[int, datetime] = {}

    def __missing__(self, suffix: bytes) -> int:
        is_event, when = _newest_of_suffix(suffix)
        if not is_event:
            rank = _NOT_AN_EVENT
        elif when is None:
            rank = _UNDATED
        else:
            rank = when.toordinal() * 24 + when.hour
            self.moments[rank] = when
        self[suffix] = rank
        return rank


class _Newest(Sequence["datetime | None"]):
    """A listing's ``newest``, looked up when read: a page reads 50 of 300,000."""

    def __init__(
        self, heads: list[bytes], ranks: dict[bytes, int], moments: dict[int, datetime]
    ) -> None:
        self._heads, self._ranks, self._moments = heads, ranks, moments

    def __len__(self) -> int:
        return len(self._heads)

    @overload
    def __getitem__(self, index: int) -> datetime | None: ...

    @overload
    def __getitem__(self, index: slice) -> list[datetime | None]: ...

    def __getitem__(self, index: int | slice) -> datetime | list[datetime | None] | None:
        if isinstance(index, slice):
            return [self._moments.get(self._ranks[head]) for head in self._heads[index]]
        return self._moments.get(self._ranks[self._heads[index]])


def _stored_name(raw: bytes) -> str | None:
    """``raw`` as an event name that may be listed, or None."""
    try:
        name = raw.decode()
        return None if name.startswith(RESERVED_PREFIX) else validate_stored_event_name(name)
    except (UnicodeDecodeError, ValueError):
        return None


class RedisRepository(UserSetStore):
    """The repository port over redis-py, in bitmapist's key format (thread-safe).

    >>> repository = RedisRepository.from_url("redis://localhost:6379/0")  # doctest: +SKIP
    >>> repository.mark([Mark.create("user:paid", 42, now)])  # doctest: +SKIP

    ``client`` is a ``redis.Redis`` (or a ``RedisCluster``) that returns bytes, i.e. not
    built with ``decode_responses=True``, a function that makes a ``RedisCluster`` (it is
    called on first use, and again on the next call after it failed), or a transport. Connection
    failures and timeouts raise :class:`StorageUnavailable` from the driver's error.
    """

    prefix: str
    #: How commands reach the server: one Redis, or a Redis Cluster node by node.
    transport: RedisTransport

    def __init__(
        self,
        client: RedisClient | Callable[[], RedisCluster] | RedisTransport,
        *,
        prefix: str = DEFAULT_KEY_PREFIX,
        chunk_size: int = MARK_CHUNK_SIZE,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        """Use ``client``; keys are ``{prefix}{event}_{suffix}``; bulk marks go ``chunk_size``
        marks per round trip; ``breaker`` skips the store after failures (default: a
        :class:`~flask_bitmapist.infra.breaker.CircuitBreaker` with its defaults; a
        transport given as ``client`` keeps its own)."""
        self.chunk_size = check_chunk_size(chunk_size)
        self.prefix = validate_prefix(prefix)
        self.transport = transport_for(client, breaker=breaker)
        self._key_cache: dict[Hashable, tuple[tuple[str, int | None], ...]] = {}
        # key -> (expiry sent, monotonic time it was sent): see EXPIRY_RESEND_INTERVAL.
        self._expiries_sent: dict[str, tuple[int, float]] = {}

    @property
    def server(self) -> str:
        """Where the repository's keys are, for messages (never a password)."""
        return self.transport.server

    @property
    def breaker(self) -> CircuitBreaker:
        """Skips the store for a short, growing interval after a failure (shared with the
        id map on the same transport)."""
        return self.transport.breaker

    @property
    def is_cluster(self) -> bool:
        """True on a Redis Cluster."""
        return self.transport.is_cluster

    @property
    def client(self) -> RedisClient:
        """The redis-py client; a cluster's is made now if it was not yet
        (:class:`StorageUnavailable` while none of its nodes answers)."""
        # Not through the breaker: naming the client sends nothing to a single Redis.
        with storage_errors(self.server, "connecting"):
            return self.transport.client

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_KEY_PREFIX,
        cluster: bool = False,
        socket_timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_TIMEOUT,
        breaker: CircuitBreaker | None = None,
    ) -> RedisRepository:
        """Connect to ``url``: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://``
        (TLS), ``unix://[[user]:password@]/path/to/socket[?db=N]``.

        With ``cluster=True`` the URL names a node of a Redis Cluster (redis:// or
        rediss://), or several separated by commas, tried in turn until one answers:
        ``redis://:secret@node-1:6379,node-2:6379,node-3:6379``. The other nodes are
        discovered from the first that answers, so one of those named must be up. Nothing
        is sent before the first call (as with a single Redis): until a named node
        answers, calls raise :class:`StorageUnavailable`, and each one tries again.
        (The URL is read by :func:`~flask_bitmapist.infra.urls.transport_from_url`.)
        """
        transport = transport_from_url(
            url,
            cluster=cluster,
            socket_timeout=socket_timeout,
            connect_timeout=connect_timeout,
            breaker=breaker,
        )
        return cls(transport, prefix=prefix)

    # -- keys -----------------------------------------------------------------------

    def key(self, bitmap_id: BitmapId) -> str:
        """The Redis key of ``bitmap_id``, e.g. ``trackist_user:paid_2026-11-27``."""
        return f"{self.prefix}{bitmap_id.event}_{bitmap_id.key_suffix}"

    @property
    def properties_key(self) -> str:
        """The set of property names, ``{trackist_properties}``."""
        return "{" + self.prefix + "properties}"

    def property_key(self, name: str) -> str:
        """The set of the values of property ``name``, ``{trackist_property:plan}``."""
        return "{" + self.prefix + "property:" + name + "}"

    @property
    def cohorts_key(self) -> str:
        """The set of saved cohort names, ``{trackist_cohorts}``."""
        return "{" + self.prefix + "cohorts}"

    def user_set_key(self, user_set: UserSetId) -> str:
        """The bitmap of a property value (``{trackist_property:plan}[pro]``) or a saved
        cohort (``{trackist_cohorts}[beta_testers]``)."""
        if isinstance(user_set, PropertyValue):
            return f"{self.property_key(user_set.name)}[{user_set.value}]"
        if isinstance(user_set, SavedCohort):
            return f"{self.cohorts_key}[{user_set.name}]"
        raise TypeError(f"expected a PropertyValue or a SavedCohort, got {user_set!r}")

    def _keys_of(self, group: Hashable, mark: Mark) -> tuple[tuple[str, int | None], ...]:
        """The keys a mark of ``group`` sets, each with its expiry (ms, or None)."""
        keys = self._key_cache.get(group)
        if keys is None:
            validate_event_name(mark.event)
            keys = tuple((self.key(target), at) for target, at in mark.expiries())
            if len(self._key_cache) >= _KEY_CACHE_LIMIT:
                self._key_cache.clear()
            self._key_cache[group] = keys
        return keys

    # -- writing --------------------------------------------------------------------

    def mark(self, marks: Iterable[Mark]) -> None:
        """Set the marks' bits: one round trip per ``chunk_size`` marks.

        Each chunk is validated in full before it is written, so a bad item (not a Mark,
        a bad user id) fails before its chunk writes anything. Keys whose marks carry a
        retention policy get their expiry (``PEXPIREAT``, an absolute time) in the same
        round trip as their bits.
        """
        for chunk in chunks(marks, self.chunk_size):
            expiries: dict[str, int] = {}
            by_key = self._offsets_by_key(chunk, expiries)
            due = self._expiries_due(expiries) if expiries else expiries
            self._write(by_key, 1, due)
            if due:
                self._expiries_written(due)

    def _expiries_due(self, expiries: dict[str, int]) -> dict[str, int]:
        """The expiries not sent in the last ``EXPIRY_RESEND_INTERVAL`` seconds (one in the
        past, or within that interval, is always sent: its key must go at once)."""
        sent = self._expiries_sent
        monotonic = time.monotonic()
        soon = (time.time() + EXPIRY_RESEND_INTERVAL) * 1000
        return {
            key: at
            for key, at in expiries.items()
            if at <= soon
            or (last := sent.get(key)) is None
            or last[0] != at
            or monotonic - last[1] >= EXPIRY_RESEND_INTERVAL
        }

    def _expiries_written(self, expiries: dict[str, int]) -> None:
        if len(self._expiries_sent) + len(expiries) > _KEY_CACHE_LIMIT:
            self._expiries_sent = {}
        monotonic = time.monotonic()
        self._expiries_sent.update((key, (at, monotonic)) for key, at in expiries.items())

    def unmark(self, marks: Iterable[Mark]) -> None:
        """Clear the marks' bits, one round trip per chunk. A bitmap never grows: a bit past
        its end is clear already, and a bitmap that does not exist is not created.

        ``BITFIELD SET`` past the end would grow the key (unmarking id 2**32 - 1 made an
        80-byte key 512 MiB), so each key's bits are cleared by a script that checks the
        key's length first, atomically: one EVAL per key, all in one pipeline.
        """
        for chunk in chunks(marks, self.chunk_size):
            by_key = self._offsets_by_key(chunk)
            if not by_key:
                continue
            commands: list[tuple[str, Command]] = [
                (key, ("EVAL", UNMARK_SCRIPT, 1, key, *offsets)) for key, offsets in by_key.items()
            ]
            with self._unavailable_as_storage_error("unmarking"):
                self.transport.keyed_pipeline(commands)

    def _offsets_by_key(
        self, chunk: list[Mark], expiries: dict[str, int] | None = None
    ) -> dict[str, list[int]]:
        """Group a chunk's user ids by the keys they go to, validating every item; the
        keys that expire go into ``expiries`` with their expiry (ms)."""
        by_group: dict[Hashable, list[int]] = {}
        first: dict[Hashable, Mark] = {}
        for mark in chunk:
            if not isinstance(mark, Mark):
                raise TypeError(f"expected a Mark, got {mark!r} ({type(mark).__name__})")
            user_id = mark.user_id
            if type(user_id) is not int:
                validate_user_id(user_id, REDIS_MAX_USER_ID)
            moment = mark.moment
            group: Hashable
            zone = moment.tzinfo
            if zone is timezone.utc or isinstance(zone, ZoneInfo):
                # Same zone, local date and hour, and offset: the same periods, so the same
                # keys (the offset tells the two passes of a repeated hour apart).
                hour = moment.hour if mark.hourly else 0
                offset = moment.utcoffset()
                group = (
                    mark.event,
                    mark.hourly,
                    mark.unique,
                    mark.retention,
                    zone,
                    offset,
                    moment.toordinal(),
                    hour,
                )
            else:
                # Marks built by Mark.create are in a zone; others take the slower exact path.
                group = (mark.event, mark.hourly, mark.unique, mark.retention, moment)
            ids = by_group.get(group)
            if ids is None:
                by_group[group] = ids = []
                first[group] = mark
            ids.append(user_id)
        by_key: dict[str, list[int]] = {}
        for group, ids in by_group.items():
            low, high = min(ids), max(ids)
            if low < 0 or high > REDIS_MAX_USER_ID:
                validate_user_id(low if low < 0 else high, REDIS_MAX_USER_ID)
            for key, expire_at in self._keys_of(group, first[group]):
                if expire_at is not None and expiries is not None:
                    # Marks of one period under two policies: the later expiry wins.
                    expiries[key] = max(expire_at, expiries.get(key, expire_at))
                if key in by_key:
                    by_key[key].extend(ids)
                else:
                    by_key[key] = list(ids)
        return by_key

    def _write(
        self,
        offsets_by_key: dict[str, list[int]],
        value: int,
        expiries: dict[str, int] | None = None,
    ) -> None:
        """One ``BITFIELD key SET u1 <id> <value> ...`` per key, and one ``PEXPIREAT``
        per key in ``expiries``, all in one round trip."""
        if not offsets_by_key:
            return
        action = "marking" if value else "unmarking"
        offsets = list(offsets_by_key.values())
        expire_at = [expiries.get(key) for key in offsets_by_key] if expiries else []
        with self._unavailable_as_storage_error(action):
            keys = [self.transport.encode(key) for key in offsets_by_key]
            self.transport.write_bitfields(keys, offsets, value, expire_at)

    # -- reading --------------------------------------------------------------------

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        """The bitmaps of ``ids`` in one round trip (MGET; one GET per key on a cluster);
        missing keys are empty sets. With ``max_bytes``, one ``GETRANGE key 0
        max_bytes-1`` per key instead, in one pipeline: Redis sends no more than that.

        A key of another type under the prefix (a hash named like an event) reads as the
        empty set, as MGET already treats it.
        """
        end = check_max_bytes(max_bytes)
        return self._read_bitmaps([self.key(bitmap_id) for bitmap_id in ids], end)

    def _read_bitmaps(self, keys: list[str], end: int | None) -> list[Bitmap]:
        if not keys:
            return []
        if end == 0:
            return [Bitmap() for _ in keys]
        values: list[bytes | None]
        if end is not None:
            values = self._read_each([("GETRANGE", key, 0, end - 1) for key in keys])
        elif self.is_cluster:
            values = self._read_each([("GET", key) for key in keys])
        else:
            values = self._call(lambda: self.transport.get_many(keys), "reading")
        # Each reply is dropped as soon as it is converted, so that the next conversion's
        # copy (padding to whole words) reuses memory already paged in: 10 ms instead of
        # 90 ms for 120 bitmaps of 10,000,000 users.
        bitmaps = []
        for index in range(len(values)):
            value, values[index] = values[index], None
            bitmaps.append(Bitmap.from_redis_bytes(value))
        return bitmaps

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        """How many bytes each key holds: one STRLEN per key, in one round trip (another
        type under the prefix counts as 0)."""
        if not ids:
            return []
        keys = [self.key(bitmap_id) for bitmap_id in ids]
        replies = self._read_each([("STRLEN", key) for key in keys])
        return [reply if isinstance(reply, int) else 0 for reply in replies]

    def count(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[int]:
        """Counted on the server: one ``BITCOUNT key 0 max_bytes-1`` per key (``BITCOUNT
        key`` without ``max_bytes``), in one round trip; what it reads of a 512 MiB key
        another writer made stops at ``max_bytes``. Another type under the prefix counts 0."""
        return self._count_keys(
            [self.key(bitmap_id) for bitmap_id in ids], check_max_bytes(max_bytes)
        )

    def _count_keys(self, keys: list[str], end: int | None) -> list[int]:
        if not keys:
            return []
        if end == 0:
            return [0] * len(keys)
        commands: list[Command] = [
            ("BITCOUNT", key) if end is None else ("BITCOUNT", key, 0, end - 1) for key in keys
        ]
        replies = self._read_each(commands, "counting")
        return [reply if isinstance(reply, int) else 0 for reply in replies]

    def _read_each(self, commands: list[Command], action: str = "reading") -> list[Any]:
        """One pipeline of reads; a WRONGTYPE reply (a key of another type) is None, any
        other error reply :class:`StorageUnavailable` (through ``storage_errors``)."""
        with self._unavailable_as_storage_error(action):
            replies = self.transport.pipeline(commands, raise_on_error=False)
            for index, reply in enumerate(replies):
                if isinstance(reply, ResponseError):
                    if not str(reply).startswith("WRONGTYPE"):
                        raise reply
                    replies[index] = None
            return replies

    def event_names(self) -> frozenset[str]:
        """Events with at least one user in a stored bitmap; keys are found by SCAN (never
        KEYS).

        bitmapist's temporary ``bitop_`` keys and keys not in the ``{event}_{suffix}``
        format are left out; event names may themselves contain underscores, and spaces
        (:func:`~flask_bitmapist.domain.validate_stored_event_name`: bitmapist writes any
        name). An event whose bitmaps were all emptied by unmarking is left out too:
        ``BITPOS key 1`` (which stops at the first user, where BITCOUNT would read a 512 MiB
        key whole) checks one key per event first (nearly always enough), then twice as many
        of an event's keys per round until one has a user or none is left.
        """

        def scan() -> dict[str, list[bytes | str]]:
            pattern = _GLOB_SPECIAL.sub(r"\\\1", self.prefix) + "*"
            keys: dict[str, list[bytes | str]] = {}
            for raw in self._scan(pattern):
                name = self._event_of(raw)
                if name is not None:
                    keys.setdefault(name, []).append(raw)
            return keys

        undecided = self._call(scan, "listing events")
        names: set[str] = set()
        batch = 1
        while undecided:
            checks = [(name, key) for name, keys in undecided.items() for key in keys[:batch]]
            # A key of another type under the prefix (a hash, a list...) is no bitmap: its
            # WRONGTYPE reply counts as no users rather than failing the whole listing.
            firsts = self._read_each([("BITPOS", key, 1) for _, key in checks], "listing events")
            names.update(
                name
                for (name, _), first in zip(checks, firsts, strict=True)
                if isinstance(first, int) and first >= 0
            )
            undecided = {
                name: keys[batch:]
                for name, keys in undecided.items()
                if name not in names and len(keys) > batch
            }
            batch *= 2
        return frozenset(names)

    def search_events(self, search: EventSearch) -> EventListing:
        """One SCAN pass (on every primary of a cluster) that notes each event's newest
        period, stopping after ``max_keys`` keys or ``max_seconds``.

        ``containing`` goes to the server in the pattern (``trackist_*[pP][aA][iI]*_*``),
        so a search sends back only the keys that may match; the names are checked here as
        :meth:`event_names` checks them. Nothing is counted: an emptied event is listed.
        """
        containing, max_keys, max_seconds = search.containing, search.max_keys, search.max_seconds
        head = _GLOB_SPECIAL.sub(r"\\\1", self.prefix) + "*"
        pattern = head + (f"{_glob_ignoring_ascii_case(containing)}*_*" if containing else "")

        def scan() -> tuple[dict[bytes, int], _SuffixRanks, bool, int]:
            deadline = None if max_seconds is None else time.monotonic() + max_seconds
            ranks = _SuffixRanks()
            newest: dict[bytes, int] = {}
            known = newest.get
            read = 0
            # The hot loop of a big keyspace: each distinct suffix (a date: few) is parsed
            # once into an int rank, so a key costs a split, two lookups and a comparison.
            for keys, more in self.transport.scan_batches(pattern, count=_LISTING_SCAN_COUNT):
                read += len(keys)
                for key in keys:
                    key_head, _, suffix = key.rpartition(b"_")
                    rank = ranks[suffix]
                    if rank > known(key_head, _NOT_AN_EVENT):
                        newest[key_head] = rank
                if more and (
                    (max_keys is not None and read >= max_keys)
                    or (deadline is not None and time.monotonic() >= deadline)
                ):
                    return newest, ranks, False, read
            return newest, ranks, True, read

        by_head, ranks, complete, read = self._call(scan, "listing events")
        heads = self._ordered_heads(by_head)
        skip = len(self.transport.encode(self.prefix))
        names = self._valid_names([head[skip:] for head in heads])
        if names is None:  # some name is refused: the slow way, one name at a time
            checked = [(head, _stored_name(head[skip:])) for head in heads]
            valid = [(head, name) for head, name in checked if name is not None]
            heads, names = [head for head, _ in valid], [name for _, name in valid]
        if containing:
            kept = [
                (head, name)
                for head, name in zip(heads, names, strict=True)
                if search.matches(name)
            ]
            heads, names = [head for head, _ in kept], [name for _, name in kept]
        return EventListing(
            names, _Newest(heads, by_head, ranks.moments), complete=complete, keys_read=read
        )

    @staticmethod
    def _ordered_heads(by_head: dict[bytes, int]) -> list[bytes]:
        """The heads ``{prefix}{event}``, the highest rank first, then by name.

        Sorted as bytes, which is sorting the names (UTF-8 keeps code point order, and
        every head starts with the prefix), then by rank with a stable sort: two C-level
        sorts, 0.2 s for 300,000 names where one sort on (date, name) takes several times
        that."""
        heads = sorted(by_head)
        heads.sort(key=by_head.__getitem__, reverse=True)
        return heads

    @staticmethod
    def _valid_names(raw: list[bytes]) -> list[str] | None:
        """``raw`` decoded when every name may be listed (the usual case), checked all at
        once: one decode, one split and one pattern search over them all, instead of one
        check per name (300,000 names one by one take 0.5 s). None when one is refused."""
        if not raw:
            return []
        try:
            text = b"\n".join(raw).decode()
        except UnicodeDecodeError:
            return None
        names = text.split("\n")
        if len(names) != len(raw) or "" in names or f"\n{RESERVED_PREFIX}" in f"\n{text}":
            return None
        try:
            validate_stored_event_name("".join(names))
        except ValueError:
            return None
        return names

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        """Each event's month keys, by their labels, found by one SCAN (never KEYS) for
        every event: one pass over the keyspace (on every primary of a cluster), however
        many events an answer ORs together.

        The server filters the keys by the pattern ``{prefix}{common}*_[0-9]*`` (``common``
        the longest start the events' names share; the event's own name when there is one):
        week keys, lifetime flags and other prefixes never reach the client. The rest (a
        month and not a day or an hour; one of the events, not another whose name extends
        it) is checked here, key by key as they arrive, keeping only the months found: what
        the listing holds is bounded by the events' months, not by the keyspace. A SCAN
        walks the whole keyspace, so this costs about one round trip per 1,000 keys in the
        database, once per call.
        """
        found: dict[str, set[date]] = {event: set() for event in events}
        if not found:
            return {}
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.prefix + _common_start(found))
        pattern += "_[0-9]*" if len(found) == 1 else "*_[0-9]*"
        start = len(self.prefix)

        def scan() -> dict[str, frozenset[date]]:
            for raw in self._scan(pattern):
                try:
                    key = raw.decode() if isinstance(raw, bytes) else raw
                except UnicodeDecodeError:
                    continue
                # Suffixes hold no "_": the last one ends the event's name.
                event, _, suffix = key[start:].rpartition("_")
                months = found.get(event)
                if months is not None and key.startswith(self.prefix):
                    month = month_label(suffix)
                    if month is not None:
                        months.add(month)
            return {event: frozenset(months) for event, months in found.items()}

        return self._call(scan, "listing months")

    def stored_ids(self) -> list[BitmapId]:
        """Every bitmap under the prefix, found by SCAN (never KEYS), sorted; keys not in
        the ``{event}_{suffix}`` format and bitmapist's ``bitop_`` keys are left out."""

        def scan() -> list[BitmapId]:
            pattern = _GLOB_SPECIAL.sub(r"\\\1", self.prefix) + "*"
            found = set()
            for raw in self._scan(pattern):
                event = self._event_of(raw)
                if event is None:
                    continue
                key = raw.decode() if isinstance(raw, bytes) else raw
                suffix = key[len(self.prefix) + len(event) + 1 :]
                bitmap_id = parse_suffix(event, suffix)
                # Only a key spelled as this package spells it is read by its id.
                if bitmap_id is not None and bitmap_id.key_suffix == suffix:
                    found.add(bitmap_id)
            return sorted(found, key=lambda i: (i.event, i.key_suffix))

        return self._call(scan, "listing bitmaps")

    def merge(self, bitmaps: Iterable[tuple[BitmapId, Bitmap]]) -> None:
        """Set each bitmap's users' bits in its key, ``chunk_size`` ids per round trip
        (BITFIELD, as marks are written: concurrent marks are never lost)."""
        for bitmap_id, bitmap in bitmaps:
            if bitmap_id.period is not None and not bitmap_id.period.group.is_stored:
                raise ValueError(f"{bitmap_id.period} is not stored: merge its months")
            key = self.key(bitmap_id)
            users = list(bitmap)
            for start in range(0, len(users), self.chunk_size):
                self._write({key: users[start : start + self.chunk_size]}, 1)

    def _scan(self, pattern: str) -> Iterator[bytes | str]:
        """Every key matching ``pattern``: SCAN on the server, or on every cluster primary."""
        return self.transport.scan(pattern)

    def _event_of(self, raw: bytes | str) -> str | None:
        try:
            key = raw.decode() if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            return None
        if not key.startswith(self.prefix):
            return None
        event, _, suffix = key[len(self.prefix) :].rpartition("_")
        if not event or event.startswith(RESERVED_PREFIX) or not _SUFFIX.fullmatch(suffix):
            return None
        try:
            # Other bitmapist clients write names we would not ("song played"): list them.
            return validate_stored_event_name(event)
        except ValueError:
            return None

    # -- segments -------------------------------------------------------------------

    def _property_chunk(self) -> int:
        return _PROPERTY_BATCH

    def _assign_properties(self, work: list[PropertyAssignment], max_values: int) -> list[int]:
        """One round trip per chunk: the property names added to their set, then one
        script run per property (:data:`SET_PROPERTIES_SCRIPT`), each atomic."""
        by_name: dict[str, list[int]] = {}
        for position, item in enumerate(work):
            by_name.setdefault(item.name, []).append(position)
        commands: list[tuple[str, Command]] = [
            (self.properties_key, ("SADD", self.properties_key, *by_name))
        ]
        for name, positions in by_name.items():
            key = self.property_key(name)
            pairs = [part for p in positions for part in (work[p].user_id, work[p].value or "")]
            commands.append(
                (key, ("EVALSHA", _SET_PROPERTIES_SHA, 1, key, max_values, key + "[", *pairs))
            )
        replies = self._run_scripts(commands, SET_PROPERTIES_SCRIPT, "setting properties")
        return [
            positions[int(n) - 1]
            for positions, reply in zip(by_name.values(), replies[1:], strict=True)
            for n in reply
        ]

    def _run_scripts(
        self, commands: list[tuple[str, Command]], script: str, action: str
    ) -> list[Any]:
        """Send ``commands`` (EVALSHAs of ``script`` among others) in one round trip; those
        a server did not have the script for are sent again as EVAL (which caches it)."""
        with self._unavailable_as_storage_error(action):
            replies = self.transport.keyed_pipeline(commands, raise_on_error=False)
            missing = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
            if missing:
                again = [(commands[i][0], ("EVAL", script, *commands[i][1][2:])) for i in missing]
                for i, reply in zip(missing, self.transport.keyed_pipeline(again), strict=True):
                    replies[i] = reply
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
            return replies

    def property_values(self) -> dict[str, frozenset[str]]:
        """Two round trips: the names, then every property's values."""

        def read() -> dict[str, frozenset[str]]:
            names = _texts(
                self.transport.execute(self.properties_key, ("SMEMBERS", self.properties_key))
            )
            ordered = sorted(names)
            replies = self.transport.keyed_pipeline(
                [(self.property_key(n), ("SMEMBERS", self.property_key(n))) for n in ordered]
            )
            found = {name: _texts(reply) for name, reply in zip(ordered, replies, strict=True)}
            return {name: values for name, values in found.items() if values}

        return self._call(read, "listing properties")

    def _save_cohort(self, name: str, users: Bitmap) -> None:
        """One script run: the bitmap written and its name listed together."""
        key = self.user_set_key(SavedCohort(name))
        command = (
            "EVAL",
            _SAVE_COHORT_SCRIPT,
            2,
            self.cohorts_key,
            key,
            name,
            users.to_redis_bytes(),
        )
        self._call(lambda: self.transport.execute(self.cohorts_key, command), "saving a cohort")

    def delete_cohort(self, name: str) -> bool:
        """One script run: the bitmap deleted and its name unlisted together."""
        key = self.user_set_key(SavedCohort(name))
        command = ("EVAL", _DELETE_COHORT_SCRIPT, 2, self.cohorts_key, key, name)
        removed = self._call(
            lambda: self.transport.execute(self.cohorts_key, command), "deleting a cohort"
        )
        return bool(removed)

    def cohort_names(self) -> frozenset[str]:
        """One SMEMBERS."""
        reply = self._call(
            lambda: self.transport.execute(self.cohorts_key, ("SMEMBERS", self.cohorts_key)),
            "listing saved cohorts",
        )
        return _texts(reply)

    def _fetch_user_sets(self, ids: list[UserSetId], end: int | None) -> list[Bitmap]:
        """As :meth:`fetch`: one MGET (one GET per key on a cluster), or one GETRANGE per
        key with ``max_bytes``, in one round trip."""
        return self._read_bitmaps([self.user_set_key(item) for item in ids], end)

    def _count_user_sets(self, ids: list[UserSetId], end: int | None) -> list[int]:
        """As :meth:`count`: one ``BITCOUNT`` per key, in one round trip."""
        return self._count_keys([self.user_set_key(item) for item in ids], end)

    # -- talking to Redis -----------------------------------------------------------

    @contextmanager
    def _unavailable_as_storage_error(self, action: str) -> Iterator[None]:
        with self.transport.guarded(action):
            yield

    def _call(self, command: Callable[[], _T], action: str) -> _T:
        with self._unavailable_as_storage_error(action):
            return command()

    def _pipeline(
        self,
        commands: Iterable[Command],
        action: str,
        *,
        raise_on_error: bool = True,
    ) -> list[Any]:
        """Send ``commands`` in one pipeline (no MULTI): one round trip, their replies.

        Each command's second argument is its key (on a cluster, it picks the node). With
        ``raise_on_error=False`` a command the server refuses gives its error as its reply.
        """
        with self._unavailable_as_storage_error(action):
            return self.transport.pipeline(list(commands), raise_on_error=raise_on_error)

    def close(self) -> None:
        """Close the client's connections (for app teardown; the next call reconnects).

        On a cluster every node's pool is closed (see :meth:`ClusterRouter.close`).
        """
        self.transport.close()

    def __repr__(self) -> str:
        return f"RedisRepository({self.server}, prefix={self.prefix!r})"
