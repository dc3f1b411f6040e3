"""The id map contract against the in-process map and against Redis (fakeredis with Lua)."""

from __future__ import annotations

import fakeredis
import pytest

from flask_bitmapist.domain import IdMapper
from flask_bitmapist.infra import InMemoryIdMapper, RedisIdMapper
from tests.contract.id_mapper_contract import IdMapperContract


class TestIdMapperContract(IdMapperContract):
    """Every contract test, once per backend."""

    @pytest.fixture(params=["memory", "fakeredis"])
    def id_mapper(self, request: pytest.FixtureRequest) -> IdMapper:
        if request.param == "memory":
            return InMemoryIdMapper()
        # Small batches, so that the bulk tests cross batch boundaries.
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        return RedisIdMapper(client, batch_size=1000)
