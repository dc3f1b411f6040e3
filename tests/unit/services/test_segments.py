"""Segment expressions resolve to the users a set model gives, and a segment naming what
does not exist is an InvalidSegment on the field ``segment`` listing what does."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fakeredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import Bitmap, BitmapRepository
from flask_bitmapist.domain.errors import TooManyPropertyValues
from flask_bitmapist.exceptions import InvalidRequest, InvalidSegment
from flask_bitmapist.infra import InMemoryIdMapper, InMemoryRepository, RedisRepository
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from flask_bitmapist.services.segments import (
    SegmentLimits,
    delete_cohort,
    get_properties,
    get_saved_cohorts,
    resolve_segment,
    save_cohort,
    write_properties,
)
from tests.segment_model import World, segments, store, worlds


@contextmanager
def made(kind: str) -> Iterator[BitmapRepository]:
    """A new, empty store of ``kind`` (an SQLite file in its own temporary folder)."""
    if kind == "memory":
        yield InMemoryRepository()
    elif kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            store = SqliteRepository(Path(folder) / "segments.db")
            try:
                yield store
            finally:
                store.close()
    else:
        yield RedisRepository(fakeredis.FakeRedis(server=fakeredis.FakeServer()))


@pytest.fixture(params=["memory", "fakeredis", "sqlite"])
def repository(request: pytest.FixtureRequest) -> Iterator[BitmapRepository]:
    with made(request.param) as repository:
        yield repository


def stocked(repository: BitmapRepository) -> BitmapRepository:
    write_properties(
        repository,
        [(1, "plan", "pro"), (2, "plan", "pro"), (3, "plan", "free"), (4, "channel", "ads")],
    )
    save_cohort(repository, "beta_testers", Bitmap.from_ids([2, 3]))
    return repository


@pytest.mark.parametrize("kind", ["memory", "fakeredis", "sqlite"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), world=worlds())
def test_a_segment_resolves_to_the_users_of_the_set_model(
    kind: str, data: st.DataObject, world: World
) -> None:
    with made(kind) as repository:
        store(repository, world)
        text, expected = data.draw(segments(world))
        assert set(resolve_segment(repository, text)) == expected


# -- resolving --------------------------------------------------------------------------


def test_a_property_value_and_a_cohort_combine(repository: BitmapRepository) -> None:
    stocked(repository)
    assert list(resolve_segment(repository, "plan=pro & ~beta_testers")) == [1]
    assert list(resolve_segment(repository, "plan=free | channel=ads")) == [3, 4]
    assert list(resolve_segment(repository, "beta_testers and not plan=free")) == [2]


def test_a_segment_reads_no_user_past_the_limit(repository: BitmapRepository) -> None:
    write_properties(repository, [(3, "plan", "pro"), (2**20, "plan", "pro")], max_user_id=2**21)
    limits = SegmentLimits(max_user_id=100)
    assert list(resolve_segment(repository, "plan=pro", limits)) == [3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("~plan=pro", "lone negation"),
        ("plan=pro &", "expected a term"),
        ("", "segment is empty"),
        ("plan=", "names no value"),
        ("=pro", "names no property"),
        ("plan=gold", "no user has plan=gold; the values of 'plan': free, pro"),
        ("tier=gold", "no property named 'tier'; properties: channel, plan"),
        ("plan", "'plan' is a property, not a saved cohort: name one of its values"),
        ("testers", "no saved cohort named 'testers'; saved cohorts: beta_testers"),
        ("a & b & c", "too many terms: at most 2 terms"),
    ],
)
def test_a_bad_segment_names_the_field_and_what_exists(
    repository: BitmapRepository, text: str, message: str
) -> None:
    stocked(repository)
    with pytest.raises(InvalidSegment, match=message) as info:
        resolve_segment(repository, text, SegmentLimits(max_terms=2))
    assert info.value.field == "segment"
    assert isinstance(info.value, InvalidRequest) and isinstance(info.value, ValueError)


def test_a_long_list_of_what_exists_is_cut_short(repository: BitmapRepository) -> None:
    write_properties(repository, [(u, f"p{u:02}", "x") for u in range(30)])
    with pytest.raises(InvalidSegment, match=r"p19 and 10 more$"):
        resolve_segment(repository, "q=x")


# -- writing and listing ----------------------------------------------------------------


def test_properties_are_listed_with_their_users(repository: BitmapRepository) -> None:
    stocked(repository)
    write_properties(repository, [(2, "plan", "team"), (4, "channel", None)])
    assert get_properties(repository) == {
        "plan": {
            "free": Bitmap.from_ids([3]),
            "pro": Bitmap.from_ids([1]),
            "team": Bitmap.from_ids([2]),
        }
    }


def test_mapped_ids_are_mapped_before_they_are_written(repository: BitmapRepository) -> None:
    mapper = InMemoryIdMapper()
    mapper.assign(["first"])
    write_properties(repository, [("alice", "plan", "pro"), (42, "plan", "free")], id_mapper=mapper)
    assert get_properties(repository) == {
        "plan": {"pro": Bitmap.from_ids([1]), "free": Bitmap.from_ids([2])}
    }


def test_a_bad_row_writes_nothing_of_its_chunk(repository: BitmapRepository) -> None:
    with pytest.raises(ValueError, match="property value 'pro plus'"):
        write_properties(repository, [(1, "plan", "pro"), (2, "plan", "pro plus")])
    assert get_properties(repository) == {}


def test_the_cap_is_the_callers(repository: BitmapRepository) -> None:
    with pytest.raises(TooManyPropertyValues, match="BITMAPIST_MAX_PROPERTY_VALUES"):
        write_properties(repository, [(1, "plan", "pro"), (2, "plan", "free")], max_values=1)


def test_saved_cohorts_are_saved_replaced_listed_and_deleted(
    repository: BitmapRepository,
) -> None:
    save_cohort(repository, "beta", Bitmap.from_ids([1, 2]))
    save_cohort(repository, "beta", Bitmap.from_ids([3]))
    save_cohort(repository, "alpha", Bitmap())
    assert get_saved_cohorts(repository) == {"alpha": Bitmap(), "beta": Bitmap.from_ids([3])}
    assert list(get_saved_cohorts(repository)) == ["alpha", "beta"]
    assert delete_cohort(repository, "beta") is True
    assert delete_cohort(repository, "beta") is False
    assert get_saved_cohorts(repository) == {"alpha": Bitmap()}


class PropertiesOnly(InMemoryRepository):
    """A store whose saved cohorts must not be listed."""

    def cohort_names(self) -> frozenset[str]:
        raise AssertionError("a segment of property values listed the saved cohorts")


def test_a_segment_lists_only_the_kinds_of_names_it_uses() -> None:
    repository = PropertiesOnly()
    write_properties(repository, [(1, "plan", "pro"), (2, "plan", "free")])
    assert list(resolve_segment(repository, "plan=pro | plan=free")) == [1, 2]


class Unlisted(InMemoryRepository):
    """A store whose names must not be listed."""

    def cohort_names(self) -> frozenset[str]:
        raise AssertionError("the saved cohorts were listed")

    def property_values(self) -> dict[str, frozenset[str]]:
        raise AssertionError("the properties were listed")


def test_a_segment_whose_sets_hold_users_lists_no_names() -> None:
    repository = Unlisted()
    write_properties(repository, [(1, "plan", "pro"), (2, "plan", "free")])
    save_cohort(repository, "beta", Bitmap.from_ids([2, 3]))
    assert list(resolve_segment(repository, "plan=pro | (beta & ~plan=free)")) == [1, 3]


def test_an_empty_saved_cohort_is_a_segment_of_nobody_and_a_missing_one_an_error() -> None:
    repository = InMemoryRepository()
    save_cohort(repository, "nobody", Bitmap())
    assert list(resolve_segment(repository, "nobody")) == []
    with pytest.raises(InvalidSegment, match=r"no saved cohort named 'ghost'.*nobody"):
        resolve_segment(repository, "ghost")
