"""Id maps: the app's str/UUID user ids <-> dense bitmap ints, in Redis or in memory
(the SQLite store's is in :mod:`~flask_bitmapist.infra.sqlite_id_map`).

In Redis the map is three keys sharing one hash tag, so that on a Redis Cluster they live
in one slot and one Lua script can update them together:

- ``{<prefix>ids}:int`` — hash, id text -> int (the forward map);
- ``{<prefix>ids}:id`` — hash, int -> stored id (type tag + text, the reverse map);
- ``{<prefix>ids}:next`` — the next int to hand out.

A new id gets its int inside one script run: Redis runs scripts one at a time, so two
processes mapping the same new id at once both get the int of whichever ran first, and
ints are dense (0, 1, 2, ...) with no gaps. The keys start with ``{``, so bitmapist's and
the repository's scans of ``<prefix>*`` never see them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any, Final

import redis

from flask_bitmapist.domain import (
    DEFAULT_MAX_USER_ID,
    BitmapRepository,
    InvalidStorageConfig,
)
from flask_bitmapist.domain.ids import (
    ExternalId,
    IdMapper,
    decode_external_id,
    encode_external_id,
    external_id_text,
    map_full,
)
from flask_bitmapist.domain.repository import chunks
from flask_bitmapist.infra._redis_common import RedisClient, validate_prefix
from flask_bitmapist.infra.cluster import ClusterRouter
from flask_bitmapist.infra.memory import InMemoryRepository
from flask_bitmapist.infra.redis_repository import DEFAULT_KEY_PREFIX, RedisRepository
from flask_bitmapist.infra.sqlite_id_map import SqliteIdMapper
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from flask_bitmapist.infra.transports import RedisTransport, transport_for

__all__ = [
    "ASSIGN_SCRIPT",
    "DEFAULT_BATCH_SIZE",
    "InMemoryIdMapper",
    "RedisIdMapper",
    "id_mapper_for",
]

#: Ids sent per script run or HMGET: bounds how long one run holds Redis (a few ms).
DEFAULT_BATCH_SIZE: Final = 5_000

#: KEYS: forward hash, reverse hash, counter. ARGV: the largest int allowed, then
#: (id text, stored id) pairs. Returns the ints in order.
ASSIGN_SCRIPT: Final = """
local limit = tonumber(ARGV[1])
local ints = {}
for i = 2, #ARGV, 2 do
  local n = redis.call('HGET', KEYS[1], ARGV[i])
  if not n then
    n = redis.call('INCR', KEYS[3]) - 1
    if n > limit then
      redis.call('DECR', KEYS[3])
      return redis.error_reply('ERR id map full: no int left above ' .. limit)
    end
    redis.call('HSET', KEYS[1], ARGV[i], n)
    redis.call('HSET', KEYS[2], n, ARGV[i + 1])
  end
  ints[#ints + 1] = tonumber(n)
end
return ints
"""
_ASSIGN_SHA: Final = hashlib.sha1(ASSIGN_SCRIPT.encode()).hexdigest()


class RedisIdMapper(IdMapper):
    """The id map in Redis or a Redis Cluster (see the module doc for the keys)."""

    def __init__(
        self,
        client: RedisClient | ClusterRouter | RedisTransport,
        *,
        prefix: str = DEFAULT_KEY_PREFIX,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_int: int = DEFAULT_MAX_USER_ID,
    ) -> None:
        """Keep the map of ``client`` (or of a transport or cluster router, shared with its
        other users) under ``{<prefix>ids}:...``."""
        self.prefix = validate_prefix(prefix)
        tag = "{" + self.prefix + "ids}"
        self.forward_key = f"{tag}:int"
        self.reverse_key = f"{tag}:id"
        self.counter_key = f"{tag}:next"
        self.batch_size = batch_size
        self.max_int = max_int
        self.transport = transport_for(client)

    @property
    def server(self) -> str:
        """Where the map is, for messages (never a password)."""
        return self.transport.server

    @classmethod
    def of(
        cls, repository: RedisRepository, *, max_int: int = DEFAULT_MAX_USER_ID
    ) -> RedisIdMapper:
        """The map beside ``repository``'s bitmaps: same transport, same prefix, ints up
        to ``max_int``.

        On a cluster the repository's router is shared, so the map connects when the
        repository does (on first use).
        """
        return cls(repository.transport, prefix=repository.prefix, max_int=max_int)

    # -- the port ------------------------------------------------------------------------

    def assign(self, user_ids: Sequence[ExternalId]) -> list[int]:
        """The ints of ``user_ids``; new ids get the next ints, atomically (one script run
        per batch). Every id is checked before anything is written."""
        pairs = [(external_id_text(uid), encode_external_id(uid)) for uid in user_ids]
        ints: list[int] = []
        for batch in chunks(pairs, self.batch_size):
            args = [str(self.max_int), *(part for pair in batch for part in pair)]
            ints += [int(n) for n in self._script(args)]
        return ints

    def find(self, user_ids: Sequence[ExternalId]) -> list[int | None]:
        """The ints of ids already mapped; None for the others."""
        texts = [external_id_text(uid) for uid in user_ids]
        found: list[int | None] = []
        for batch in chunks(texts, self.batch_size):
            replies = self._execute(self.forward_key, ("HMGET", self.forward_key, *batch))
            found += [None if value is None else int(value) for value in replies]
        return found

    def originals(self, ints: Sequence[int]) -> list[ExternalId | None]:
        """The ids the ints were given to; None for an int the map never gave out."""
        originals: list[ExternalId | None] = []
        for batch in chunks(ints, self.batch_size):
            replies = self._execute(self.reverse_key, ("HMGET", self.reverse_key, *batch))
            originals += [
                None if value is None else decode_external_id(value.decode()) for value in replies
            ]
        return originals

    def count(self) -> int:
        """How many ids are mapped."""
        value = self._execute(self.counter_key, ("GET", self.counter_key))
        return 0 if value is None else int(value)

    # -- talking to Redis -----------------------------------------------------------------

    def _script(self, args: list[str]) -> list[Any]:
        keys = (self.forward_key, self.reverse_key, self.counter_key)
        try:
            return list(self._execute(keys[0], ("EVALSHA", _ASSIGN_SHA, 3, *keys, *args)))
        except redis.exceptions.NoScriptError:
            # First run on this server (or after SCRIPT FLUSH): EVAL caches the script.
            return list(self._execute(keys[0], ("EVAL", ASSIGN_SCRIPT, 3, *keys, *args)))

    def _execute(self, key: str, command: Sequence[str | int]) -> Any:
        with self.transport.guarded("mapping ids"):
            try:
                return self.transport.execute(key, command)
            except redis.exceptions.ResponseError as exc:
                # The script's own refusal is no storage fault: the map is full.
                if "id map full" in str(exc):
                    raise map_full(self.max_int) from exc
                raise

    def __repr__(self) -> str:
        return f"RedisIdMapper({self.server}, keys={self.forward_key!r}...)"


class InMemoryIdMapper(IdMapper):
    """The id map in this process, behind one lock (tests, the demo, ``memory://``)."""

    def __init__(self, *, max_int: int = DEFAULT_MAX_USER_ID) -> None:
        """An empty map."""
        self.max_int = max_int
        self._ints: dict[str, int] = {}
        self._originals: list[ExternalId] = []
        self._lock = threading.Lock()

    def assign(self, user_ids: Sequence[ExternalId]) -> list[int]:
        """The ints of ``user_ids``; new ids get the next ints."""
        texts = [external_id_text(uid) for uid in user_ids]
        ints: list[int] = []
        with self._lock:
            for text, user_id in zip(texts, user_ids, strict=True):
                number = self._ints.get(text)
                if number is None:
                    number = len(self._originals)
                    if number > self.max_int:
                        raise map_full(self.max_int)
                    self._ints[text] = number
                    # Kept as the type first seen, as the Redis map does.
                    self._originals.append(decode_external_id(encode_external_id(user_id)))
                ints.append(number)
        return ints

    def find(self, user_ids: Sequence[ExternalId]) -> list[int | None]:
        """The ints of ids already mapped; None for the others."""
        texts = [external_id_text(uid) for uid in user_ids]
        with self._lock:
            return [self._ints.get(text) for text in texts]

    def originals(self, ints: Sequence[int]) -> list[ExternalId | None]:
        """The ids the ints were given to; None for an int never given out."""
        with self._lock:
            size = len(self._originals)
            return [self._originals[n] if 0 <= n < size else None for n in ints]

    def count(self) -> int:
        """How many ids are mapped."""
        with self._lock:
            return len(self._originals)

    def __repr__(self) -> str:
        return f"InMemoryIdMapper({self.count()} ids)"


def id_mapper_for(repository: BitmapRepository, *, max_int: int = DEFAULT_MAX_USER_ID) -> IdMapper:
    """The id map that lives beside ``repository``'s bitmaps, handing out ints up to
    ``max_int`` (the app's ``BITMAPIST_MAX_USER_ID``).

    A :class:`RedisIdMapper` in the same Redis (or cluster) under the same prefix, a
    :class:`~flask_bitmapist.infra.sqlite_id_map.SqliteIdMapper` in the same SQLite file,
    or a new :class:`InMemoryIdMapper` for the in-process store. Other repositories have no place
    for a map: :class:`~flask_bitmapist.domain.InvalidStorageConfig`.
    """
    if isinstance(repository, RedisRepository):
        return RedisIdMapper.of(repository, max_int=max_int)
    if isinstance(repository, InMemoryRepository):
        return InMemoryIdMapper(max_int=max_int)
    if isinstance(repository, SqliteRepository):
        return SqliteIdMapper(repository.file, max_int=max_int)
    raise InvalidStorageConfig(
        f"mapping user ids needs Redis or the in-process store, got {repository!r}"
    )
