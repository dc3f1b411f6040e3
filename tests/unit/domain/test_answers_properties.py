"""Trend and lifecycle engines agree with a brute-force set model on random data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    EventRef,
    Expression,
    LifecycleEngine,
    LifecycleSpec,
    LifecycleStatus,
    Mark,
    Or,
    TimeGroup,
    TrendEngine,
    TrendSpec,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository
from tests.strategies import (
    EVENTS,
    UNIT,
    group_and_now,
    positive_expressions,
)
from tests.unit.domain.set_model import SetModel, lifecycle_users, row_starts, trend_users

PROPERTY_SETTINGS = settings(max_examples=120, deadline=None)


@attrs.frozen
class Scenario:
    """Random actions before and around a random ``now``, and a window over them."""

    group: TimeGroup
    now: datetime
    periods: int
    rolling: int
    actions: tuple[tuple[str, int, datetime], ...]


@st.composite
def scenarios(draw: st.DrawFn, events: Sequence[str] = EVENTS, users: int = 12) -> Scenario:
    group, now = draw(group_and_now())
    periods = draw(st.integers(min_value=1, max_value=6))
    rolling = draw(st.integers(min_value=1, max_value=5))
    unit = UNIT[group]
    # Mostly in the periods read, some just after now's; some years earlier (other
    # months and ISO years), where "new" must still see them.
    near = st.integers(min_value=-(periods + rolling + 1) * unit, max_value=2 * unit)
    long_ago = st.integers(min_value=-3 * 366 * 86_400, max_value=0)
    count = draw(st.integers(min_value=0, max_value=120))
    actions = draw(
        st.lists(
            st.tuples(
                st.sampled_from(events),
                st.integers(min_value=0, max_value=users),
                st.one_of(near, near, near, long_ago),
            ).map(lambda t: (t[0], t[1], now + timedelta(seconds=t[2]))),
            min_size=count,
            max_size=count,
        )
    )
    return Scenario(group, now, periods, rolling, tuple(actions))


class CountingRepository(InMemoryRepository):
    """Counts reads, to hold the engines to one fetch per answer."""

    def __init__(self, actions: Iterable[tuple[str, int, datetime]]) -> None:
        super().__init__()
        self.mark([Mark.create(e, u, t, hourly=True) for e, u, t in actions])
        self.fetches = 0
        self.listings = 0

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self.fetches += 1
        return super().fetch(ids, max_bytes=max_bytes)

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        self.listings += 1
        return super().stored_months(events)


def unions_of_events() -> st.SearchStrategy[Expression]:
    leaves: st.SearchStrategy[Expression] = st.sampled_from(EVENTS).map(EventRef)
    return st.recursive(
        leaves,
        lambda children: st.lists(children, min_size=2, max_size=3).map(lambda t: Or(tuple(t))),
        max_leaves=4,
    )


@PROPERTY_SETTINGS
@given(
    st.data(),
    scenarios(),
    st.lists(positive_expressions(), min_size=1, max_size=3),
)
def test_trends_agree_with_the_set_model(
    data: st.DataObject, scenario: Scenario, expressions: list[Expression]
) -> None:
    repository = CountingRepository(scenario.actions)
    model = SetModel(scenario.actions)
    # The engine runs the expressions written out as text and read back.
    parsed = [parse_expression(str(e)) for e in expressions]
    spec = TrendSpec.create(
        parsed,
        now=scenario.now,
        time_group=scenario.group,
        periods=scenario.periods,
        rolling=scenario.rolling,
    )
    trend = TrendEngine(repository).compute(spec)

    assert repository.fetches == 1
    assert trend.dates == tuple(row_starts(scenario.group, scenario.now, scenario.periods))
    expected = [
        trend_users(model, e, scenario.group, scenario.now, scenario.periods, scenario.rolling)
        for e in expressions
    ]
    assert [s.counts for s in trend.series] == [
        tuple(len(users) for users in series) for series in expected
    ]
    assert [s.expression for s in trend.series] == parsed

    series = data.draw(st.integers(0, len(expressions) - 1), label="series")
    index = data.draw(st.integers(0, scenario.periods - 1), label="index")
    users = TrendEngine(repository).users(spec, series, index)
    assert set(users) == expected[series][index]


@PROPERTY_SETTINGS
@given(st.data(), scenarios(), unions_of_events())
def test_lifecycles_agree_with_the_set_model(
    data: st.DataObject, scenario: Scenario, expression: Expression
) -> None:
    repository = CountingRepository(scenario.actions)
    model = SetModel(scenario.actions)
    spec = LifecycleSpec.create(
        parse_expression(str(expression)),
        now=scenario.now,
        time_group=scenario.group,
        periods=scenario.periods,
    )
    lifecycle = LifecycleEngine(repository).compute(spec)

    assert (repository.listings, repository.fetches) == (1, 1)
    assert lifecycle.dates == tuple(row_starts(scenario.group, scenario.now, scenario.periods))
    expected = lifecycle_users(model, expression, scenario.group, scenario.now, scenario.periods)
    for status in LifecycleStatus:
        assert lifecycle.counts(status) == tuple(len(u) for u in expected[status.value]), status

    status = data.draw(st.sampled_from(list(LifecycleStatus)), label="status")
    index = data.draw(st.integers(0, scenario.periods - 1), label="index")
    users = LifecycleEngine(repository).users(spec, status, index)
    assert set(users) == expected[status.value][index]


@PROPERTY_SETTINGS
@given(scenarios(events=("active", "paid"), users=4))
def test_dense_lifecycles_add_up(scenario: Scenario) -> None:
    # Few users coming and going: every status is exercised, and the statuses partition
    # each period's users (new + returning + resurrecting) as DESIGN defines them.
    repository = CountingRepository(scenario.actions)
    model = SetModel(scenario.actions)
    expression = parse_expression("active | paid")
    spec = LifecycleSpec.create(
        expression, now=scenario.now, time_group=scenario.group, periods=scenario.periods
    )
    lifecycle = LifecycleEngine(repository).compute(spec)
    starts = row_starts(scenario.group, scenario.now, scenario.periods)
    for k, start in enumerate(starts):
        active = model.evaluate(expression, scenario.group, start)
        assert lifecycle.new[k] + lifecycle.returning[k] + lifecycle.resurrecting[k] == len(active)
    expected = lifecycle_users(model, expression, scenario.group, scenario.now, scenario.periods)
    assert lifecycle.dormant == tuple(len(u) for u in expected["dormant"])
