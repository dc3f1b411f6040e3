"""The id map contract against the in-process map, Redis (fakeredis with Lua) and the
SQLite store's map."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest

from flask_bitmapist.domain import IdMapper
from flask_bitmapist.infra import InMemoryIdMapper, RedisIdMapper
from flask_bitmapist.infra.sqlite_file import SqliteFile
from flask_bitmapist.infra.sqlite_id_map import SqliteIdMapper
from tests.contract.id_mapper_contract import IdMapperContract


class TestIdMapperContract(IdMapperContract):
    """Every contract test, once per backend."""

    @pytest.fixture(params=["memory", "fakeredis", "sqlite"])
    def id_mapper(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IdMapper]:
        if request.param == "memory":
            yield InMemoryIdMapper()
            return
        if request.param == "sqlite":
            # Six threads write at once in one test: wait for each other, not 0.5 s.
            file = SqliteFile(tmp_path / "ids.db", busy_timeout=30)
            yield SqliteIdMapper(file)
            file.close()
            return
        # Small batches, so that the bulk tests cross batch boundaries.
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        yield RedisIdMapper(client, batch_size=1000)
