"""Segments and breakdowns on the SQLite store: a segment's answer equals the answer on the
marks of its users only (the set model), each breakdown group the answer within its
value (in zones on both sides of UTC), and users moved between values are each in
exactly one group."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import Mark
from flask_bitmapist.infra.sqlite_repository import SqliteRepository
from tests.segment_answers_support import (
    NOW,
    REQUESTS,
    ZONES,
    Marks,
    Moves,
    answers_over,
    check_moves_leave_each_user_in_one_group,
    marked,
    marks_strategy,
    moves_strategy,
)
from tests.segment_model import World, segments, store, worlds

EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def sqlite_store() -> Iterator[SqliteRepository]:
    with tempfile.TemporaryDirectory() as folder:
        repository = SqliteRepository(Path(folder) / "segments.db")
        try:
            yield repository
        finally:
            repository.close()


@EXAMPLES
@given(data=st.data(), world=worlds(max_user=60), marks=marks_strategy())
def test_segment_and_breakdown_answers_on_sqlite_are_the_models(
    data: st.DataObject, world: World, marks: Marks
) -> None:
    kind, fields, drills = data.draw(st.sampled_from(REQUESTS))
    text, users = data.draw(segments(world))
    zone = data.draw(st.sampled_from(ZONES))
    with sqlite_store() as repository:
        repository.mark(Mark.create(e, u, NOW - timedelta(hours=h)) for e, u, h in marks)
        store(repository, world)
        answers = answers_over(repository, zone)
        want = answers_over(marked(m for m in marks if m[1] in users), zone)
        assert answers.answer(kind, fields, segment=text).result == want.answer(kind, fields).result
        for drill in drills:
            restricted = answers.drill(kind, {**fields, **drill, "segment": text}).users
            assert restricted == want.drill(kind, {**fields, **drill}).users
        if not world[0].get("plan"):
            return  # no property to break down by
        found = answers.breakdown(kind, fields, breakdown="plan", segment=text, warn=False)
        for value, answer in found.groups[:-1]:
            alone = answers.answer(kind, fields, segment=f"plan={value} & ({text})", warn=False)
            assert answer.result == alone.result


@EXAMPLES
@given(moves=moves_strategy())
def test_users_moved_between_values_on_sqlite_are_each_in_exactly_one_group(
    moves: Moves,
) -> None:
    with sqlite_store() as repository:
        check_moves_leave_each_user_in_one_group(repository, moves)
