"""Choose a repository from a storage URL (``BITMAPIST_REDIS_URL``)."""

from __future__ import annotations

from flask_bitmapist.domain import BitmapRepository, InvalidStorageConfig
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.memory import InMemoryRepository
from flask_bitmapist.infra.redis_repository import DEFAULT_KEY_PREFIX, RedisRepository
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
) -> BitmapRepository:
    """The repository ``url`` names.

    - ``memory://`` (anything after it is ignored): a new, empty
      :class:`InMemoryRepository` on every call;
    - ``redis://``, ``rediss://``, ``unix://``: a :class:`RedisRepository` (see
      :meth:`RedisRepository.from_url`), against a Redis Cluster when ``cluster`` is true,
      skipping the store after failures as ``breaker`` says.

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
    return RedisRepository.from_url(
        url,
        prefix=prefix,
        cluster=cluster,
        socket_timeout=socket_timeout,
        connect_timeout=connect_timeout,
        breaker=breaker,
    )
