"""Commands to a Redis Cluster, grouped by node, with failures that stay short.

redis-py's ``ClusterPipeline`` already groups a pipeline's commands by node and writes
every node's commands before it reads any reply (one thread; the nodes work in parallel).
Its failure path is the problem: every command that met a connection error, a timeout or
a redirection is sent again one at a time through ``RedisCluster.execute_command``, which
retries it up to ``cluster_error_retry_attempts`` times and rebuilds the slot map each
time. Measured on a three-node cluster with one node stopped (SIGSTOP), marking 30 events
took 49 s before it failed; a web request marking an event must not wait that long.

:class:`ClusterRouter` keeps the one-round shape (one pipeline per node, all written
before any is read) and bounds the failure: a node that cannot be reached or does not
answer within the socket timeout fails the whole round at once, and the slot map is
rebuilt before the next round. Redirections (``MOVED``, ``ASK``, ``TRYAGAIN``: a slot
moved or is moving) are followed once, after rebuilding the slot map; if the cluster
still redirects, the round fails. The errors raised are redis-py's, for the repository
to turn into :class:`~flask_bitmapist.domain.StorageUnavailable`.

redis-py's ``RedisCluster`` asks the cluster for its slot map in its constructor, so a
client cannot even be made while no node answers. Given a function that makes the client,
the router calls it on first use instead, and again on the next use after it failed: an
app starts while its cluster is down, and uses the cluster once it is up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, cast

import attrs
import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import (
    AskError,
    ClusterError,
    MovedError,
    ResponseError,
    TryAgainError,
)

from flask_bitmapist.infra._resp import one_write

__all__ = ["ClusterRouter", "Packed", "RoutedCommand"]

#: Errors after which the node's connection is not trusted and the slot map is rebuilt.
_NODE_FAILURES: Final = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
#: Replies that say "ask another node" rather than "this command is wrong".
_REDIRECTIONS: Final = (AskError, TryAgainError)  # MovedError is an AskError


@attrs.frozen
class Packed:
    """A command already in the Redis protocol (e.g. a bulk ``BITFIELD`` packed by numpy)."""

    chunks: list[bytes | memoryview]


#: ``(key, command)``: the key decides the node; the command is its arguments, or
#: :class:`Packed` bytes.
RoutedCommand = tuple[str | bytes, Sequence[str | bytes | int] | Packed]


@attrs.define
class _NodeRound:
    """One node's share of a round: which commands, and the connection they went out on."""

    node: ClusterNode
    indices: list[int]
    pool: Any = None
    connection: Any = None
    read: bool = False


class ClusterRouter:
    """Sends keyed commands to the nodes of ``client`` in one round (thread-safe).

    >>> router = ClusterRouter(RedisCluster.from_url("redis://node-1:6379"))  # doctest: +SKIP
    >>> router.execute([("k1", ("GET", "k1")), ("k2", ("GET", "k2"))])  # doctest: +SKIP
    [b'...', None]
    """

    def __init__(self, client: RedisCluster | Callable[[], RedisCluster]) -> None:
        """Route through ``client``'s slot map and node connection pools.

        ``client`` may be a function that makes the client: it is called on first use,
        and again on the next use after it raised (see :attr:`client`).
        """
        self._client: RedisCluster | None = None
        self._connect: Callable[[], RedisCluster] | None = None
        if isinstance(client, RedisCluster):
            self._client = client
        else:
            # (redis-py's classes derive from untyped ones: mypy does not narrow this.)
            self._connect = cast("Callable[[], RedisCluster]", client)
        self._connecting = threading.Lock()
        self._stale = False
        self._lock = threading.Lock()

    # -- the client -------------------------------------------------------------------

    @property
    def client(self) -> RedisCluster:
        """The cluster client, made now if it was not yet.

        Making it asks the nodes for the slot map, so it raises redis-py's errors (e.g.
        ``RedisClusterException``) while none answers; the next use tries again.
        Concurrent first uses wait for one another and make one client.
        """
        client = self._client
        if client is None:
            with self._connecting:
                client = self._client
                if client is None and self._connect is not None:
                    client = self._client = self._connect()
        assert client is not None  # given a client, or a function that makes one
        return client

    @property
    def _cluster(self) -> Any:
        # redis-py's cluster internals are untyped; they are reached through this alias.
        return self.client

    def close(self) -> None:
        """Close every node's pooled connections (the next use reconnects); a client not
        made yet is left unmade.

        ``RedisCluster.close()`` alone leaves the nodes' pooled connections open when the
        client was made from a URL.
        """
        client = self._client
        if client is None:
            return
        nodes: list[Any] = cast(Any, client).get_nodes()
        for node in nodes:
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.disconnect()
        client.close()

    # -- the slot map -----------------------------------------------------------------

    def _refresh_if_stale(self) -> None:
        if self._stale:
            with self._lock:
                if self._stale:
                    manager = self._cluster.nodes_manager
                    before = dict(manager.nodes_cache)
                    # Asks the known nodes for the slot map: at most one timeout per node.
                    manager.initialize()
                    self._stale = False
                    # redis-py drops the nodes it replaced with their pools still open.
                    for name, node in before.items():
                        kept = manager.nodes_cache.get(name) is node
                        if not kept and node.redis_connection is not None:
                            node.redis_connection.connection_pool.disconnect()

    def _mark_stale(self) -> None:
        self._stale = True

    def primaries(self) -> list[redis.Redis]:
        """A plain client (no retries, the cluster's timeouts) for every primary node."""
        self._refresh_if_stale()
        primaries = self._cluster.get_primaries()
        return [self._cluster.get_redis_connection(node) for node in primaries]

    def node_failed(self) -> None:
        """Tell the router that talking to a node it handed out failed (rebuild the map)."""
        self._mark_stale()

    # -- one round ------------------------------------------------------------------------

    def execute(
        self, commands: Sequence[RoutedCommand], *, raise_on_error: bool = True
    ) -> list[Any]:
        """Send ``commands`` (one pipeline per node) and return their replies in order.

        Every reply is read before an error reply is raised (the first one, as
        ``ResponseError``), so that the other commands take effect as in a pipeline; with
        ``raise_on_error=False`` error replies are returned in their places instead.
        Raises redis-py's ``ConnectionError``/``TimeoutError`` when a node cannot be
        reached, ``SlotNotCoveredError``/``ClusterDownError`` when the cluster cannot
        serve a key, ``ClusterError`` when it still redirects after one refresh.
        """
        if not commands:
            return []
        self._refresh_if_stale()
        replies: list[Any] = [None] * len(commands)
        pending = list(range(len(commands)))
        asking: dict[int, str] = {}
        for attempt in range(2):
            self._round(commands, pending, replies, asking)
            redirected = [i for i in pending if isinstance(replies[i], _REDIRECTIONS)]
            if not redirected:
                break
            if attempt == 1:
                first = replies[redirected[0]]
                raise ClusterError(
                    f"the cluster still redirects {len(redirected)} command(s) after "
                    f"refreshing its slot map (resharding?): {first}"
                ) from first
            asking = {}
            for index in redirected:
                reply = replies[index]
                if isinstance(reply, AskError) and not isinstance(reply, MovedError):
                    # The slot is migrating: ask the named node, once, with ASKING.
                    asking[index] = f"{reply.host}:{reply.port}"
            if len(asking) < len(redirected):
                self._mark_stale()
                self._refresh_if_stale()
            pending = redirected
        errors = [r for r in replies if isinstance(r, ResponseError)]
        if errors and raise_on_error:
            raise errors[0]
        return replies

    def _round(
        self,
        commands: Sequence[RoutedCommand],
        indices: list[int],
        replies: list[Any],
        asking: dict[int, str],
    ) -> None:
        rounds: dict[str, _NodeRound] = {}
        for index in indices:
            if index in asking:
                node = self._cluster.get_node(node_name=asking[index])
                if node is None:
                    raise ClusterError(f"the cluster redirected to an unknown node {asking[index]}")
            else:
                node = self._cluster.get_node_from_key(commands[index][0])
            rounds.setdefault(node.name, _NodeRound(node, [])).indices.append(index)
        try:
            for share in rounds.values():
                share.pool = self._cluster.get_redis_connection(share.node).connection_pool
                share.connection = share.pool.get_connection()
                # One socket write per node (redis-py would make one per chunk).
                share.connection.send_packed_command(
                    [one_write(list(self._pack(share.connection, commands, share.indices, asking)))]
                )
            for share in rounds.values():
                for index in share.indices:
                    if index in asking:
                        share.connection.read_response()  # ASKING's OK
                    try:
                        replies[index] = share.connection.read_response()
                    except ResponseError as exc:
                        replies[index] = exc
                share.read = True
        except _NODE_FAILURES:
            self._mark_stale()
            raise
        finally:
            for share in rounds.values():
                if share.connection is None:
                    continue
                if not share.read:
                    # Replies may still be on their way: the connection is out of step.
                    share.connection.disconnect()
                share.pool.release(share.connection)

    @staticmethod
    def _pack(
        connection: Any,
        commands: Sequence[RoutedCommand],
        indices: list[int],
        asking: dict[int, str],
    ) -> Iterator[bytes | memoryview]:
        for index in indices:
            if index in asking:
                yield from connection.pack_command("ASKING")
            command = commands[index][1]
            if isinstance(command, Packed):
                yield from command.chunks
            else:
                yield from connection.pack_command(*command)
