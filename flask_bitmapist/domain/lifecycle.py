"""Lifecycle: in each period of a window, how many users are new, returning, resurrecting
and dormant (see docs/answers.md).

With ``E_k`` the users matching the expression in period ``k``:

- new: users whose first-ever match fell in ``k`` (:mod:`~flask_bitmapist.domain.history`);
- returning: ``E_k & E_(k-1)``, there in the previous period too;
- resurrecting: ``E_k - E_(k-1) - new``, back after a break;
- dormant: ``E_(k-1) - E_k``, there in the previous period but not in this one (a
  positive count; charts draw it below zero).

"New" needs a first-ever match, so the expression must be an event or an OR of events.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.domain.choices import parse_choice
from flask_bitmapist.domain.errors import InvalidAnswerSpec, InvalidExpression
from flask_bitmapist.domain.events import BitmapId
from flask_bitmapist.domain.expressions import Expression
from flask_bitmapist.domain.groups import UserGroups
from flask_bitmapist.domain.history import FirstEver, first_ever_events
from flask_bitmapist.domain.periods import Period, TimeGroup
from flask_bitmapist.domain.reader import ReadingEngine
from flask_bitmapist.domain.window import ExpressionSpec, Window, checked_expression, index_in

__all__ = ["Lifecycle", "LifecycleEngine", "LifecycleSpec", "LifecycleStatus"]


class LifecycleStatus(enum.Enum):
    """The four kinds of user a lifecycle period counts."""

    NEW = "new"
    RETURNING = "returning"
    RESURRECTING = "resurrecting"
    DORMANT = "dormant"

    @classmethod
    def parse(cls, value: str | LifecycleStatus) -> LifecycleStatus:
        """``"new"``, ``"returning"``, ``"resurrecting"`` or ``"dormant"``."""
        return parse_choice(cls, value, field="status", error=InvalidAnswerSpec)


@attrs.frozen
class LifecycleSpec(ExpressionSpec):
    """A validated lifecycle request. Build it with :meth:`create`.

    >>> from flask_bitmapist.domain import parse_expression
    >>> spec = LifecycleSpec.create(parse_expression("active | paid"),
    ...                             now=datetime(2026, 11, 27), time_group="weeks", periods=2)
    >>> [p.key_suffix for p in spec.window.periods()]
    ['W2026-47', 'W2026-48']
    """

    @classmethod
    def checked(cls, expression: Expression) -> Expression:
        """An event or an OR of events (else :class:`InvalidAnswerSpec` naming ``expr``):
        whose first match ever a lifecycle can find."""
        expression = checked_expression(expression)
        try:
            first_ever_events(expression)
        except InvalidExpression as exc:
            raise InvalidAnswerSpec(f"expr: {exc}", field="expr") from exc
        return expression

    @classmethod
    def window_of(cls, time_group: str | TimeGroup, periods: int, now: datetime) -> Window:
        """The window, and the period before it (who was there decides "returning")."""
        return Window.create(time_group=time_group, periods=periods, now=now, before=1)


@attrs.frozen
class Lifecycle:
    """A computed lifecycle: one count of each status per period of the window."""

    spec: LifecycleSpec
    dates: tuple[datetime, ...]
    new: tuple[int, ...]
    returning: tuple[int, ...]
    resurrecting: tuple[int, ...]
    dormant: tuple[int, ...]

    def counts(self, status: LifecycleStatus) -> tuple[int, ...]:
        """The counts of one status."""
        return tuple(getattr(self, status.value))


def _lifecycle(spec: LifecycleSpec, per_period: list[dict[LifecycleStatus, int]]) -> Lifecycle:
    """The lifecycle of ``spec`` from each period's count of each status."""
    counts = {status: tuple(c[status] for c in per_period) for status in LifecycleStatus}
    return Lifecycle(
        spec,
        spec.window.dates(),
        counts[LifecycleStatus.NEW],
        counts[LifecycleStatus.RETURNING],
        counts[LifecycleStatus.RESURRECTING],
        counts[LifecycleStatus.DORMANT],
    )


@attrs.frozen
class _Sets:
    new: Bitmap
    current: Bitmap
    previous: Bitmap

    def counts(self) -> dict[LifecycleStatus, int]:
        """How many users each status holds, with two intersections instead of four set
        differences: dormant is ``|p| - |c & p|``, and as new users are among the current
        ones, resurrecting is ``|c| - |c & p| - |new - p|``."""
        both = len(self.current & self.previous)
        new = len(self.new)
        new_not_before = new - len(self.new & self.previous)
        return {
            LifecycleStatus.NEW: new,
            LifecycleStatus.RETURNING: both,
            LifecycleStatus.RESURRECTING: len(self.current) - both - new_not_before,
            LifecycleStatus.DORMANT: len(self.previous) - both,
        }

    def of(self, status: LifecycleStatus) -> Bitmap:
        if status is LifecycleStatus.NEW:
            return self.new
        if status is LifecycleStatus.RETURNING:
            return self.current & self.previous
        if status is LifecycleStatus.RESURRECTING:
            return self.current - self.previous - self.new
        return self.previous - self.current


class LifecycleEngine(ReadingEngine):
    """Computes lifecycles from a :class:`BitmapRepository`: a listing of the events'
    months (how far back "new" must look), then one read, then set algebra."""

    def compute(self, spec: LifecycleSpec) -> Lifecycle:
        """The lifecycle for ``spec``."""
        per_period = [sets.counts() for sets in self._sets(spec, spec.window.periods())]
        return _lifecycle(spec, per_period)

    def compute_groups(self, spec: LifecycleSpec, groups: UserGroups) -> list[Lifecycle]:
        """The lifecycle for ``spec`` within each of ``groups``: one read, each status's
        users found once per period, then counted within every group."""
        statuses = list(LifecycleStatus)
        per_period = self._sets(spec, spec.window.periods())
        counts = groups.count([sets.of(status) for sets in per_period for status in statuses])
        by_group = counts.reshape(len(groups), len(per_period), len(statuses)).tolist()
        return [
            _lifecycle(spec, [dict(zip(statuses, period, strict=True)) for period in group])
            for group in by_group
        ]

    def users(self, spec: LifecycleSpec, status: str | LifecycleStatus, index: int) -> Bitmap:
        """The users counted as ``status`` in period ``index`` of the window."""
        status = LifecycleStatus.parse(status)
        periods = spec.window.periods()
        index = index_in("index", index, periods)
        [sets] = self._sets(spec, periods[index : index + 1])
        return sets.of(status)

    def _sets(self, spec: LifecycleSpec, periods: tuple[Period, ...]) -> list[_Sets]:
        """New users, E_k and E_(k-1) for each of ``periods`` (consecutive), in one read."""
        expression = spec.expression
        events = first_ever_events(expression)
        plan = FirstEver.plan(
            expression, spec.time_group, periods, self.repository.stored_months(events)
        )
        around = (periods[0].shift(-1), *periods)
        wanted = dict.fromkeys(plan.bitmap_ids())
        wanted.update(
            (BitmapId(event, part), None)
            for period in around
            for part in period.stored_parts()
            for event in events
        )
        ids = list(wanted)
        bitmaps = self.reader.fetch_stored(ids)
        new = plan.users(bitmaps)
        # An event or an OR of events: the users of a period are its bitmaps' union.
        matched = [
            Bitmap.union(bitmaps[BitmapId(e, part)] for part in p.stored_parts() for e in events)
            for p in around
        ]
        return [_Sets(new[k], matched[k + 1], matched[k]) for k in range(len(periods))]
