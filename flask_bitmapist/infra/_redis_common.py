"""What the Redis adapters (the repository, the id map) share: which driver errors mean
"storage unavailable", how a server is named in messages, key prefixes, chunking."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, TypeVar, Union

import redis
from redis.cluster import RedisCluster
from redis.retry import Retry

from flask_bitmapist.domain import InvalidStorageConfig, StorageUnavailable

__all__ = [
    "UNAVAILABLE",
    "LostAfterSending",
    "RedisClient",
    "SendAwareRetry",
    "call_noting_sends",
    "describe",
    "outcome_unknown",
    "storage_errors",
    "validate_prefix",
]

RedisClient = Union["redis.Redis", RedisCluster]

_T = TypeVar("_T")

# Errors that mean "the server cannot be reached or did not answer", as opposed to a
# command the server refused. Cluster errors cover nodes being down (ClusterDownError,
# MasterDownError), slots unserved (SlotNotCoveredError), redirections that did not settle
# (MOVED/ASK/TRYAGAIN while resharding) and writes reaching a demoted primary (READONLY).
UNAVAILABLE: Final = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterError,
    redis.exceptions.RedisClusterException,
    redis.exceptions.AskError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ReadOnlyError,
)


def validate_prefix(prefix: object) -> str:
    if not isinstance(prefix, str):
        raise InvalidStorageConfig(f"key prefix must be a str, got {prefix!r}")
    if not prefix:
        # An empty prefix would make every key in the database look like an event.
        raise InvalidStorageConfig("key prefix must not be empty (bitmapist's is 'trackist_')")
    if any(ch.isspace() or not ch.isprintable() for ch in prefix):
        raise InvalidStorageConfig(
            f"key prefix {prefix!r} must not contain whitespace or control characters"
        )
    return prefix


def describe(client: RedisClient) -> str:
    """Where ``client`` connects, for error messages (never the password)."""
    if isinstance(client, RedisCluster):
        nodes = sorted(client.nodes_manager.startup_nodes)
        return f"Redis Cluster {', '.join(nodes) or '(no nodes)'}"
    kwargs = client.connection_pool.connection_kwargs
    db = kwargs.get("db", 0)
    if kwargs.get("path"):
        return f"Redis at unix://{kwargs['path']} (db {db})"
    tls = client.connection_pool.connection_class is redis.SSLConnection
    return (
        f"Redis at {'rediss' if tls else 'redis'}://{kwargs.get('host')}:{kwargs.get('port')}/{db}"
    )


@contextmanager
def storage_errors(server: str, action: str) -> Iterator[None]:
    """Turn every driver error into StorageUnavailable: "cannot reach / no answer", and
    error replies too (BUSY running a script, OOM, LOADING, MISCONF, READONLY...): the
    server did not do what was asked, and the caller can do nothing else about it.

    ``NoScriptError`` passes through: it asks the caller to send the script itself.
    """
    try:
        yield
    except UNAVAILABLE as exc:
        raise StorageUnavailable(
            f"{server} is unavailable ({action}): {exc}", outcome_unknown=outcome_unknown(exc)
        ) from exc
    except redis.exceptions.NoScriptError:
        raise
    except redis.exceptions.RedisError as exc:
        # An error reply: the server refused the command, so it was not applied.
        raise StorageUnavailable(f"{server} refused ({action}): {exc}") from exc


def outcome_unknown(error: BaseException) -> bool:
    """Whether a command may have reached the server before ``error``: a timeout or a lost
    connection after sending. redis-py says "connecting" when nothing was sent (refused,
    unreachable, or no connection within the connect timeout), unless an earlier try of
    the same call was sent (:class:`LostAfterSending`)."""
    if isinstance(error, LostAfterSending):
        return True
    if isinstance(error, (redis.exceptions.TimeoutError, redis.exceptions.ConnectionError)):
        return "connecting" not in str(error)
    return False


class LostAfterSending(redis.exceptions.ConnectionError):
    """A call whose command was sent, then lost its connection, then failed to connect
    again when retried: the first try may have been applied, though the last error says
    nothing was sent."""


def call_noting_sends(
    call_with_retry: Callable[..., _T],
    do: Callable[[], _T],
    fail: Callable[..., object],
    *args: object,
    **kwargs: object,
) -> _T:
    """``call_with_retry(do, fail)`` (a redis-py ``Retry``'s), raising
    :class:`LostAfterSending` when a try was sent before the last, unsent, one failed:
    redis-py raises only the last error, which would say that nothing was sent."""
    sent: list[Exception] = []

    def noting(error: Exception, *rest: object) -> object:
        if outcome_unknown(error):
            sent.append(error)
        return fail(error, *rest)

    try:
        return call_with_retry(do, noting, *args, **kwargs)
    except redis.exceptions.ConnectionError as exc:
        if sent and not outcome_unknown(exc):
            raise LostAfterSending(f"{sent[-1]} (then, retrying: {exc})") from exc
        raise


class SendAwareRetry(Retry):
    """redis-py's retry policy, except that a call sent, then retried, then failing to
    connect raises :class:`LostAfterSending` (see :func:`call_noting_sends`)."""

    def call_with_retry(
        self, do: Callable[[], _T], fail: Callable[..., object], *args: object, **kwargs: object
    ) -> _T:
        call: Callable[..., _T] = super().call_with_retry
        return call_noting_sends(call, do, fail, *args, **kwargs)
