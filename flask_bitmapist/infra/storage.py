"""Choose a repository from a storage URL (``BITMAPIST_REDIS_URL``)."""

from __future__ import annotations

import os

from flask_bitmapist.domain import BitmapRepository, InvalidStorageConfig
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.memory import InMemoryRepository
from flask_bitmapist.infra.redis_repository import DEFAULT_KEY_PREFIX, RedisRepository
from flask_bitmapist.infra.sqlite_file import is_sqlite_url
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from flask_bitmapist.infra.urls import DEFAULT_TIMEOUT, is_memory_url, redact_url

__all__ = ["repository_from_url"]


def repository_from_url(
    url: str,
    *,
    prefix: str = DEFAULT_KEY_PREFIX,
    cluster: bool = False,
    socket_timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_TIMEOUT,
    breaker: CircuitBreaker | None = None,
    base: str | os.PathLike[str] | None = None,
) -> BitmapRepository:
    """The repository ``url`` names.

    - ``memory://`` (anything after it is ignored): a new, empty
      :class:`InMemoryRepository` on every call;
    - ``redis://``, ``rediss://``, ``unix://``: a :class:`RedisRepository` (see
      :meth:`RedisRepository.from_url`), against a Redis Cluster when ``cluster`` is true,
      skipping the store after failures as ``breaker`` says;
    - ``sqlite:///name.db`` (relative to ``base``, the app's instance folder) or
      ``sqlite:////absolute/name.db``: a :class:`SqliteRepository` (the embedded store),
      whose writes wait ``socket_timeout`` seconds for another writer's lock.

    >>> repository_from_url("memory://")  # doctest: +ELLIPSIS
    <flask_bitmapist.infra.memory.InMemoryRepository object at ...>
    """
    if is_memory_url(url):
        if cluster:
            raise InvalidStorageConfig(
                f"storage URL {redact_url(url)!r} is the in-process store; a cluster needs "
                "a redis:// or rediss:// URL"
            )
        return InMemoryRepository()
    if is_sqlite_url(url):
        if cluster:
            raise InvalidStorageConfig(
                f"storage URL {url!r} is an SQLite file; a cluster needs a redis:// or "
                "rediss:// URL"
            )
        return SqliteRepository.from_url(
            url, base=base, busy_timeout=socket_timeout, breaker=breaker
        )
    return RedisRepository.from_url(
        url,
        prefix=prefix,
        cluster=cluster,
        socket_timeout=socket_timeout,
        connect_timeout=connect_timeout,
        breaker=breaker,
    )
