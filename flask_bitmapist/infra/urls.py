"""Storage URLs (``BITMAPIST_REDIS_URL``): every bit of parsing them, and the clients
they name.

- ``memory://``: the in-process store;
- ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS),
  ``unix://[[user]:password@]/path/to/socket[?db=N]``: one Redis;
- with ``cluster=True``, ``redis://`` or ``rediss://`` naming one node of a Redis Cluster
  or several separated by commas: ``redis://:secret@node-1:6379,node-2:6379``.

Passwords never reach a message: :func:`redact_url` hides them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, cast
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import parse_url
from redis.retry import Retry

from flask_bitmapist.domain import InvalidStorageConfig
from flask_bitmapist.infra._redis_common import SendAwareRetry
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.transports import ClusterTransport, RedisTransport, SingleNodeTransport

__all__ = [
    "DEFAULT_TIMEOUT",
    "MEMORY_SCHEME",
    "cluster_seeds",
    "is_memory_url",
    "redact_url",
    "transport_from_url",
]

#: ``memory://`` selects the in-process store (tests, the demo).
MEMORY_SCHEME: Final = "memory"
#: Seconds to wait for a connection or an answer: marking must never stall a request.
DEFAULT_TIMEOUT: Final = 0.5

_SCHEMES: Final = ("redis", "rediss", "unix")
_CLUSTER_SCHEMES: Final = ("redis", "rediss")


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs).

    >>> redact_url("redis://:s3cret@cache:6379/2")
    'redis://:***@cache:6379/2'
    """
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return "<unparsable URL>"


def is_memory_url(url: object) -> bool:
    """Whether ``url`` names the in-process store (``memory://``, any case).

    >>> is_memory_url("MEMORY://"), is_memory_url("redis://localhost")
    (True, False)
    """
    return isinstance(url, str) and url.lower().startswith(f"{MEMORY_SCHEME}://")


def _retry_policy(retries: int) -> Retry:
    """What every client we make retries: ``retries`` immediate retries after a dropped
    connection (a pooled connection that the server closed, e.g. after a restart), and
    never a timeout, so a hung or dead server costs one timeout per call.

    Stated rather than inherited: redis-py 6 and later retry timeouts by default (3 times,
    with backoff), which doubled the cost of a silent server on redis-py 8 (1.0 s instead
    of 0.5 s per mark).
    """
    return SendAwareRetry(
        NoBackoff(), retries, supported_errors=(redis.exceptions.ConnectionError,)
    )


def transport_from_url(
    url: str,
    *,
    cluster: bool = False,
    socket_timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_TIMEOUT,
    breaker: CircuitBreaker | None = None,
) -> RedisTransport:
    """The transport to the Redis (or, with ``cluster``, the Redis Cluster) ``url`` names.

    A malformed URL or timeout raises :class:`InvalidStorageConfig` now; nothing is sent
    before the first command, and a cluster is connected on first use.
    """
    _validate_url(url, _CLUSTER_SCHEMES if cluster else _SCHEMES)
    timeouts = {
        "socket_timeout": _validate_timeout("socket_timeout", socket_timeout),
        "socket_connect_timeout": _validate_timeout("connect_timeout", connect_timeout),
    }
    if cluster:
        first, others = cluster_seeds(url)
        server = _describe_seeds(first, others)  # a malformed URL is refused now

        def connect() -> RedisCluster:
            # New seeds on every attempt: redis-py keeps connections on those it is given.
            seeds = [ClusterNode(n.host, n.port) for n in others]  # type: ignore[no-untyped-call]
            # No retry on the nodes' connections: the transport bounds a failing node.
            made = RedisCluster.from_url(
                first, startup_nodes=seeds, retry=_retry_policy(0), **timeouts
            )
            return cast(RedisCluster, made)

        transport = ClusterTransport(connect, breaker=breaker)
        transport.server = server
        return transport
    try:
        # One immediate retry on a dropped connection; a timeout is never retried.
        client = redis.Redis.from_url(
            url,
            retry=_retry_policy(1),
            retry_on_error=[redis.exceptions.ConnectionError],
            **timeouts,
        )
    except ValueError as exc:
        raise InvalidStorageConfig(f"storage URL {redact_url(url)!r}: {exc}") from exc
    return SingleNodeTransport(client, breaker=breaker)


def cluster_seeds(url: str) -> tuple[str, list[ClusterNode]]:
    """``redis://auth@a:1,b:2/0`` -> (``redis://auth@a:1/0``, [node b:2]).

    The URL keeps the first node with the credentials and options that every node uses.
    """
    scheme, _, rest = url.partition("://")
    auth, at, hosts_and_path = rest.rpartition("@")
    split = len(hosts_and_path)
    for mark in "/?":
        if mark in hosts_and_path:
            split = min(split, hosts_and_path.index(mark))
    hosts, tail = hosts_and_path[:split], hosts_and_path[split:]
    path = tail.partition("?")[0]
    if path not in ("", "/", "/0"):
        raise InvalidStorageConfig(
            f"storage URL {redact_url(url)!r}: a Redis Cluster has only database 0, "
            f"got {path.lstrip('/')!r}"
        )
    first, *others = hosts.split(",")
    nodes = []
    for other in others:
        host, colon, port = other.rpartition(":")
        if not colon:
            host, port = other, "6379"
        if not host or not port.isdigit():
            raise InvalidStorageConfig(
                f"storage URL {redact_url(url)!r}: {other!r} is not a host:port cluster node"
            )
        nodes.append(ClusterNode(host.strip("[]"), int(port)))  # type: ignore[no-untyped-call]
    return f"{scheme}://{auth}{at}{first}{tail}", nodes


def _describe_seeds(url: str, others: Sequence[ClusterNode]) -> str:
    """The nodes a cluster URL names, as ``describe`` names a cluster's nodes.

    Its options are checked as redis-py will when it connects, so that a malformed URL is
    refused when the repository is made, not on its first call.
    """
    try:
        options = parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        raise InvalidStorageConfig(f"storage URL {redact_url(url)!r}: {exc}") from exc
    if options.get("db", 0) != 0:
        raise InvalidStorageConfig(
            f"storage URL {redact_url(url)!r}: a Redis Cluster has only database 0, "
            f"got {options['db']!r}"
        )
    if options.get("decode_responses"):
        raise InvalidStorageConfig(
            f"storage URL {redact_url(url)!r}: decode_responses must be off (bitmaps are binary)"
        )
    first = f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"
    return f"Redis Cluster {', '.join(sorted([first, *(node.name for node in others)]))}"


def _validate_timeout(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidStorageConfig(f"{name} must be a number of seconds, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise InvalidStorageConfig(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _validate_url(url: object, schemes: Sequence[str]) -> str:
    if not isinstance(url, str):
        raise InvalidStorageConfig(f"storage URL must be a str, got {url!r}")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in schemes:
        expected = ", ".join(f"{s}://" for s in schemes)
        raise InvalidStorageConfig(
            f"storage URL {redact_url(url)!r} must start with one of {expected}"
        )
    return url
