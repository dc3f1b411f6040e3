"""Copying a store carries its properties and saved cohorts, between the in-process store,
Redis (fakeredis) and the SQLite store, in every direction."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import fakeredis
import pytest

from flask_bitmapist.domain import Bitmap, BitmapRepository, Mark, TooManyPropertyValues
from flask_bitmapist.domain.segments import PropertyAssignment, PropertyValue, SavedCohort
from flask_bitmapist.infra import InMemoryRepository, RedisRepository
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from flask_bitmapist.services.copying import copy_store

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)
KINDS = ("memory", "fakeredis", "sqlite")
# Users on both sides of 65,536 (two SQLite containers), and more than one chunk of
# assignments (10,000) in one value.
PROS = [*range(0, 30_000, 2), 70_000, 2**20]
FREES = [1, 3, 65_537]
BETA = [5, 65_536, 2**21]

Segments = tuple[dict[str, list[int]], dict[str, list[int]]]


@contextmanager
def made(kind: str, folder: Path) -> Iterator[BitmapRepository]:
    """An empty store of ``kind`` (an SQLite file in ``folder``)."""
    if kind == "memory":
        yield InMemoryRepository()
    elif kind == "sqlite":
        store = SqliteRepository(folder / "store.db")
        try:
            yield store
        finally:
            store.close()
    else:
        yield RedisRepository(fakeredis.FakeRedis(server=fakeredis.FakeServer()))


@pytest.fixture
def folders() -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory() as source, tempfile.TemporaryDirectory() as target:
        yield Path(source), Path(target)


def assign(user_id: int, name: str, value: str | None) -> PropertyAssignment:
    return PropertyAssignment.create(user_id, name, value, max_user_id=2**32 - 1)


def stock(repository: BitmapRepository) -> None:
    repository.mark([Mark.create("user:paid", 7, NOW)])
    repository.set_properties(
        [assign(uid, "plan", "pro") for uid in PROS]
        + [assign(uid, "plan", "free") for uid in FREES]
        + [assign(9, "channel", "ads")]
    )
    repository.save_cohort("beta", Bitmap.from_ids(BETA))
    repository.save_cohort("nobody", Bitmap())


def segments_of(repository: BitmapRepository) -> Segments:
    """Every property value's users and every saved cohort's, as lists."""
    values = repository.property_values()
    ids = [PropertyValue(name, value) for name in sorted(values) for value in sorted(values[name])]
    properties = {
        str(item): list(users)
        for item, users in zip(ids, repository.fetch_user_sets(ids), strict=True)
    }
    names = sorted(repository.cohort_names())
    cohorts = repository.fetch_user_sets([SavedCohort(name) for name in names])
    return properties, {name: list(users) for name, users in zip(names, cohorts, strict=True)}


@pytest.mark.parametrize("source_kind", KINDS)
@pytest.mark.parametrize("target_kind", KINDS)
def test_properties_and_saved_cohorts_are_copied_equal(
    source_kind: str, target_kind: str, folders: tuple[Path, Path]
) -> None:
    with made(source_kind, folders[0]) as source, made(target_kind, folders[1]) as target:
        stock(source)
        report = copy_store(source, target)
        assert segments_of(target) == segments_of(source)
        assert segments_of(target) == (
            {"channel=ads": [9], "plan=free": FREES, "plan=pro": PROS},
            {"beta": BETA, "nobody": []},
        )
        assert (report.property_values, report.cohorts) == (3, 2)
        assert report.property_users == len(PROS) + len(FREES) + 1
        # Copying twice is copying once.
        copy_store(source, target)
        assert segments_of(target) == segments_of(source)


@pytest.mark.parametrize("target_kind", KINDS)
def test_the_source_value_wins_others_are_kept_and_a_cohort_is_replaced(
    target_kind: str, folders: tuple[Path, Path]
) -> None:
    with made("memory", folders[0]) as source, made(target_kind, folders[1]) as target:
        source.set_properties([assign(1, "plan", "pro")])
        source.save_cohort("beta", Bitmap.from_ids([2]))
        target.set_properties([assign(1, "plan", "free"), assign(8, "plan", "free")])
        target.save_cohort("beta", Bitmap.from_ids([3, 4]))
        target.save_cohort("vip", Bitmap.from_ids([6]))
        copy_store(source, target)
        assert segments_of(target) == (
            {"plan=free": [8], "plan=pro": [1]},
            {"beta": [2], "vip": [6]},
        )


@pytest.mark.parametrize("target_kind", KINDS)
def test_a_value_past_the_targets_cap_is_refused_after_the_rest_is_copied(
    target_kind: str, folders: tuple[Path, Path]
) -> None:
    with made("memory", folders[0]) as source, made(target_kind, folders[1]) as target:
        source.set_properties([assign(1, "plan", "pro"), assign(2, "plan", "team")])
        source.save_cohort("beta", Bitmap.from_ids([2]))
        target.set_properties([assign(9, "plan", "free")])
        with pytest.raises(TooManyPropertyValues, match="'plan' already holds 2 values"):
            copy_store(source, target, max_values=2)
        assert segments_of(target) == ({"plan=free": [9], "plan=pro": [1]}, {"beta": [2]})


class BitmapsOnly(InMemoryRepository):
    """A store written before segments: it raises for them, as the port's defaults do."""

    def property_values(self) -> dict[str, frozenset[str]]:
        raise NotImplementedError("no properties")

    def cohort_names(self) -> frozenset[str]:
        raise NotImplementedError("no saved cohorts")


def test_a_source_without_segments_copies_its_bitmaps_only(folders: tuple[Path, Path]) -> None:
    source = BitmapsOnly()
    source.mark([Mark.create("user:paid", 7, NOW)])
    with made("sqlite", folders[1]) as target:
        report = copy_store(source, target)
        assert (report.bitmaps, report.property_values, report.cohorts) == (3, 0, 0)
        assert target.event_names() == frozenset({"user:paid"})
        assert segments_of(target) == ({}, {})
