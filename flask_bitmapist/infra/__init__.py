"""Adapters that implement the domain's repository port."""

from __future__ import annotations

from flask_bitmapist.infra.id_maps import InMemoryIdMapper, RedisIdMapper, id_mapper_for
from flask_bitmapist.infra.memory import InMemoryRepository
from flask_bitmapist.infra.redis_repository import DEFAULT_KEY_PREFIX, RedisRepository
from flask_bitmapist.infra.storage import repository_from_url
from flask_bitmapist.infra.urls import DEFAULT_TIMEOUT, redact_url

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "DEFAULT_TIMEOUT",
    "InMemoryIdMapper",
    "InMemoryRepository",
    "RedisIdMapper",
    "RedisRepository",
    "id_mapper_for",
    "redact_url",
    "repository_from_url",
]
