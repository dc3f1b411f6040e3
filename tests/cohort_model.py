"""A brute-force model of cohorts over plain Python sets, to check the dashboard's numbers.

It knows nothing of bitmaps or the engine: it keeps every (event, user, moment) and
counts users with set operations, following DESIGN §6 literally.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs

from flask_bitmapist.domain import Mark, Period, TimeGroup

Lookup = Callable[[str], set[int]]
#: A secondary side as a function of "users who did this event in the period".
SetExpression = Callable[[Lookup], set[int]]


@attrs.frozen
class ModelCohort:
    """Row totals and cells, as DESIGN §6 defines them."""

    dates: tuple[datetime, ...]
    totals: tuple[int, ...]
    cells: tuple[tuple[int | None, ...], ...]

    def percent(self, row: int, col: int) -> float | None:
        """Cell (row, col) as a percentage of its row total."""
        cell = self.cells[row][col]
        return None if cell is None else 100.0 * cell / self.totals[row]


@attrs.define
class EventLog:
    """Every mark, kept as (event, user id, moment)."""

    entries: list[tuple[str, int, datetime]] = attrs.Factory(list)

    def add(self, event: str, user_id: int, moment: datetime) -> None:
        """Remember that ``user_id`` did ``event`` at ``moment``."""
        self.entries.append((event, user_id, moment))

    def marks(self, *, hourly: bool = True) -> list[Mark]:
        """The log as marks to write through a repository."""
        return [Mark.create(e, u, t, hourly=hourly) for e, u, t in self.entries]

    def users(self, event: str, period: Period) -> set[int]:
        """Who did ``event`` in ``period``."""
        return {u for e, u, t in self.entries if e == event and t in period}

    def trend_users(
        self, events: Sequence[str], *, group: TimeGroup, periods: int, rolling: int, now: datetime
    ) -> list[set[int]]:
        """Per period of the window, the users who did any of ``events`` in any of the
        ``rolling`` periods ending with it (DESIGN section 10, item 2)."""
        last = Period.containing(group, now)
        read = [last.shift(k - periods - rolling + 2) for k in range(periods + rolling - 1)]
        per_period = [set().union(*(self.users(e, p) for e in events)) for p in read]
        return [set().union(*per_period[k : k + rolling]) for k in range(periods)]

    def lifecycle(
        self, events: Sequence[str], *, group: TimeGroup, periods: int, now: datetime
    ) -> dict[str, list[set[int]]]:
        """Per period of the window, the users of each lifecycle status (section 10,
        item 3) of the users who did any of ``events``."""
        last = Period.containing(group, now)
        read = [last.shift(k - periods) for k in range(periods + 1)]
        answer: dict[str, list[set[int]]] = {
            "new": [],
            "returning": [],
            "resurrecting": [],
            "dormant": [],
        }
        for k in range(1, periods + 1):
            current = set().union(*(self.users(e, read[k]) for e in events))
            before = set().union(*(self.users(e, read[k - 1]) for e in events))
            earlier = {u for e, u, t in self.entries if e in events and t < read[k].start}
            new = current - earlier
            answer["new"].append(new)
            answer["returning"].append(current & before)
            answer["resurrecting"].append(current - before - new)
            answer["dormant"].append(before - current)
        return answer

    def cohort(
        self,
        primary: SetExpression,
        secondary: SetExpression,
        *,
        group: TimeGroup,
        rows: int,
        cols: int,
        now: datetime,
        mode: str = "first_return",
    ) -> ModelCohort:
        """The cohort table, computed cell by cell from sets."""
        last = Period.containing(group, now)
        periods = [last.shift(i - rows + 1) for i in range(rows)]

        def side(expression: SetExpression, period: Period) -> set[int]:
            return expression(lambda event: self.users(event, period))

        totals: list[int] = []
        cells: list[tuple[int | None, ...]] = []
        for i, period in enumerate(periods):
            base = side(primary, period)
            totals.append(len(base))
            row: list[int | None] = []
            for j in range(cols):
                if not base or i + j >= rows:
                    row.append(None)
                    continue
                here = side(secondary, periods[i + j])
                if mode == "recurring":
                    row.append(len(base & here))
                elif mode == "cumulative":
                    later: set[int] = set()
                    for k in range(i + j, rows):
                        later |= side(secondary, periods[k])
                    row.append(len(base & later))
                else:
                    earlier: set[int] = set()
                    for k in range(i, i + j):
                        earlier |= side(secondary, periods[k])
                    row.append(len((base & here) - earlier))
            cells.append(tuple(row))
        return ModelCohort(tuple(p.start for p in periods), tuple(totals), tuple(cells))


def generate_log(
    now: datetime,
    *,
    events: Sequence[str],
    users: int = 120,
    days: int = 40,
    seed: int = 5,
) -> EventLog:
    """A reproducible log: each user signs up once, then does the other events now and then.

    ``events[0]`` is the sign-up; each later event is done on a random subset of the days
    after it, at random hours, so every time group has data that differs row to row.
    """
    rng = random.Random(seed)
    log = EventLog()
    start = now - timedelta(days=days)
    for user in range(users):
        signed_up = start + timedelta(hours=rng.randrange(days * 24))
        log.add(events[0], user, signed_up)
        for rank, event in enumerate(events[1:], start=1):
            chance = 0.5 / rank
            moment = signed_up
            while True:
                moment += timedelta(hours=rng.randrange(6, 24 * 6))
                if moment > now or rng.random() > chance + 0.3:
                    break
                log.add(event, user, moment)
    return log
