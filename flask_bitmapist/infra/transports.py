"""How the Redis adapters talk to a single Redis or to a Redis Cluster: one interface,
two transports.

:class:`RedisRepository <flask_bitmapist.infra.redis_repository.RedisRepository>` and
:class:`RedisIdMapper <flask_bitmapist.infra.id_maps.RedisIdMapper>` speak in keyed
commands; the transport decides how they travel:

- :class:`SingleNodeTransport` sends a batch as one redis-py pipeline (no MULTI), reads
  many keys with one MGET and lists keys with one SCAN;
- :class:`ClusterTransport` sends a batch through a
  :class:`~flask_bitmapist.infra.cluster.ClusterRouter` (one pipeline per node, in one
  round), reads keys with one GET each (MGET cannot span hash slots) and scans every
  primary. A cluster made by a function is connected on first use.

Transports raise redis-py's errors; the adapters call them inside :meth:`RedisTransport.
guarded`, which turns those into :class:`~flask_bitmapist.domain.StorageUnavailable` and
keeps the transport's :class:`~flask_bitmapist.infra.breaker.CircuitBreaker` informed, so
that the repository and the id map sharing a transport skip a failing store together.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, cast

import redis
from redis.cluster import RedisCluster

from flask_bitmapist.domain import InvalidStorageConfig, StorageUnavailable
from flask_bitmapist.infra._redis_common import UNAVAILABLE, RedisClient, describe, storage_errors
from flask_bitmapist.infra._resp import (
    Offsets,
    pack_bitfield_sets,
    pack_expire_at,
    send_packed,
)
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.cluster import ClusterRouter, Packed, RoutedCommand

__all__ = [
    "ClusterTransport",
    "Command",
    "RedisTransport",
    "SingleNodeTransport",
    "refuse_decoding",
    "transport_for",
]

#: A command's arguments; the second one is its key (on a cluster, it picks the node).
Command = Sequence[str | bytes | int]

_SCAN_COUNT: Final = 1000


def refuse_decoding(client: RedisClient) -> None:
    """Bitmaps are binary: a client built with ``decode_responses=True`` is refused."""
    if client.get_encoder().decode_responses:
        raise InvalidStorageConfig(
            "the Redis client decodes responses (decode_responses=True); bitmaps are "
            "binary, so give the repository a client that returns bytes"
        )


class RedisTransport(abc.ABC):
    """Keyed commands to Redis, in as few round trips as the server's shape allows."""

    #: Where the commands go, for messages (never a password).
    server: str
    #: True for a Redis Cluster.
    is_cluster: bool
    #: Skips the store for a while after it failed (shared by everything on the transport).
    breaker: CircuitBreaker

    @contextmanager
    def guarded(self, action: str) -> Iterator[None]:
        """Run calls to the server: skipped at once while the breaker is open; the
        driver's "cannot reach / no answer" errors raised as :class:`StorageUnavailable`
        (``action`` names what was being done), and the breaker told how it went."""
        self.breaker.before_call(self.server, action)
        try:
            with storage_errors(self.server, action):
                yield
        except StorageUnavailable as exc:
            if isinstance(exc.__cause__, redis.exceptions.ResponseError):
                # An error reply (OOM, WRONGTYPE, READONLY...) is StorageUnavailable to the
                # caller, but the server answered: it does not open the breaker.
                self.breaker.succeeded()
            else:
                self.breaker.failed(exc)
            raise
        except BaseException:
            self.breaker.succeeded()  # the server answered (an error reply is an answer)
            raise
        self.breaker.succeeded()

    @property
    @abc.abstractmethod
    def client(self) -> RedisClient:
        """The redis-py client (a cluster's is made now if it was not yet)."""

    @abc.abstractmethod
    def pipeline(self, commands: Sequence[Command], *, raise_on_error: bool = True) -> list[Any]:
        """Send ``commands`` in one round trip (no MULTI) and return their replies.

        With ``raise_on_error=False`` a command the server refuses gives its error as its
        reply; otherwise every reply is read, then the first error is raised.
        """

    @abc.abstractmethod
    def execute(self, key: str | bytes, command: Command) -> Any:
        """Send one command about ``key`` (e.g. EVALSHA, whose key is not its second
        argument) and return its reply."""

    @abc.abstractmethod
    def keyed_pipeline(
        self, commands: Sequence[tuple[str | bytes, Command]], *, raise_on_error: bool = True
    ) -> list[Any]:
        """:meth:`pipeline` for commands whose key is not their second argument (EVAL):
        each comes with the key it is about."""

    @abc.abstractmethod
    def write_bitfields(
        self,
        keys: Sequence[bytes],
        offsets: Sequence[Offsets],
        value: int,
        expire_at: Sequence[int | None] = (),
    ) -> None:
        """``BITFIELD key SET u1 <offset> <value> ...`` for every key, and ``PEXPIREAT key
        <ms>`` for every key whose ``expire_at`` is not None (one per key, in order, when
        given), all in one round trip."""

    @abc.abstractmethod
    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The values of ``keys`` (None where missing), in one round trip."""

    @abc.abstractmethod
    def scan(self, pattern: str) -> Iterator[bytes | str]:
        """Every key matching the glob ``pattern`` (SCAN, never KEYS)."""

    @abc.abstractmethod
    def scan_batches(self, pattern: str, *, count: int) -> Iterator[tuple[list[bytes], bool]]:
        """Every key matching ``pattern``, a SCAN reply (about ``count`` keys looked at on
        the server) at a time, each with whether more follow: a caller that stops
        iterating sends no more SCAN."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the pooled connections (the next call reconnects)."""

    def encode(self, key: str) -> bytes:
        """``key`` as the client sends it."""
        return cast(bytes, self.client.get_encoder().encode(key))


class SingleNodeTransport(RedisTransport):
    """One Redis server (or a proxy that speaks for one) through a ``redis.Redis``."""

    is_cluster = False

    def __init__(self, client: redis.Redis, *, breaker: CircuitBreaker | None = None) -> None:
        """Talk through ``client``, which must return bytes."""
        refuse_decoding(client)
        self._client = client
        self.server = describe(client)
        self.breaker = breaker or CircuitBreaker()

    @property
    def client(self) -> redis.Redis:
        """The ``redis.Redis`` given."""
        return self._client

    def pipeline(self, commands: Sequence[Command], *, raise_on_error: bool = True) -> list[Any]:
        """One redis-py pipeline (no MULTI)."""
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)  # type: ignore[no-untyped-call]
        replies: list[Any] = pipe.execute(raise_on_error=raise_on_error)
        return replies

    def execute(self, key: str | bytes, command: Command) -> Any:
        """One command, under the client's retry policy."""
        return self._client.execute_command(*command)  # type: ignore[no-untyped-call]

    def keyed_pipeline(
        self, commands: Sequence[tuple[str | bytes, Command]], *, raise_on_error: bool = True
    ) -> list[Any]:
        """One pipeline: a single node serves every key."""
        return self.pipeline([command for _, command in commands], raise_on_error=raise_on_error)

    def write_bitfields(
        self,
        keys: Sequence[bytes],
        offsets: Sequence[Offsets],
        value: int,
        expire_at: Sequence[int | None] = (),
    ) -> None:
        """All keys' commands packed by numpy, their expiries after them, in one write."""
        chunks = pack_bitfield_sets(keys, offsets, value)
        expiring = [(k, at) for k, at in zip(keys, expire_at, strict=False) if at is not None]
        if expiring:
            chunks.append(pack_expire_at(expiring))
        send_packed(self._client, chunks, len(keys) + len(expiring))

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """One MGET."""
        return cast("list[bytes | None]", self._client.mget(keys))

    def scan(self, pattern: str) -> Iterator[bytes | str]:
        """SCAN on the server."""
        yield from self._client.scan_iter(match=pattern, count=_SCAN_COUNT)

    def scan_batches(self, pattern: str, *, count: int) -> Iterator[tuple[list[bytes], bool]]:
        """SCAN on the server, one reply at a time."""
        for keys, cursor in _scan_replies(self._client, pattern, count):
            yield keys, cursor != 0

    def close(self) -> None:
        """Close the client's pool."""
        self._client.connection_pool.disconnect()
        self._client.close()


class ClusterTransport(RedisTransport):
    """A Redis Cluster through a :class:`~flask_bitmapist.infra.cluster.ClusterRouter`."""

    is_cluster = True

    def __init__(
        self,
        client: RedisCluster | ClusterRouter | Callable[[], RedisCluster],
        *,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        """Talk to ``client``: a ``RedisCluster``, a router to share with other adapters,
        or a function that makes the cluster client (called on first use, and again on the
        next call after it failed)."""
        self.breaker = breaker or CircuitBreaker()
        if isinstance(client, ClusterRouter):
            self.router = client
            self.server = "Redis Cluster"
        elif isinstance(client, RedisCluster):
            refuse_decoding(client)
            self.router = ClusterRouter(client)
            self.server = describe(client)
        else:
            # (redis-py's classes derive from untyped ones: mypy does not narrow this.)
            make = cast("Callable[[], RedisCluster]", client)

            def connect() -> RedisCluster:
                cluster = make()
                refuse_decoding(cluster)
                return cluster

            self.router = ClusterRouter(connect)
            self.server = "Redis Cluster"

    @property
    def client(self) -> RedisCluster:
        """The cluster client, made now if it was not yet (redis-py's errors while no node
        answers)."""
        return self.router.client

    def pipeline(self, commands: Sequence[Command], *, raise_on_error: bool = True) -> list[Any]:
        """One pipeline per node, in one round."""
        return self.router.execute(
            [(cast("str | bytes", command[1]), command) for command in commands],
            raise_on_error=raise_on_error,
        )

    def execute(self, key: str | bytes, command: Command) -> Any:
        """One command, to the node that serves ``key``."""
        return self.router.execute([(key, command)])[0]

    def keyed_pipeline(
        self, commands: Sequence[tuple[str | bytes, Command]], *, raise_on_error: bool = True
    ) -> list[Any]:
        """One pipeline per node, each command sent to the node of its key, in one round."""
        return self.router.execute(list(commands), raise_on_error=raise_on_error)

    def write_bitfields(
        self,
        keys: Sequence[bytes],
        offsets: Sequence[Offsets],
        value: int,
        expire_at: Sequence[int | None] = (),
    ) -> None:
        """Each key goes to its own node: one command packed per key (its PEXPIREAT
        after it), one pipeline per node, in one round."""
        commands: list[RoutedCommand] = [
            (key, Packed(pack_bitfield_sets([key], [array], value)))
            for key, array in zip(keys, offsets, strict=True)
        ]
        commands.extend(
            (key, Packed([pack_expire_at([(key, at)])]))
            for key, at in zip(keys, expire_at, strict=False)
            if at is not None
        )
        self.router.execute(commands)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """One GET per key (MGET cannot span hash slots), in one round."""
        return self.pipeline([("GET", key) for key in keys])

    def scan(self, pattern: str) -> Iterator[bytes | str]:
        """SCAN on every primary, each through its own plain client: no cluster-level
        retries, so a node that does not answer fails the listing within one socket
        timeout."""
        for node in self.router.primaries():
            try:
                yield from node.scan_iter(match=pattern, count=_SCAN_COUNT)
            except UNAVAILABLE:
                self.router.node_failed()
                raise

    def scan_batches(self, pattern: str, *, count: int) -> Iterator[tuple[list[bytes], bool]]:
        """SCAN on every primary in turn, one reply at a time (as :meth:`scan`)."""
        nodes = self.router.primaries()
        for index, node in enumerate(nodes):
            last_node = index == len(nodes) - 1
            try:
                for keys, cursor in _scan_replies(node, pattern, count):
                    yield keys, cursor != 0 or not last_node
            except UNAVAILABLE:
                self.router.node_failed()
                raise

    def close(self) -> None:
        """Close every node's pool (see :meth:`ClusterRouter.close`)."""
        self.router.close()


def _scan_replies(
    client: redis.Redis, pattern: str, count: int
) -> Iterator[tuple[list[bytes], int]]:
    """One node's SCAN replies for ``pattern`` with the cursor each gave (0: the last)."""
    cursor = 0
    while True:
        reply = cast("tuple[int, list[bytes]]", client.scan(cursor, match=pattern, count=count))
        cursor, keys = reply
        yield keys, cursor
        if cursor == 0:
            return


def transport_for(
    client: RedisClient | ClusterRouter | RedisTransport | Callable[[], RedisCluster],
    *,
    breaker: CircuitBreaker | None = None,
) -> RedisTransport:
    """The transport for ``client``: a ``redis.Redis``, a ``RedisCluster``, a cluster
    router, a function that makes a ``RedisCluster``, or a transport (returned as is, with
    its own breaker)."""
    if isinstance(client, RedisTransport):
        return client
    if isinstance(client, redis.Redis):
        return SingleNodeTransport(client, breaker=breaker)
    if isinstance(client, (RedisCluster, ClusterRouter)) or callable(client):
        return ClusterTransport(client, breaker=breaker)
    raise InvalidStorageConfig(
        f"client must be a redis.Redis or redis.cluster.RedisCluster, got {client!r}"
    )
