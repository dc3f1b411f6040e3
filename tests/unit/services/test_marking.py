"""The marking policy and the one bulk write path (chunk, map ids, write)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import (
    BitmapId,
    InvalidUserId,
    InvalidUserIdType,
    Mark,
    Period,
    TimeGroup,
)
from flask_bitmapist.infra import InMemoryIdMapper, InMemoryRepository
from flask_bitmapist.services.marking import (
    DEFAULT_POLICY,
    MarkingPolicy,
    UnmappedMark,
    write_marks,
)

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=timezone.utc)
DAY = Period.containing(TimeGroup.DAY, NOW)


def test_the_default_policy_is_0_1s() -> None:
    mark = DEFAULT_POLICY.pending("user:paid", 42, NOW)
    assert isinstance(mark, Mark)
    assert (mark.hourly, mark.unique, mark.user_id) == (False, False, 42)


def test_per_call_flags_override_only_what_they_name() -> None:
    policy = MarkingPolicy(hourly=True, unique=False, max_user_id=99)
    assert policy.overriding() is policy
    assert policy.overriding(unique=True) == MarkingPolicy(hourly=True, unique=True, max_user_id=99)
    assert policy.overriding(hourly=False).hourly is False


def test_ids_beyond_the_policys_largest_are_refused() -> None:
    with pytest.raises(InvalidUserId, match="100"):
        MarkingPolicy(max_user_id=99).pending("e", 100, NOW)


def test_text_ids_need_mapping_and_say_so() -> None:
    with pytest.raises(InvalidUserIdType, match="BITMAPIST_MAP_IDS"):
        DEFAULT_POLICY.pending("e", "alice", NOW)
    pending = MarkingPolicy(map_ids=True).pending("e", "alice", NOW)
    assert isinstance(pending, UnmappedMark) and pending.user_id == "alice"


def test_mapped_ints_are_checked_against_the_policy() -> None:
    policy = MarkingPolicy(map_ids=True, max_user_id=0)
    mapper = InMemoryIdMapper()
    marks = [policy.pending("e", name, NOW) for name in ("alice", "bob")]
    with pytest.raises(InvalidUserId):
        policy.mapped(mapper, marks)  # bob gets 1, beyond 0


def test_unmapped_marks_without_an_id_map_are_refused_not_dropped() -> None:
    policy = MarkingPolicy(map_ids=True)
    with pytest.raises(ValueError, match="'alice'"):
        policy.mapped(None, [policy.pending("e", "alice", NOW)])


def test_write_marks_maps_each_chunk_then_writes_it() -> None:
    policy = MarkingPolicy(map_ids=True)
    mapper = InMemoryIdMapper()
    repository = InMemoryRepository()
    names = [f"user-{n}" for n in range(7)]
    sizes: list[int] = []
    written = write_marks(
        repository,
        (policy.pending("e", name, NOW) for name in names),
        policy=policy,
        id_mapper=mapper,
        chunk_size=3,
        on_chunk=sizes.append,
    )
    assert (written, sizes) == (7, [3, 3, 1])
    assert list(repository.fetch([BitmapId("e", DAY)])[0]) == list(range(7))
    assert mapper.originals(list(range(7))) == names


def test_to_map_keeps_int_ids_as_the_apps_own_when_mapping() -> None:
    mark = Mark.create("e", 5, NOW)
    assert DEFAULT_POLICY.to_map(mark) is mark
    assert MarkingPolicy(map_ids=True).to_map(mark) == UnmappedMark(mark, 5)
