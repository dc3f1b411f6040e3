"""Stickiness and funnels agree with a brute-force set model on random data."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    EventRef,
    Expression,
    FunnelEngine,
    FunnelSpec,
    InvalidAnswerSpec,
    Mark,
    Not,
    StickinessEngine,
    StickinessSpec,
    TimeGroup,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository
from tests.strategies import (
    Scenario,
    engine_over,
    positive_expressions,
    scenarios,
)
from tests.unit.domain.set_model import SetModel, funnel_reached, row_starts, stickiness

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)
FUNNEL_EVENTS = ("view", "cart", "paid", "refund")


#: No bound, or an app's BITMAPIST_MAX_USER_ID: reads stop at its byte, and the engine
#: answers about the users below it, as the model of only those users does.
max_user_ids = st.one_of(st.none(), st.integers(min_value=0, max_value=320))


def below(scenario: Scenario, max_user_id: int | None) -> SetModel:
    """The set model of the users a read bounded by ``max_user_id`` sees."""
    if max_user_id is None:
        return SetModel(scenario.actions)
    bound = 8 * (max_user_id // 8 + 1)
    return SetModel(a for a in scenario.actions if a[1] < bound)


@PROPERTY_SETTINGS
@given(st.data(), scenarios(), positive_expressions(), max_user_ids)
def test_stickiness_agrees_with_the_set_model(
    data: st.DataObject, scenario: Scenario, expression: Expression, max_user_id: int | None
) -> None:
    model = below(scenario, max_user_id)
    engine = StickinessEngine(engine_over(scenario).repository, max_user_id=max_user_id)
    spec = StickinessSpec.create(
        expression, now=scenario.now, time_group=scenario.group, periods=scenario.rows
    )
    computed = engine.compute(spec)
    users_in = model.users_of(expression, scenario.group)
    assert list(computed.counts) == stickiness(
        users_in, scenario.group, scenario.now, scenario.rows
    )
    assert computed.dates == tuple(row_starts(scenario.group, scenario.now, scenario.rows))
    # Drill down into one k: exactly the users seen in k periods.
    k = data.draw(st.integers(min_value=1, max_value=scenario.rows), label="k")
    seen: dict[int, int] = {}
    for start in row_starts(scenario.group, scenario.now, scenario.rows):
        for user in users_in(start):
            seen[user] = seen.get(user, 0) + 1
    assert set(engine.users(spec, k)) == {u for u, n in seen.items() if n == k}


@PROPERTY_SETTINGS
@given(
    st.data(),
    scenarios(events=FUNNEL_EVENTS, crowd=12),
    st.lists(
        st.one_of(
            st.sampled_from(FUNNEL_EVENTS).map(EventRef),
            st.sampled_from(["view | cart", "paid & ~refund", "cart & view"]).map(parse_expression),
        ),
        min_size=2,
        max_size=5,
    ),
    max_user_ids,
)
def test_funnels_agree_with_the_set_model(
    data: st.DataObject, scenario: Scenario, steps: list[Expression], max_user_id: int | None
) -> None:
    # Few users doing few events in random order: later steps before earlier ones,
    # several steps in one period, step 1 only before the window, all happen often.
    model = below(scenario, max_user_id)
    engine = FunnelEngine(engine_over(scenario).repository, max_user_id=max_user_id)
    spec = FunnelSpec.create(
        steps, now=scenario.now, time_group=scenario.group, periods=scenario.rows
    )
    computed = engine.compute(spec)
    reached = funnel_reached(
        [model.users_of(step, scenario.group) for step in steps],
        scenario.group,
        scenario.now,
        scenario.rows,
    )
    assert list(computed.counts) == [len(users) for users in reached]
    step = data.draw(st.integers(min_value=1, max_value=len(steps)), label="step")
    assert set(engine.step_users(spec, step)) == reached[step - 1]
    if step < len(steps):
        assert set(engine.dropped_users(spec, step)) == reached[step - 1] - reached[step]
        assert computed.dropped[step - 1] == len(reached[step - 1] - reached[step])


NOW = datetime(2026, 11, 27, 12)


def funnel_of(
    actions: list[tuple[str, int, datetime]], steps: str, periods: int = 7
) -> tuple[int, ...]:
    repository = InMemoryRepository()
    repository.mark([Mark.create(e, u, t) for e, u, t in actions])
    spec = FunnelSpec.create([parse_expression(s) for s in steps.split()], now=NOW, periods=periods)
    return FunnelEngine(repository).compute(spec).counts


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


def test_a_later_step_done_before_an_earlier_one_does_not_count() -> None:
    actions = [("cart", 1, days_ago(3)), ("view", 1, days_ago(2))]
    assert funnel_of(actions, "view cart") == (1, 0)


def test_steps_done_in_the_same_period_count_in_order() -> None:
    actions = [("paid", 1, days_ago(1)), ("cart", 1, days_ago(1)), ("view", 1, days_ago(1))]
    assert funnel_of(actions, "view cart paid") == (1, 1, 1)


def test_a_step_repeated_after_a_later_one_still_leads_on() -> None:
    # cart before view, then cart again after: the second cart counts.
    actions = [("cart", 1, days_ago(5)), ("view", 1, days_ago(4)), ("cart", 1, days_ago(2))]
    assert funnel_of(actions, "view cart") == (1, 1)


def test_step_one_before_the_window_is_not_reached() -> None:
    actions = [("view", 1, days_ago(10)), ("cart", 1, days_ago(1))]
    assert funnel_of(actions, "view cart", periods=7) == (0, 0)


def test_a_funnel_has_two_to_ten_steps() -> None:
    for steps in (["a"], ["a"] * 11):
        with pytest.raises(InvalidAnswerSpec, match="2 to 10 steps") as info:
            FunnelSpec.create([EventRef(s) for s in steps], now=NOW)
        assert info.value.field == "step"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("periods", {"periods": 0}),
        ("periods", {"periods": 1001}),
        ("periods", {"periods": 1001, "time_group": "hour"}),
        ("periods", {"periods": True}),
        ("time_group", {"time_group": "fortnight"}),
        ("now", {"now": "yesterday"}),
    ],
)
def test_bad_windows_are_refused_naming_the_field(field: str, kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"now": NOW, **kwargs}
    for create in (
        lambda: StickinessSpec.create(EventRef("a"), **arguments),  # type: ignore[arg-type]
        lambda: FunnelSpec.create([EventRef("a"), EventRef("b")], **arguments),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidAnswerSpec) as info:
            create()
        assert info.value.field == field


def test_a_lone_negation_is_refused() -> None:
    with pytest.raises(InvalidAnswerSpec, match="lone negation") as info:
        StickinessSpec.create(Not(EventRef("a")), now=NOW)
    assert info.value.field == "expr"


def test_stickiness_over_a_thousand_periods() -> None:
    repository = InMemoryRepository()
    repository.mark([Mark.create("a", 7, days_ago(n)) for n in range(0, 1000, 2)])
    spec = StickinessSpec.create(EventRef("a"), now=NOW, periods=1000)
    counts = StickinessEngine(repository).compute(spec).counts
    assert counts[499] == 1 and sum(counts) == 1
    assert list(StickinessEngine(repository).users(spec, 500)) == [7]


def test_stickiness_drill_down_refuses_k_outside_the_window() -> None:
    spec = StickinessSpec.create(EventRef("a"), now=NOW, periods=5, time_group=TimeGroup.DAY)
    with pytest.raises(InvalidAnswerSpec) as info:
        StickinessEngine(InMemoryRepository()).users(spec, 6)
    assert info.value.field == "k"


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=60, max_value=70),
    st.lists(st.tuples(st.integers(0, 80), st.integers(0, 200)), min_size=1, max_size=400),
)
def test_long_windows_count_as_the_set_model(
    periods: int, days_and_users: list[tuple[int, int]]
) -> None:
    # Past 64 periods the counts come from another path than the per-k masks.
    actions = [("a", user, days_ago(day)) for day, user in days_and_users]
    repository = InMemoryRepository()
    repository.mark([Mark.create(e, u, t) for e, u, t in actions])
    spec = StickinessSpec.create(EventRef("a"), now=NOW, periods=periods)

    counts = StickinessEngine(repository).compute(spec).counts

    users_in = SetModel(actions).users_of(EventRef("a"), TimeGroup.DAY)
    assert list(counts) == stickiness(users_in, TimeGroup.DAY, NOW, periods)
