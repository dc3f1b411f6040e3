"""CohortEngine on small hand-made data: one read per question, nothing written."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

import pytest

from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    BitmapRepository,
    CohortEngine,
    CohortSpec,
    EventRef,
    InvalidCohortSpec,
    Mark,
    Period,
    TimeGroup,
    parse_chain,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository

NOW = datetime(2026, 3, 3, 12)  # rows end on 2026-03-03
DAY0 = datetime(2026, 3, 1, 9)


class RecordingRepository(BitmapRepository):
    """Wraps a repository and records every call made to it."""

    def __init__(self, inner: BitmapRepository) -> None:
        self.inner = inner
        self.fetches: list[list[BitmapId]] = []
        self.limits: list[int | None] = []
        self.writes = 0

    def mark(self, marks: Iterable[Mark]) -> None:
        self.writes += 1
        self.inner.mark(marks)

    def unmark(self, marks: Iterable[Mark]) -> None:
        self.writes += 1
        self.inner.unmark(marks)

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self.fetches.append(list(ids))
        self.limits.append(max_bytes)
        return self.inner.fetch(ids, max_bytes=max_bytes)

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        return self.inner.sizes(ids)

    def event_names(self) -> frozenset[str]:
        return self.inner.event_names()


def on_day(day: int, hour: int = 9) -> datetime:
    """A moment ``day`` days after 2026-03-01."""
    return DAY0 + timedelta(days=day, hours=hour - 9)


def store(*marks: tuple[str, int, datetime]) -> RecordingRepository:
    inner = InMemoryRepository()
    inner.mark([Mark.create(event, user, moment, hourly=True) for event, user, moment in marks])
    return RecordingRepository(inner)


# Users 1-4 sign up on day 0, 5-6 on day 1, nobody on day 2. Who is active when:
DATA = store(
    *[("signup", user, on_day(0)) for user in (1, 2, 3, 4)],
    *[("signup", user, on_day(1)) for user in (5, 6)],
    ("active", 1, on_day(0)),
    ("active", 2, on_day(1)),
    ("active", 1, on_day(1)),
    ("active", 5, on_day(1)),
    ("active", 3, on_day(2)),
    ("active", 1, on_day(2)),
    ("active", 6, on_day(2)),
    ("active", 9, on_day(2)),  # never signed up
    ("active", 4, on_day(3)),  # after now's day: not seen by a cohort ending on day 2
)


def cohort_spec(mode: str, **overrides: object) -> CohortSpec:
    arguments: dict[str, object] = {"now": NOW, "rows": 3, "cols": 3, "mode": mode}
    arguments.update(overrides)
    return CohortSpec.create(EventRef("signup"), EventRef("active"), **arguments)  # type: ignore[arg-type]


def test_recurring_counts_every_period_a_user_matches() -> None:
    cohort = CohortEngine(DATA).compute(cohort_spec("recurring"))
    assert cohort.dates == tuple(datetime(2026, 3, day, tzinfo=timezone.utc) for day in (1, 2, 3))
    assert cohort.totals == (4, 2, 0)
    assert cohort.cells == ((1, 2, 2), (1, 1, None), (None, None, None))


def test_first_return_counts_a_user_only_in_their_first_matching_column() -> None:
    cohort = CohortEngine(DATA).compute(cohort_spec("first_return"))
    # Row 0: day 0 {1}; day 1 {1, 2} minus {1}; day 2 {1, 3} minus {1, 2}.
    assert cohort.cells == ((1, 1, 1), (1, 1, None), (None, None, None))


def test_cumulative_counts_users_active_on_or_after_the_column() -> None:
    cohort = CohortEngine(DATA).compute(cohort_spec("cumulative"))
    # Row 0, col 0: active on day 0, 1 or 2 -> {1, 2, 3}; col 1: day 1 or 2 -> {1, 2, 3}.
    assert cohort.cells == ((3, 3, 2), (2, 1, None), (None, None, None))


def test_compute_reads_once_per_phase_and_writes_nothing() -> None:
    repo = store(("signup", 1, on_day(0)), ("active", 1, on_day(1)))
    engine = CohortEngine(repo)
    for mode in ("recurring", "first_return", "cumulative"):
        engine.compute(cohort_spec(mode, rows=10, cols=10))
    # The rows' users, then the secondary as far as the largest of them.
    assert len(repo.fetches) == 6
    assert repo.writes == 0
    # Each (event, day) is asked for once per phase.
    primary, secondary = repo.fetches[:2]
    assert len(primary) == len(set(primary)) == 10
    assert {i.event for i in primary} == {"signup"}
    assert len(secondary) == len(set(secondary)) == 10
    assert {i.event for i in secondary} == {"active"}
    assert repo.limits[:2] == [None, 8]  # user 1 lives in the first word


def test_a_yearly_cohort_reads_each_month_once() -> None:
    repo = store(
        ("signup", 1, datetime(2025, 3, 1)),
        ("active", 1, datetime(2026, 2, 1)),
        ("signup", 2, datetime(2026, 12, 31, 23)),
        ("active", 2, datetime(2026, 1, 1)),
    )
    spec = cohort_spec("recurring", time_group="year", rows=2, cols=2, now=datetime(2026, 6, 1))
    cohort = CohortEngine(repo).compute(spec)
    assert cohort.totals == (1, 1)
    assert cohort.cells == ((0, 1), (1, None))
    for fetched in repo.fetches:  # the rows' users, then the secondary
        assert len(fetched) == len(set(fetched)) == 2 * 12
        assert all(i.period is not None and i.period.group is TimeGroup.MONTH for i in fetched)
    assert len(repo.fetches) == 2


def test_an_or_term_counts_when_the_secondary_has_no_data() -> None:
    repo = store(
        ("signup", 1, on_day(0)),
        ("signup", 2, on_day(0)),
        ("refunded", 2, on_day(1)),
        ("paid", 1, on_day(1)),
    )
    secondary = parse_chain("active", [{"name": "paid", "op": "or"}])
    spec = CohortSpec.create(
        EventRef("signup"), secondary, now=on_day(1), rows=2, cols=2, mode="recurring"
    )
    assert CohortEngine(repo).compute(spec).cells == ((0, 1), (None, None))


def test_a_negated_term_removes_users_from_the_cell() -> None:
    spec = CohortSpec.create(
        EventRef("signup"),
        parse_expression("active & ~signup"),
        now=NOW,
        rows=3,
        cols=3,
        mode="recurring",
    )
    cohort = CohortEngine(DATA).compute(spec)
    # Day 0's actives {1} minus day 0's signups {1, 2, 3, 4}; day 1's {1, 2, 5} minus {5, 6}.
    assert cohort.cells[0] == (0, 2, 2)
    assert cohort.cells[1] == (0, 1, None)


@pytest.mark.parametrize(
    ("mode", "row", "col", "expected"),
    [
        ("recurring", 0, 1, [1, 2]),
        ("recurring", 1, 1, [6]),
        ("first_return", 0, 1, [2]),
        ("first_return", 0, 2, [3]),
        ("cumulative", 0, 0, [1, 2, 3]),
        ("cumulative", 1, 0, [5, 6]),
        ("recurring", 2, 0, []),
    ],
)
def test_cell_users_are_the_users_a_cell_counts(
    mode: str, row: int, col: int, expected: list[int]
) -> None:
    repo = RecordingRepository(DATA.inner)
    assert list(CohortEngine(repo).cell_users(cohort_spec(mode), row, col)) == expected
    assert repo.writes == 0


@pytest.mark.parametrize(("row", "col", "field"), [(3, 0, "row"), (-1, 0, "row"), (0, 3, "col")])
def test_cell_users_refuses_a_cell_outside_the_table(row: int, col: int, field: str) -> None:
    with pytest.raises(InvalidCohortSpec) as caught:
        CohortEngine(DATA).cell_users(cohort_spec("recurring"), row, col)
    assert caught.value.field == field
    assert repr(row if field == "row" else col) in str(caught.value)


def test_cell_users_refuses_a_cell_in_the_future() -> None:
    with pytest.raises(InvalidCohortSpec, match="future"):
        CohortEngine(DATA).cell_users(cohort_spec("recurring"), 2, 1)


def test_users_by_period_reads_once_for_every_period() -> None:
    repo = RecordingRepository(DATA.inner)
    days = [Period.containing(TimeGroup.DAY, on_day(n)) for n in range(3)]
    found = CohortEngine(repo).users_by_period(parse_expression("active & ~signup"), days)
    assert {p.key_suffix: list(b) for p, b in found.items()} == {
        "2026-3-1": [],
        "2026-3-2": [1, 2],
        "2026-3-3": [1, 3, 6, 9],
    }
    assert len(repo.fetches) == 1


def test_users_of_one_period() -> None:
    engine = CohortEngine(DATA)
    week = Period.containing(TimeGroup.WEEK, on_day(0))  # Mon 2026-02-23 .. Sun 03-01
    assert list(engine.users(EventRef("active"), week)) == [1]
    hour = Period.containing(TimeGroup.HOUR, on_day(2, hour=9))
    assert list(engine.users(EventRef("active"), hour)) == [1, 3, 6, 9]


def test_counts_per_event_and_period() -> None:
    days = [Period.containing(TimeGroup.DAY, on_day(n)) for n in range(2)]
    counts = CohortEngine(DATA).counts(["signup", "active", "never"], days)
    assert counts == {
        ("signup", days[0]): 4,
        ("signup", days[1]): 2,
        ("active", days[0]): 1,
        ("active", days[1]): 3,
        ("never", days[0]): 0,
        ("never", days[1]): 0,
    }


def test_fetch_mixes_time_groups_in_one_read() -> None:
    repo = RecordingRepository(DATA.inner)
    day = Period.containing(TimeGroup.DAY, on_day(1))
    month = Period.containing(TimeGroup.MONTH, on_day(1))
    year = Period.containing(TimeGroup.YEAR, on_day(1))
    week = Period.containing(TimeGroup.WEEK, on_day(1))
    found = CohortEngine(repo).fetch(
        [("active", day), ("active", month), ("active", year), ("active", week)]
    )
    assert list(found[("active", day)]) == [1, 2, 5]
    assert list(found[("active", month)]) == [1, 2, 3, 4, 5, 6, 9]
    assert found[("active", year)] == found[("active", month)]
    assert list(found[("active", week)]) == [1, 2, 3, 4, 5, 6, 9]
    assert len(repo.fetches) == 1


@pytest.mark.parametrize(
    ("mode", "cells"),
    [("recurring", (0, 1, 1)), ("first_return", (0, 1, 0)), ("cumulative", (1, 1, 1))],
)
def test_bitmaps_of_different_lengths_line_up(mode: str, cells: tuple[int, ...]) -> None:
    # The row's only user has a high id; the secondary bitmaps are shorter, longer, or
    # wider on both sides of the row's words.
    repo = store(
        ("signup", 5000, on_day(0)),
        ("active", 3, on_day(0)),
        ("active", 5000, on_day(1)),
        ("active", 7, on_day(1)),
        ("active", 5000, on_day(2)),
        ("active", 90_000, on_day(2)),
    )
    cohort = CohortEngine(repo).compute(cohort_spec(mode))
    assert cohort.totals == (1, 0, 0)
    assert cohort.cells[0] == cells
