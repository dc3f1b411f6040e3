"""Every answer agrees with the brute-force set model in time zones on both sides of UTC,
on the in-process store, a real redis-server and a real Redis Cluster.

West of UTC, lifecycle "new" and first-time cohort rows were once wrong on Redis only: the
months listed from its keys were read as UTC months (issue 19). So the set model
(tests/unit/domain/set_model.py, which floors moments by the local wall clock with no
Period at all) is held here against what each store answers, for cohorts, first-time
cohorts, trends, lifecycles, stickiness and funnels, in windows that span the start of a
local month or a clock change of the zone, with history up to two years before them.

Examples are derandomized (the same ones every run) and few on the servers, each on a
flushed database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    BitmapRepository,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    FunnelEngine,
    FunnelSpec,
    LifecycleEngine,
    LifecycleSpec,
    LifecycleStatus,
    Mark,
    Period,
    StickinessEngine,
    StickinessSpec,
    TimeGroup,
    TrendEngine,
    TrendSpec,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository, RedisRepository
from tests.integration.servers import LocalRedisCluster, LocalRedisServer
from tests.strategies import clock_changes
from tests.unit.domain.set_model import (
    Action,
    SetModel,
    cohort,
    funnel_reached,
    lifecycle_users,
    row_starts,
    stickiness,
    trend_users,
)

#: West of UTC, east of it, with and without daylight saving, on whole, half and
#: three-quarter hours (Lord Howe's clock moves by half an hour).
ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
)
EVENTS = ("a", "b", "c")
#: About one period of each group, in seconds.
UNIT = {
    TimeGroup.HOUR: 3600,
    TimeGroup.DAY: 86_400,
    TimeGroup.WEEK: 7 * 86_400,
    TimeGroup.MONTH: 31 * 86_400,
    TimeGroup.YEAR: 366 * 86_400,
}
COMMON = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow],
}
IN_MEMORY = settings(max_examples=60, **COMMON)  # type: ignore[arg-type]
ON_A_SERVER = settings(max_examples=30, **COMMON)  # type: ignore[arg-type]


@attrs.frozen
class Scenario:
    """Actions in one zone around a ``now`` whose window spans a month start or a clock
    change there, and the shape of the answers asked."""

    zone: ZoneInfo
    group: TimeGroup
    now: datetime
    periods: int
    cols: int
    rolling: int
    mode: CohortMode
    actions: tuple[Action, ...]


@st.composite
def scenarios(draw: st.DrawFn, name: str) -> Scenario:
    zone = ZoneInfo(name)
    group = draw(st.sampled_from(list(TimeGroup)), label="group")
    periods = draw(st.integers(1, 5), label="periods")
    rolling = draw(st.integers(1, 3), label="rolling")
    year = draw(st.integers(2024, 2030), label="year")
    month = draw(st.integers(1, 12), label="month")
    # The local start of a month, or a moment the zone's clock changes.
    edges = [Period.at(TimeGroup.MONTH, datetime(year, month, 1), zone).start]
    edges += clock_changes(name, year)
    edge = draw(st.sampled_from(edges), label="edge").astimezone(timezone.utc)
    unit = UNIT[group]
    # now is at most ``periods - 1`` periods after the edge: the window holds it.
    now = edge + timedelta(seconds=draw(st.integers(-unit // 4, (periods - 1) * unit + unit // 2)))
    near = st.integers(-(periods + rolling + 1) * unit, unit).map(
        lambda s: now + timedelta(seconds=s)
    )
    at_edge = st.integers(-7200, 7200).map(lambda s: edge + timedelta(seconds=s))
    long_ago = st.integers(-2 * 366 * 86_400, 0).map(lambda s: now + timedelta(seconds=s))
    actions = draw(
        st.lists(
            st.tuples(
                st.sampled_from(EVENTS),
                st.integers(0, 10),
                st.one_of(near, near, at_edge, long_ago),
            ),
            max_size=60,
        ),
        label="actions",
    )
    return Scenario(
        zone,
        group,
        now.astimezone(zone),  # the app's now: the current time in its zone
        periods,
        draw(st.integers(1, periods), label="cols"),
        rolling,
        draw(st.sampled_from(list(CohortMode)), label="mode"),
        tuple(actions),
    )


def starts_at(date: datetime, label: datetime, zone: ZoneInfo) -> bool:
    """Whether ``date`` is the first moment the zone's clock shows ``label`` or later."""
    instant = date.astimezone(timezone.utc)
    before = instant - timedelta(microseconds=1)
    return (
        instant.astimezone(zone).replace(tzinfo=None) >= label
        and before.astimezone(zone).replace(tzinfo=None) < label
    )


def check_every_answer(
    repository: BitmapRepository, scenario: Scenario, data: st.DataObject
) -> None:
    """Write the scenario's marks in its zone's calendar, then hold each answer's counts
    (and one drill-down of the first-ever ones) against the set model."""
    zone, group, now, n = scenario.zone, scenario.group, scenario.now, scenario.periods
    repository.mark(Mark.create(e, u, t, hourly=True, zone=zone) for e, u, t in scenario.actions)
    model = SetModel(scenario.actions, zone)
    starts = row_starts(group, now, n, zone)

    # Cohorts, ordinary rows.
    primary, secondary = EventRef("a"), parse_expression("b & ~c")
    spec = CohortSpec.create(
        primary,
        secondary,
        rows=n,
        cols=scenario.cols,
        mode=scenario.mode,
        now=now,
        time_group=group,
    )
    got = CohortEngine(repository).compute(spec)
    expected = cohort(
        model.users_of(primary, group),
        model.users_of(secondary, group),
        group,
        now,
        n,
        scenario.cols,
        scenario.mode.value,
        zone,
    )
    assert (got.totals, got.cells) == expected[1:], "cohort"
    assert all(starts_at(d, s, zone) for d, s in zip(got.dates, starts, strict=True)), got.dates

    # Cohorts, first-time rows.
    unions = parse_expression("a | b")
    spec = CohortSpec.create(
        unions,
        EventRef("c"),
        rows=n,
        cols=scenario.cols,
        mode=scenario.mode,
        first_time=True,
        now=now,
        time_group=group,
    )
    got = CohortEngine(repository).compute(spec)

    def firsts(start: datetime) -> set[int]:
        return model.first_ever(("a", "b"), group, start)

    expected = cohort(
        firsts,
        model.users_of(EventRef("c"), group),
        group,
        now,
        n,
        scenario.cols,
        scenario.mode.value,
        zone,
    )
    assert (got.totals, got.cells) == expected[1:], "first-time cohort"

    # Trends.
    expressions = [unions, parse_expression("a & ~c")]
    trend = TrendEngine(repository).compute(
        TrendSpec.create(
            expressions, periods=n, rolling=scenario.rolling, now=now, time_group=group
        )
    )
    assert [s.counts for s in trend.series] == [
        tuple(len(u) for u in trend_users(model, e, group, now, n, scenario.rolling))
        for e in expressions
    ], "trend"

    # Lifecycles, and the users behind one count.
    active = parse_expression("a | c")
    spec_l = LifecycleSpec.create(active, periods=n, now=now, time_group=group)
    lifecycle = LifecycleEngine(repository).compute(spec_l)
    statuses = lifecycle_users(model, active, group, now, n)
    for status in LifecycleStatus:
        counts = tuple(len(u) for u in statuses[status.value])
        assert lifecycle.counts(status) == counts, f"lifecycle {status.value}"
    status = data.draw(st.sampled_from(list(LifecycleStatus)), label="drill-down status")
    index = data.draw(st.integers(0, n - 1), label="drill-down index")
    users = LifecycleEngine(repository).users(spec_l, status, index)
    assert set(users) == statuses[status.value][index], "lifecycle users"

    # Stickiness.
    sticky = StickinessEngine(repository).compute(
        StickinessSpec.create(unions, periods=n, now=now, time_group=group)
    )
    assert list(sticky.counts) == stickiness(model.users_of(unions, group), group, now, n, zone)

    # Funnels.
    steps = [EventRef(e) for e in EVENTS]
    funnel = FunnelEngine(repository).compute(
        FunnelSpec.create(steps, periods=n, now=now, time_group=group)
    )
    reached = funnel_reached([model.users_of(s, group) for s in steps], group, now, n, zone)
    assert list(funnel.counts) == [len(users) for users in reached], "funnel"


# -- the stores ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def on_redis(redis_server: LocalRedisServer) -> Iterator[Callable[[], BitmapRepository]]:
    """A repository on the session's redis-server, flushed each time it is asked for."""
    repository = RedisRepository.from_url(redis_server.url)

    def emptied() -> BitmapRepository:
        repository.client.flushall()
        return repository

    yield emptied
    repository.close()


@pytest.fixture(scope="module")
def on_a_cluster(redis_cluster: LocalRedisCluster) -> Iterator[Callable[[], BitmapRepository]]:
    """A repository on the session's cluster, every primary flushed each time."""
    redis_cluster.ensure_healthy()
    repository = RedisRepository.from_url(redis_cluster.url, cluster=True)

    def emptied() -> BitmapRepository:
        redis_cluster.flush_primaries()
        return repository

    yield emptied
    repository.close()


@pytest.mark.parametrize("zone", ZONES)
@IN_MEMORY
@given(data=st.data())
def test_answers_in_memory_agree_with_the_set_model_in_every_zone(
    zone: str, data: st.DataObject
) -> None:
    check_every_answer(InMemoryRepository(), data.draw(scenarios(zone)), data)


@pytest.mark.parametrize("zone", ZONES)
@ON_A_SERVER
@given(data=st.data())
def test_answers_on_redis_agree_with_the_set_model_in_every_zone(
    on_redis: Callable[[], BitmapRepository], zone: str, data: st.DataObject
) -> None:
    check_every_answer(on_redis(), data.draw(scenarios(zone)), data)


@pytest.mark.parametrize("zone", ZONES)
@ON_A_SERVER
@given(data=st.data())
def test_answers_on_a_cluster_agree_with_the_set_model_in_every_zone(
    on_a_cluster: Callable[[], BitmapRepository], zone: str, data: st.DataObject
) -> None:
    check_every_answer(on_a_cluster(), data.draw(scenarios(zone)), data)
