"""Every answer on the SQLite store equals the in-process store's on the same marks.

Random marks and unmarks (user ids on both sides of container boundaries, hourly and
lifetime bitmaps, moments in a zone west of UTC and in zones east of it) go into both
stores; each answer kind is then computed on both, and must be the same, as must every
bitmap, bounded read, size, event listing and month listing.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    BitmapId,
    BitmapRepository,
    CohortEngine,
    CohortMode,
    CohortSpec,
    FunnelEngine,
    FunnelSpec,
    LifecycleEngine,
    LifecycleSpec,
    Mark,
    StickinessEngine,
    StickinessSpec,
    TimeGroup,
    TrendEngine,
    TrendSpec,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.infra.sqlite_repository import SqliteRepository

EVENTS = ("signup", "active", "paid")
# West of UTC (with daylight saving), east of it by a whole and by a half hour.
ZONES = ("America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata")
# Ids on both sides of the first container boundaries (65,536 ids each).
USER_IDS = st.one_of(st.integers(0, 20), st.integers(65_530, 65_545), st.integers(131_070, 131_075))


@attrs.frozen
class Scenario:
    zone: str
    group: TimeGroup
    now: datetime
    periods: int
    actions: tuple[tuple[bool, str, int, datetime, bool], ...]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    group = draw(st.sampled_from([TimeGroup.HOUR, TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH]))
    wall = draw(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31)))
    now = wall.replace(tzinfo=zone)
    periods = draw(st.integers(1, 5))
    span = {TimeGroup.HOUR: 3600, TimeGroup.DAY: 86_400}.get(group, 7 * 86_400)
    seconds = st.integers(-(periods + 2) * span * (5 if group is TimeGroup.MONTH else 1), 3600)
    actions = draw(
        st.lists(
            st.tuples(
                st.just(True),  # a mark (unmarks are drawn from them below)
                st.sampled_from(EVENTS),
                USER_IDS,
                seconds.map(lambda s: now + timedelta(seconds=s)),
                st.booleans(),
            ),
            max_size=60,
        )
    )
    unmarks = draw(st.lists(st.sampled_from(actions), max_size=5)) if actions else []
    return Scenario(
        zone.key,
        group,
        now,
        periods,
        tuple(actions) + tuple((False, *action[1:]) for action in unmarks),
    )


def fill(repository: BitmapRepository, scenario: Scenario) -> None:
    for is_mark, event, user, moment, unique in scenario.actions:
        mark = Mark.create(event, user, moment, hourly=True, unique=unique)
        (repository.mark if is_mark else repository.unmark)([mark])


def answers(repository: BitmapRepository, scenario: Scenario) -> list[object]:
    now, group, periods = scenario.now, scenario.group, scenario.periods
    active, paid = parse_expression("active"), parse_expression("paid | signup")
    found: list[object] = []
    for first_time in (False, True):
        for mode in CohortMode:
            spec = CohortSpec.create(
                paid,
                active,
                now=now,
                time_group=group,
                rows=periods,
                cols=periods,
                mode=mode,
                first_time=first_time,
            )
            cohort = CohortEngine(repository).compute(spec)
            found.append((cohort.dates, cohort.totals, cohort.cells))
    found.append(
        TrendEngine(repository).compute(
            TrendSpec.create([active, paid], now=now, time_group=group, periods=periods, rolling=2)
        )
    )
    found.append(
        LifecycleEngine(repository).compute(
            LifecycleSpec.create(paid, now=now, time_group=group, periods=periods)
        )
    )
    found.append(
        StickinessEngine(repository)
        .compute(StickinessSpec.create(active, now=now, time_group=group, periods=periods))
        .counts
    )
    found.append(
        FunnelEngine(repository)
        .compute(FunnelSpec.create([paid, active], now=now, time_group=group, periods=periods))
        .counts
    )
    return found


def storage_view(repository: BitmapRepository, scenario: Scenario) -> list[object]:
    """What the port shows of every bitmap the marks touched."""
    touched = {
        target
        for _, event, user, moment, unique in scenario.actions
        for target in Mark.create(event, user, moment, hourly=True, unique=unique).targets()
    }
    ids = [*sorted(touched, key=lambda i: (i.event, i.key_suffix)), BitmapId("never", None)]
    return [
        repository.fetch(ids),
        repository.fetch(ids, max_bytes=8192),
        repository.fetch(ids, max_bytes=3),
        repository.sizes(ids),
        repository.event_names(),
        # Months as their labels, the date of their first day.
        {
            event: sorted(months)
            for event, months in repository.stored_months([*EVENTS, "never"]).items()
        },
    ]


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_every_answer_on_sqlite_equals_the_in_process_stores(scenario: Scenario) -> None:
    memory = InMemoryRepository()
    fill(memory, scenario)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = SqliteRepository(Path(folder) / "answers.db")
        try:
            fill(sqlite, scenario)
            assert storage_view(sqlite, scenario) == storage_view(memory, scenario)
            assert answers(sqlite, scenario) == answers(memory, scenario)
        finally:
            sqlite.close()
