"""The repository contract against the in-process store, Redis (fakeredis) and the SQLite
store (a file in a temporary folder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest

from flask_bitmapist.domain import BitmapRepository
from flask_bitmapist.infra import InMemoryRepository, RedisRepository
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from tests.contract.repository_contract import RepositoryContract


class TestRepositoryContract(RepositoryContract):
    """Every contract test, once per backend."""

    @pytest.fixture(params=["memory", "fakeredis", "sqlite"])
    def repository(
        self, request: pytest.FixtureRequest, tmp_path: Path
    ) -> Iterator[BitmapRepository]:
        if request.param == "memory":
            yield InMemoryRepository()
            return
        if request.param == "sqlite":
            # Small chunks, so that the bulk tests cross transaction boundaries.
            store = SqliteRepository(tmp_path / "contract.db", chunk_size=1000)
            yield store
            store.close()
            return
        # Small chunks, so that the bulk tests cross chunk boundaries.
        client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        yield RedisRepository(client, chunk_size=1000)
