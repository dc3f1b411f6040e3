"""The keys under a prefix, node by node: what the retention and storage commands walk.

:class:`RedisKeyspace` pages through a Redis (or every primary of a Redis Cluster) with
SCAN, a bounded batch at a time, and asks each node about a batch in one pipeline:
each key's expiry (``PEXPIRETIME``) and, when asked, its size (``MEMORY USAGE``, Redis's
own figure, allocator overhead included). It changes keys only through
:meth:`RedisKeyspace.expire`, one pipeline per batch. Calls go through the transport's
guard: a node that cannot be reached is :class:`~flask_bitmapist.domain.StorageUnavailable`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from typing import Final

import redis

from flask_bitmapist.domain import BitmapId, BitmapRepository
from flask_bitmapist.domain.keyspace import DEFAULT_BATCH, KeyFacts, Keyspace, Node
from flask_bitmapist.infra.memory import InMemoryRepository
from flask_bitmapist.infra.redis_repository import RedisRepository
from flask_bitmapist.infra.transports import ClusterTransport

__all__ = [
    "DEFAULT_BATCH",
    "KeyFacts",
    "Keyspace",
    "MemoryKeyspace",
    "Node",
    "RedisKeyspace",
    "keyspace_of",
]

_GLOB_SPECIAL: Final = re.compile(r"([*?\[\]\\])")


class RedisKeyspace:
    """The keys under ``repository``'s prefix, on its Redis or on every cluster primary."""

    measure = "MEMORY USAGE"

    def __init__(self, repository: RedisRepository) -> None:
        self.repository = repository
        self.prefix = repository.prefix

    def nodes(self) -> list[Node]:
        """The servers to walk: the Redis, or every primary of the cluster."""
        transport = self.repository.transport
        with transport.guarded("listing nodes"):
            if isinstance(transport, ClusterTransport):
                clients = transport.router.primaries()
                return [Node(_node_name(client), client) for client in clients]
            return [Node(self.repository.server, transport.client)]

    def size(self, node: Node) -> int:
        """How many keys ``node`` holds (DBSIZE: every key, not only the prefix's)."""
        with self.repository.transport.guarded("counting keys"):
            return int(node.client.dbsize())

    def batches(self, node: Node, count: int = DEFAULT_BATCH) -> Iterator[list[str]]:
        """The prefix's keys on ``node``, one SCAN step (about ``count`` keys visited) at a
        time; keys that are not text are left out (no event has such a name)."""
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.prefix) + "*"
        cursor = 0
        while True:
            with self.repository.transport.guarded("scanning keys"):
                cursor, raw = node.client.scan(cursor=cursor, match=pattern, count=count)
            keys = []
            for key in raw:
                try:
                    keys.append(key.decode() if isinstance(key, bytes) else key)
                except UnicodeDecodeError:
                    continue
            yield keys
            if not cursor:
                return

    def facts(
        self, node: Node, keys: Sequence[str], *, sized: Collection[str] | None = None
    ) -> list[KeyFacts]:
        """Each key's expiry and ``MEMORY USAGE`` (of every key, or only of those in
        ``sized``), in one pipeline."""
        if not keys:
            return []
        measured = [sized is None or key in sized for key in keys]
        with self.repository.transport.guarded("reading key expiries and sizes"):
            pipe = node.client.pipeline(transaction=False)
            for key, measure in zip(keys, measured, strict=True):
                pipe.execute_command("PEXPIRETIME", key)
                if measure:
                    pipe.execute_command("MEMORY", "USAGE", key, "SAMPLES", "0")
            replies = iter(pipe.execute(raise_on_error=False))
        out = []
        for key, measure in zip(keys, measured, strict=True):
            expire = next(replies)
            size = next(replies) if measure else None
            out.append(
                KeyFacts(
                    key,
                    expire if isinstance(expire, int) and expire >= 0 else None,
                    size if isinstance(size, int) else None,
                )
            )
        return out

    def expire(
        self, node: Node, expiries: Sequence[tuple[str, int]], delete: Sequence[str]
    ) -> None:
        """Give each key of ``expiries`` its expiry (PEXPIREAT) and unlink ``delete``, in one
        pipeline (UNLINK frees large keys off the server's main thread)."""
        if not expiries and not delete:
            return
        with self.repository.transport.guarded("setting key expiries"):
            pipe = node.client.pipeline(transaction=False)
            for key, at in expiries:
                pipe.execute_command("PEXPIREAT", key, at)
            for key in delete:
                pipe.execute_command("UNLINK", key)
            pipe.execute()


def _node_name(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"


class MemoryKeyspace:
    """The in-process store's bitmaps as the keys Redis would hold (one node); bytes are
    the bitmaps' lengths (no allocator to ask)."""

    measure = "bitmap length"

    def __init__(self, repository: InMemoryRepository, prefix: str) -> None:
        self.repository = repository
        self.prefix = prefix
        self._known: dict[str, tuple[BitmapId, int, int | None]] = {}

    def nodes(self) -> list[Node]:
        """One node: the process."""
        return [Node("in-process store", self.repository)]

    def size(self, node: Node) -> int:
        """How many bitmaps the store holds."""
        return len(self.repository.snapshot())

    def batches(self, node: Node, count: int = DEFAULT_BATCH) -> Iterator[list[str]]:
        """Every bitmap's key, ``count`` at a time (a snapshot taken first)."""
        self._known = {
            f"{self.prefix}{i.event}_{i.key_suffix}": (i, size, at)
            for i, size, at in self.repository.snapshot()
        }
        keys = list(self._known)
        for start in range(0, len(keys), count):
            yield keys[start : start + count]

    def facts(
        self, node: Node, keys: Sequence[str], *, sized: Collection[str] | None = None
    ) -> list[KeyFacts]:
        """Each key's expiry and length, from the snapshot."""
        out = []
        for key in keys:
            _, size, at = self._known[key]
            out.append(KeyFacts(key, at, size if sized is None or key in sized else None))
        return out

    def expire(
        self, node: Node, expiries: Sequence[tuple[str, int]], delete: Sequence[str]
    ) -> None:
        """Set the expiries; keys to delete get one in the past."""
        self.repository.set_expiries(
            [(self._known[key][0], at) for key, at in expiries]
            + [(self._known[key][0], 0) for key in delete]
        )


def keyspace_of(repository: BitmapRepository, prefix: str) -> Keyspace | None:
    """The keyspace of a Redis repository or of the in-process store (its keys named with
    ``prefix``); None for other storage."""
    if isinstance(repository, RedisRepository):
        return RedisKeyspace(repository)
    if isinstance(repository, InMemoryRepository):
        return MemoryKeyspace(repository, prefix)
    return None
