"""First-time cohort rows (DESIGN section 10, item 1) agree with a brute-force set model.

Row i holds the users whose first-ever match of the primary fell in period i; the history
reaches back up to three years before the window (other months, other ISO years), so many
users' first time falls before it. Every cell mode applies unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    Expression,
    InvalidCohortSpec,
    Mark,
    TimeGroup,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository
from tests.strategies import HISTORY_EVENTS as EVENTS
from tests.strategies import histories, positive_expressions, unions_of_events
from tests.unit.domain.set_model import SetModel, cell_users, cohort, row_starts

UTC = timezone.utc
History = tuple[TimeGroup, datetime, int, list[tuple[str, int, datetime]]]


class CountingRepository(InMemoryRepository):
    """Counts fetches and listings."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches = 0
        self.listings = 0

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self.fetches += 1
        return super().fetch(ids, max_bytes=max_bytes)

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        self.listings += 1
        return super().stored_months(events)


@settings(max_examples=150, deadline=None)
@given(
    st.data(),
    histories(),
    unions_of_events(),
    st.one_of(st.sampled_from(EVENTS).map(EventRef), positive_expressions()),
    st.integers(min_value=1, max_value=7),
)
def test_first_time_cohorts_agree_with_the_set_model_in_every_mode(
    data: st.DataObject, history: History, primary: Expression, secondary: Expression, cols: int
) -> None:
    group, now, rows, actions = history
    repository = CountingRepository()
    repository.mark([Mark.create(e, u, t, hourly=True) for e, u, t in actions])
    engine = CohortEngine(repository)
    model = SetModel(actions)
    events = primary.events()

    def firsts(start: datetime) -> set[int]:
        return model.first_ever(events, group, start)

    def later(start: datetime) -> set[int]:
        return model.evaluate(secondary, group, start)

    starts = row_starts(group, now, rows)
    for mode in CohortMode:
        spec = CohortSpec.create(
            primary,
            secondary,
            now=now,
            time_group=group,
            rows=rows,
            cols=cols,
            mode=mode,
            first_time=True,
        )
        repository.fetches = repository.listings = 0
        computed = engine.compute(spec)
        # One listing, then one read per phase: the primary's history, then the secondary
        # as far as the first-time users reach (no read at all when there are none).
        reads = 2 if any(firsts(start) for start in starts) else 1
        assert (repository.fetches, repository.listings) == (reads, 1)
        dates, totals, cells = cohort(firsts, later, group, now, rows, cols, mode.value)
        assert computed.dates == dates
        assert computed.totals == totals
        assert computed.cells == cells

        row = data.draw(st.integers(0, rows - 1), label=f"row for {mode.value}")
        col = data.draw(st.integers(0, min(cols, rows - row) - 1), label=f"col for {mode.value}")
        p = [firsts(start) for start in starts]
        s = [later(start) for start in starts]
        assert set(engine.cell_users(spec, row, col)) == cell_users(p, s, row, col, mode.value)


NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_a_user_whose_first_time_fell_before_the_window_is_in_no_row() -> None:
    repository = InMemoryRepository()
    repository.mark(
        [
            Mark.create("paid", 1, datetime(2024, 3, 5)),  # first paid years ago
            Mark.create("paid", 1, NOW - timedelta(days=2)),
            Mark.create("paid", 2, NOW - timedelta(days=2)),  # first paid in the window
            Mark.create("paid", 2, NOW - timedelta(days=1)),
            Mark.create("paid", 3, datetime(2026, 11, 1)),  # earlier this month
            Mark.create("paid", 3, NOW),
        ]
    )
    engine = CohortEngine(repository)

    def table(first_time: bool) -> tuple[tuple[int, ...], tuple[tuple[int | None, ...], ...]]:
        spec = CohortSpec.create(
            EventRef("paid"),
            EventRef("paid"),
            now=NOW,
            rows=3,
            cols=3,
            mode="recurring",
            first_time=first_time,
        )
        answer = engine.compute(spec)
        return answer.totals, answer.cells

    plain_totals, _ = table(False)
    first_totals, first_cells = table(True)

    assert plain_totals == (2, 1, 1)
    assert first_totals == (1, 0, 0)
    assert first_cells == ((1, 1, 0), (None, None, None), (None, None, None))


@pytest.mark.parametrize("text", ["a & b", "a & ~b", "(a | b) & c", "a | (b & c)"])
def test_first_time_rows_need_an_event_or_an_or_of_events(text: str) -> None:
    with pytest.raises(InvalidCohortSpec, match="an event or an OR of events") as info:
        CohortSpec.create(parse_expression(text), EventRef("b"), now=NOW, first_time=True)
    assert info.value.field == "primary"


def test_first_time_is_a_bool() -> None:
    with pytest.raises(InvalidCohortSpec) as info:
        CohortSpec.create(EventRef("a"), EventRef("b"), now=NOW, first_time=1)  # type: ignore[arg-type]
    assert info.value.field == "first_time"


def test_any_expression_still_makes_ordinary_rows() -> None:
    spec = CohortSpec.create(parse_expression("a & ~b"), EventRef("b"), now=NOW)
    assert spec.first_time is False


@settings(max_examples=60, deadline=None)
@given(histories(), unions_of_events(), st.booleans())
def test_rows_of_few_spread_out_users_agree_with_the_set_model(
    history: History, primary: Expression, first_time: bool
) -> None:
    # Ids far apart: a row's users sit in a few words out of many, which the engine
    # gathers one by one instead of reading the span between them.
    group, now, rows, actions = history
    spread = [(e, u * 997 + u % 3, t) for e, u, t in actions]
    repository = InMemoryRepository()
    repository.mark([Mark.create(e, u, t, hourly=True) for e, u, t in spread])
    engine = CohortEngine(repository)
    model = SetModel(spread)
    secondary = EventRef("b")

    def primary_in(start: datetime) -> set[int]:
        if first_time:
            return model.first_ever(primary.events(), group, start)
        return model.evaluate(primary, group, start)

    for mode in CohortMode:
        spec = CohortSpec.create(
            primary,
            secondary,
            now=now,
            time_group=group,
            rows=rows,
            cols=rows,
            mode=mode,
            first_time=first_time,
        )
        _, totals, cells = cohort(
            primary_in, model.users_of(secondary, group), group, now, rows, rows, mode.value
        )
        computed = engine.compute(spec)
        assert (computed.totals, computed.cells) == (totals, cells)
