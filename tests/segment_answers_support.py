"""What the tests of segments on answers share: a zone west of UTC, one request of each
kind with drill-downs, an answer pipeline over a store, marks as hours before now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from flask_bitmapist.domain import BitmapRepository, Mark
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.answers import KINDS, Answers
from flask_bitmapist.services.segments import write_properties

ZONE = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 27, 13, 45, tzinfo=ZONE)

Marks = list[tuple[str, int, int]]

#: One request of each kind (and of a first-time cohort), with drill-downs to check.
REQUESTS: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    (
        "cohort",
        {"primary": "a", "secondary": "b", "time_group": "week", "rows": 4, "cols": 4},
        [{"row": 0, "col": 1}, {"row": 2, "col": 0}],
    ),
    (
        "cohort",
        {"primary": "a", "secondary": "b", "rows": 5, "cols": 3, "first_time": True},
        [{"row": 4, "col": 0}],
    ),
    (
        "cohort",
        {"primary": "b", "secondary": "a | b", "rows": 6, "cols": 4, "mode": "cumulative"},
        [{"row": 1, "col": 2}],
    ),
    (
        "trend",
        {"expr": ["a", "a & ~b"], "periods": 10, "rolling": 3},
        [{"series": 1, "index": 9}, {"series": 0, "index": 2}],
    ),
    ("trend", {"expr": ["b", "a | b"], "periods": 12}, [{"series": 1, "index": 11}]),
    ("lifecycle", {"expr": "a | b", "periods": 8}, [{"status": "new", "index": 7}]),
    ("stickiness", {"expr": "b", "periods": 14}, [{"k": 1}, {"k": 2}]),
    ("funnel", {"step": ["a", "b"], "periods": 20}, [{"reached": 2}, {"dropped": 1}]),
]


#: Moves of users between values of ``plan`` (None: the property removed), in order.
Moves = list[tuple[int, str | None]]


def moves_strategy() -> st.SearchStrategy[Moves]:
    return st.lists(
        st.tuples(st.integers(0, 30), st.none() | st.sampled_from(["free", "pro", "team"])),
        max_size=60,
    )


def check_moves_leave_each_user_in_one_group(repository: BitmapRepository, moves: Moves) -> None:
    """Apply ``moves`` one at a time to ``repository`` (holding nothing yet), every user of
    0..30 active today; then a breakdown by ``plan`` has each user in exactly the group of
    their last value (everyone else when it was removed or never set), in its counts and
    its drill-downs."""
    repository.mark(Mark.create("a", user, NOW) for user in range(31))
    for user, value in moves:
        write_properties(repository, [(user, "plan", value)], max_user_id=2**20)
    last = dict(moves)
    fields = {"expr": "a", "periods": 1}
    answers = answers_over(repository)
    if not any(value is not None for value in last.values()):
        return  # no property yet: nothing to break down by
    found = answers.breakdown("trend", fields, breakdown="plan", warn=False)
    seen: list[int] = []
    for value, answer in found.groups:
        drill = {**fields, "breakdown": "plan", "group": value or "", "series": 0, "index": 0}
        users = list(answers.drill("trend", drill).users)
        assert users == [u for u in range(31) if last.get(u) == value]
        assert answer.result.series[0].counts == (len(users),)
        seen += users
    assert sorted(seen) == list(range(31))


#: Zones on both sides of UTC (answers' calendars; the marks are instants).
ZONES = (ZONE, ZoneInfo("Asia/Tokyo"), ZoneInfo("Asia/Kolkata"), ZoneInfo("UTC"))


def answers_over(repository: BitmapRepository, zone: tzinfo = ZONE, **kwargs: Any) -> Answers:
    return Answers(
        repository, kinds=KINDS, zone=zone, clock=lambda: NOW, max_user_id=2**20, **kwargs
    )


def marked(marks: Iterable[tuple[str, int, int]]) -> InMemoryRepository:
    """A store holding ``(event, user, hours before NOW)`` marks."""
    repository = InMemoryRepository()
    repository.mark(Mark.create(e, u, NOW - timedelta(hours=h)) for e, u, h in marks)
    return repository


def marks_strategy() -> st.SearchStrategy[Marks]:
    # Hours back up to ~100 days: first-ever history reaches earlier months.
    return st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 60), st.integers(0, 2400)),
        max_size=80,
    )
