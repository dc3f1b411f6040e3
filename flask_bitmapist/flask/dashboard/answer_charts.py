"""Geometry of the trend, lifecycle and sparkline charts, drawn as inline SVG by templates.

Like the retention chart (:mod:`~flask_bitmapist.flask.dashboard.chart`), coordinates are
computed here so the templates stay declarative and the charts work without JavaScript.
Work is linear in the number of points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from flask_bitmapist.domain import Lifecycle, LifecycleStatus, TimeGroup, Trend
from flask_bitmapist.flask.dashboard.chart import PALETTE_SIZE, nice_ceiling
from flask_bitmapist.services.reports import period_label

__all__ = [
    "Bar",
    "LifecycleChart",
    "Sparkline",
    "TrendChart",
    "TrendLine",
    "TrendPoint",
    "axis_label",
]

WIDTH = 760
HEIGHT = 320
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 16, 44
#: At most this many date labels under a chart, whatever the number of periods.
MAX_X_LABELS = 8
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Stacked above zero, bottom to top; dormant goes below.
STACKED = (LifecycleStatus.NEW, LifecycleStatus.RETURNING, LifecycleStatus.RESURRECTING)


def _ticks(highest: float) -> tuple[float, int]:
    """A round step and how many of them reach ``highest`` (at least one)."""
    step = nice_ceiling(highest / 4, whole=True)
    return step, max(1, math.ceil(highest / step - 1e-9))


def _tick_text(value: float) -> str:
    return f"{value:,.0f}"


def axis_label(group: TimeGroup, start: datetime) -> str:
    """A period as short as an axis can show it; tooltips and tables give the full label.

    >>> monday = datetime(2026, 11, 23)
    >>> axis_label(TimeGroup.WEEK, monday), axis_label(TimeGroup.DAY, monday)
    ('W48', '23 Nov')
    """
    if group is TimeGroup.HOUR:
        return f"{start.day} {_MONTHS[start.month - 1]} {start.hour:02d}h"
    if group is TimeGroup.DAY:
        return f"{start.day} {_MONTHS[start.month - 1]}"
    if group is TimeGroup.WEEK:
        return f"W{start.isocalendar()[1]}"
    if group is TimeGroup.MONTH:
        return f"{_MONTHS[start.month - 1]} {start.year}"
    return str(start.year)


def _x_labels(
    group: TimeGroup, dates: Sequence[datetime], x_of: Callable[[int], float]
) -> tuple[tuple[float, str], ...]:
    every = max(1, math.ceil(len(dates) / MAX_X_LABELS))
    return tuple((x_of(k), axis_label(group, d)) for k, d in enumerate(dates) if k % every == 0)


@attrs.frozen
class TrendPoint:
    """One count: where it is drawn, what the tooltip says, which users it stands for."""

    series: int
    index: int
    count: int
    x: float
    y: float
    text: str


@attrs.frozen
class TrendLine:
    """One series, left to right."""

    label: str
    css_class: str
    points: tuple[TrendPoint, ...]

    @property
    def svg_points(self) -> str:
        """The ``points`` attribute of an SVG polyline."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@attrs.frozen
class TrendChart:
    """Several series on one line chart, in users."""

    width: int
    height: int
    lines: tuple[TrendLine, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float

    @classmethod
    def build(cls, trend: Trend, labels: Sequence[str]) -> TrendChart:
        """Lay out every series of ``trend`` (``labels`` name them)."""
        group = trend.spec.time_group
        n = len(trend.dates)
        highest = max((c for s in trend.series for c in s.counts), default=0)
        step, steps = _ticks(highest)
        top = step * steps
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

        def x_of(k: int) -> float:
            return LEFT + (plot_w / 2 if n == 1 else plot_w * k / (n - 1))

        def y_of(value: float) -> float:
            return TOP + plot_h * (1 - value / top)

        lines = tuple(
            TrendLine(
                label,
                f"line-{i % PALETTE_SIZE}",
                tuple(
                    TrendPoint(
                        i,
                        k,
                        count,
                        x_of(k),
                        y_of(count),
                        f"{label}, {period_label(group, trend.dates[k])}: {count:,} users",
                    )
                    for k, count in enumerate(series.counts)
                ),
            )
            for i, (label, series) in enumerate(zip(labels, trend.series, strict=True))
        )
        return cls(
            width=WIDTH,
            height=HEIGHT,
            lines=lines,
            y_ticks=tuple((y_of(step * k), _tick_text(step * k)) for k in range(steps + 1)),
            x_ticks=_x_labels(group, trend.dates, x_of),
            plot_left=LEFT,
            plot_right=WIDTH - RIGHT,
            plot_top=TOP,
            plot_bottom=HEIGHT - BOTTOM,
        )


@attrs.frozen
class Bar:
    """One segment of a lifecycle bar."""

    status: str
    index: int
    count: int
    x: float
    y: float
    width: float
    height: float
    text: str


@attrs.frozen
class LifecycleChart:
    """Stacked bars per period: new, returning, resurrecting above zero, dormant below."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    zero: float
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float

    @classmethod
    def build(cls, lifecycle: Lifecycle) -> LifecycleChart:
        """Lay out ``lifecycle``: one bar per period, one segment per non-zero status."""
        group = lifecycle.spec.time_group
        n = len(lifecycle.dates)
        above = [sum(lifecycle.counts(s)[k] for s in STACKED) for k in range(n)]
        below = list(lifecycle.dormant)
        step, _ = _ticks(max(max(above, default=0), max(below, default=0)))
        up = max(1, math.ceil(max(above, default=0) / step - 1e-9))
        down = math.ceil(max(below, default=0) / step - 1e-9)
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        unit = plot_h / ((up + down) * step)
        zero = TOP + up * step * unit
        slot = plot_w / n
        bar_w = max(1.0, slot * 0.7)

        def x_of(k: int) -> float:
            return LEFT + slot * (k + 0.5)

        bars: list[Bar] = []
        for k, date in enumerate(lifecycle.dates):
            label = period_label(group, date)
            left = x_of(k) - bar_w / 2
            y = zero
            for status in STACKED:
                count = lifecycle.counts(status)[k]
                if count:
                    height = count * unit
                    y -= height
                    text = f"{label}: {count:,} {status.value}"
                    bars.append(Bar(status.value, k, count, left, y, bar_w, height, text))
            if below[k]:
                text = f"{label}: {below[k]:,} dormant"
                bars.append(Bar("dormant", k, below[k], left, zero, bar_w, below[k] * unit, text))
        y_ticks = tuple(
            (zero - step * i * unit, _tick_text(step * i)) for i in range(up + 1)
        ) + tuple((zero + step * i * unit, "-" + _tick_text(step * i)) for i in range(1, down + 1))
        return cls(
            width=WIDTH,
            height=HEIGHT,
            bars=tuple(bars),
            zero=zero,
            y_ticks=y_ticks,
            x_ticks=_x_labels(group, lifecycle.dates, x_of),
            plot_left=LEFT,
            plot_right=WIDTH - RIGHT,
            plot_top=TOP,
            plot_bottom=HEIGHT - BOTTOM,
        )


@attrs.frozen
class Sparkline:
    """A small line of counts, for a table cell."""

    width: int
    height: int
    points: str
    last_x: float
    last_y: float
    highest: int

    @classmethod
    def build(cls, counts: Sequence[int], *, width: int = 120, height: int = 26) -> Sparkline:
        """The counts from ``0`` (bottom) to their highest (top), left to right."""
        highest = max(counts, default=0)
        n = len(counts)
        pad = 2.0

        def x_of(k: int) -> float:
            return pad + (width - 2 * pad) * (k / (n - 1) if n > 1 else 0.5)

        def y_of(value: int) -> float:
            return height - pad - (height - 2 * pad) * (value / highest if highest else 0)

        points = " ".join(f"{x_of(k):.1f},{y_of(c):.1f}" for k, c in enumerate(counts))
        last = n - 1
        return cls(width, height, points, x_of(last), y_of(counts[last]) if n else height, highest)
