"""Funnels: how many users went through steps 1, 2, … in order within a window
(see docs/answers.md).

A user reaches step 1 in the first period of the window where they match it, and step
k in the first period at or after the one where they reached step k - 1. The same
period counts: a bitmap knows *that* a user did something in a period, not in which
order, so steps done in one period count as done in order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import attrs
import numpy as np

from flask_bitmapist.domain.bitmap import Bitmap, Words, popcount
from flask_bitmapist.domain.errors import InvalidAnswerSpec
from flask_bitmapist.domain.expressions import Expression
from flask_bitmapist.domain.groups import UserGroups
from flask_bitmapist.domain.periods import Period, TimeGroup
from flask_bitmapist.domain.reader import ReadingEngine
from flask_bitmapist.domain.window import (
    Window,
    WindowedSpec,
    checked_expression,
)

__all__ = ["MAX_STEPS", "MIN_STEPS", "Funnel", "FunnelEngine", "FunnelSpec"]

MIN_STEPS = 2
MAX_STEPS = 10

Lookup = Callable[[str], Bitmap]


@attrs.frozen
class FunnelSpec(WindowedSpec):
    """A validated funnel request. Build it with :meth:`create`."""

    steps: tuple[Expression, ...]
    window: Window

    @classmethod
    def create(
        cls,
        steps: Sequence[Expression],
        *,
        now: datetime,
        time_group: str | TimeGroup = TimeGroup.DAY,
        periods: int = 30,
    ) -> FunnelSpec:
        """Validate every field; errors are :class:`InvalidAnswerSpec` naming the field
        (``step``, ``time_group``, ``periods``, ``now``)."""
        if isinstance(steps, str | bytes) or not isinstance(steps, Sequence):
            raise InvalidAnswerSpec(
                f"steps must be a list of expressions, got {steps!r}", field="step"
            )
        if not MIN_STEPS <= len(steps) <= MAX_STEPS:
            raise InvalidAnswerSpec(
                f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, got {len(steps)}",
                field="step",
            )
        checked = tuple(checked_expression(step, "step") for step in steps)
        return cls(
            checked,
            Window.create_capped(time_group=time_group, periods=periods, now=now),
        )


def _ratio(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


@attrs.frozen
class Funnel:
    """``counts[k]``: the users who reached step ``k + 1``; never more than the step before."""

    spec: FunnelSpec
    counts: tuple[int, ...]
    #: With ``compare="previous"``: the same funnel over the N periods before the window.
    previous: Funnel | None = None

    @property
    def from_previous(self) -> tuple[float | None, ...]:
        """Each step's count as a percentage of the step before (the first step: 100,
        or None when nobody reached it; None wherever the step before is 0)."""
        first = [_ratio(self.counts[0], self.counts[0])]
        return tuple(
            first + [_ratio(c, p) for p, c in zip(self.counts, self.counts[1:], strict=False)]
        )

    @property
    def from_first(self) -> tuple[float | None, ...]:
        """Each step's count as a percentage of the first step's (None when it is 0)."""
        return tuple(_ratio(c, self.counts[0]) for c in self.counts)

    @property
    def dropped(self) -> tuple[int, ...]:
        """``dropped[k]``: the users who reached step ``k + 1`` but not step ``k + 2``."""
        return tuple(p - c for p, c in zip(self.counts, self.counts[1:], strict=False))


class FunnelEngine(ReadingEngine):
    """Computes :class:`Funnel` from one batched read of every step in every period."""

    def compute(self, spec: FunnelSpec) -> Funnel:
        """How many users reached each step."""
        reached = self._reached(spec)
        return Funnel(spec, tuple(int(c) for c in popcount(reached, axis=1)))

    def compute_groups(self, spec: FunnelSpec, groups: UserGroups) -> list[Funnel]:
        """How many users of each of ``groups`` reached each step: one read, each step's
        users found once, then counted within every group."""
        counts = groups.count([Bitmap(row) for row in self._reached(spec)])
        return [Funnel(spec, tuple(row)) for row in counts.tolist()]

    def step_users(self, spec: FunnelSpec, step: int) -> Bitmap:
        """The users who reached step ``step`` (1-based, as shown)."""
        index = self._step_index(spec, step, last=len(spec.steps))
        reached = self._reached(spec)
        return Bitmap(reached[index].copy())

    def dropped_users(self, spec: FunnelSpec, step: int) -> Bitmap:
        """The users who reached step ``step`` (1-based) but not the next one."""
        index = self._step_index(spec, step, last=len(spec.steps) - 1)
        reached = self._reached(spec)
        return Bitmap(reached[index] & ~reached[index + 1])

    @staticmethod
    def _step_index(spec: FunnelSpec, step: int, *, last: int) -> int:
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= last:
            raise InvalidAnswerSpec(
                f"step must be an int between 1 and {last}, got {step!r}", field="step"
            )
        return step - 1

    def _reached(self, spec: FunnelSpec) -> Words:
        """``reached[k]``: the words of the users who reached step k + 1 by the end of the
        window, all of one width.

        Walking the periods in order: a user reaches step 1 the first time they match it,
        and step k in a period where they match it once they have reached step k - 1 in
        that period or before. Updating the steps in order within a period lets one period
        carry a user through several steps.
        """
        periods = spec.window.periods()
        events = frozenset().union(*(step.events() for step in spec.steps))
        bitmaps = self.reader.fetch((event, period) for period in periods for event in events)
        # Everyone who gets anywhere matched step 1 somewhere in the window: the later
        # steps only need the words where those users live.
        firsts = [spec.steps[0].evaluate(_lookup(bitmaps, p)) for p in periods]
        width = Bitmap.union(firsts).words.size
        reached = np.zeros((len(spec.steps), width), dtype=np.uint64)
        if not width:
            return reached
        for first, period in zip(firsts, periods, strict=True):
            reached[0] |= first.padded(width).words[:width]
            lookup = _lookup(bitmaps, period)
            for k, step in enumerate(spec.steps[1:], start=1):
                matched = step.evaluate(lookup).words[:width]
                reached[k, : matched.size] |= reached[k - 1, : matched.size] & matched
        return reached


def _lookup(bitmaps: Mapping[tuple[str, Period], Bitmap], period: Period) -> Lookup:
    """Each event's bitmap in ``period`` (what ``Expression.evaluate`` expects)."""
    return lambda event: bitmaps[(event, period)]
