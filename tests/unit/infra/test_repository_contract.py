"""The repository contract against the in-process store and against Redis (fakeredis)."""

from __future__ import annotations

import fakeredis
import pytest

from flask_bitmapist.domain import BitmapRepository
from flask_bitmapist.infra import InMemoryRepository, RedisRepository
from tests.contract.repository_contract import RepositoryContract


class TestRepositoryContract(RepositoryContract):
    """Every contract test, once per backend."""

    @pytest.fixture(params=["memory", "fakeredis"])
    def repository(self, request: pytest.FixtureRequest) -> BitmapRepository:
        if request.param == "memory":
            return InMemoryRepository()
        # Small chunks, so that the bulk tests cross chunk boundaries.
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        return RedisRepository(client, chunk_size=1000)
