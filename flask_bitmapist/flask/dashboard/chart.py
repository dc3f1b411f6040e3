"""Geometry of the retention chart, drawn as inline SVG by the cohort template.

One thin line per cohort row and a bold line for the table's *Average* row, in the unit
the table shows (percent of the row total, or users). Computing the coordinates here
keeps the template declarative and lets the chart work without JavaScript.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from flask_bitmapist.domain import Cohort, Funnel, Stickiness
from flask_bitmapist.services.reports import (
    column_label,
    format_decimal,
    format_number,
    period_label,
)

__all__ = [
    "Bar",
    "ChartLine",
    "ChartPoint",
    "FunnelChart",
    "FunnelStep",
    "RetentionChart",
    "StickinessChart",
    "nice_ceiling",
]

WIDTH = 640
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 56, 20, 16, 40
#: Row lines cycle through this many colour classes (``line-0`` ... in the stylesheet).
PALETTE_SIZE = 8


def nice_ceiling(value: float, *, whole: bool = False) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= ``value`` (> 0).

    With ``whole`` (counting users), 2.5 is skipped and the result is at least 1.

    >>> nice_ceiling(37), nice_ceiling(0.3), nice_ceiling(100), nice_ceiling(2.2, whole=True)
    (50.0, 0.5, 100.0, 5.0)
    """
    if value <= 0:
        return 1.0
    if whole and value <= 1:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0) if whole else (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10.0**exponent
        if candidate >= value * (1 - 1e-12):
            return candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


@attrs.frozen
class ChartPoint:
    """One value: where it is drawn and what the tooltip says."""

    col: int
    value: float
    x: float
    y: float
    text: str


@attrs.frozen
class ChartLine:
    """One row's (or the average's) points, left to right."""

    label: str
    css_class: str
    points: tuple[ChartPoint, ...]

    @property
    def svg_points(self) -> str:
        """The ``points`` attribute of an SVG polyline."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@attrs.frozen
class RetentionChart:
    """Everything the template needs to draw the chart."""

    width: int
    height: int
    unit: str
    rows: tuple[ChartLine, ...]
    average: ChartLine
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float

    @classmethod
    def build(cls, cohort: Cohort, *, as_percent: bool) -> RetentionChart:
        """Lay out ``cohort`` in percent of each row's users, or in users."""
        spec = cohort.spec
        group = spec.time_group
        values: Sequence[Sequence[float | None]] = (
            cohort.percentages if as_percent else cohort.cells
        )
        averages = cohort.average_percentages if as_percent else cohort.averages
        present = [v for row in values for v in row if v is not None]
        present += [v for v in averages if v is not None]
        # At most four equal, round steps: 0-10-20-30-40 rather than 0-12.5-25-37.5-50.
        highest = max(present, default=0.0)
        step = nice_ceiling(highest / 4, whole=not as_percent)
        steps = max(1, math.ceil(highest / step - 1e-9))
        top = steps * step
        plot_w = WIDTH - LEFT - RIGHT
        plot_h = HEIGHT - TOP - BOTTOM

        def x_of(col: int) -> float:
            return LEFT + (plot_w / 2 if spec.cols == 1 else plot_w * col / (spec.cols - 1))

        def y_of(value: float) -> float:
            return TOP + plot_h * (1 - value / top)

        def fmt(value: float) -> str:
            return format_decimal(value) + "%" if as_percent else format_number(value)

        def tick(value: float) -> str:
            text = f"{value:,.2f}".rstrip("0").rstrip(".")
            return f"{text}%" if as_percent else text

        def line(label: str, css: str, row: Sequence[float | None]) -> ChartLine:
            points = tuple(
                ChartPoint(j, v, x_of(j), y_of(v), f"{label}, {column_label(group, j)}: {fmt(v)}")
                for j, v in enumerate(row)
                if v is not None
            )
            return ChartLine(label, css, points)

        rows = tuple(
            line(period_label(group, date), f"line-{i % PALETTE_SIZE}", row)
            for i, (date, row) in enumerate(zip(cohort.dates, values, strict=True))
            if any(v is not None for v in row)
        )
        average = line("Average", "line-average", averages)
        y_ticks = tuple((y_of(step * k), tick(step * k)) for k in range(steps + 1))
        # At most ~10 labels on the x axis, whatever the number of columns.
        every = max(1, math.ceil(spec.cols / 10))
        x_ticks = tuple((x_of(j), str(j)) for j in range(0, spec.cols, every))
        return cls(
            width=WIDTH,
            height=HEIGHT,
            unit="% of the row's users" if as_percent else "users",
            rows=rows,
            average=average,
            y_ticks=y_ticks,
            x_ticks=x_ticks,
            plot_left=LEFT,
            plot_right=WIDTH - RIGHT,
            plot_top=TOP,
            plot_bottom=HEIGHT - BOTTOM,
        )


# -- stickiness and funnel charts ---------------------------------------------------------


def _axis(highest: float) -> tuple[float, int]:
    """The top of a users axis with at most four round steps: (step, number of steps)."""
    step = nice_ceiling(highest / 4, whole=True)
    return step, max(1, math.ceil(highest / step - 1e-9))


@attrs.frozen
class Bar:
    """One bar: which ``k`` (or step) it is, its value, its box and its tooltip."""

    k: int
    value: int
    x: float
    y: float
    width: float
    height: float
    text: str


@attrs.frozen
class StickinessChart:
    """A bar per k = 1..N: the users seen in exactly k periods."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    axis_title: str

    @classmethod
    def build(cls, stickiness: Stickiness) -> StickinessChart:
        """Lay out ``stickiness``: bars left to right from 1 period to N."""
        counts = stickiness.counts
        unit = stickiness.spec.time_group.value
        step, steps = _axis(max(counts, default=0))
        top = step * steps
        plot_w = WIDTH - LEFT - RIGHT
        plot_h = HEIGHT - TOP - BOTTOM
        slot = plot_w / len(counts)
        gap = min(4.0, slot * 0.2)

        def y_of(value: float) -> float:
            return TOP + plot_h * (1 - value / top)

        bars = tuple(
            Bar(
                k,
                count,
                LEFT + slot * (k - 1) + gap / 2,
                y_of(count),
                slot - gap,
                plot_h * count / top,
                f"{count:,} users in exactly {k} {unit}{'s' if k != 1 else ''}",
            )
            for k, count in enumerate(counts, start=1)
        )
        every = max(1, math.ceil(len(counts) / 15))
        x_ticks = tuple(
            (LEFT + slot * (k - 0.5), str(k))
            for k in range(1, len(counts) + 1)
            if k % every == 0 or k == 1
        )
        y_ticks = tuple((y_of(step * i), f"{step * i:,.0f}") for i in range(steps + 1))
        return cls(
            width=WIDTH,
            height=HEIGHT,
            bars=bars,
            y_ticks=y_ticks,
            x_ticks=x_ticks,
            plot_left=LEFT,
            plot_right=WIDTH - RIGHT,
            plot_top=TOP,
            plot_bottom=HEIGHT - BOTTOM,
            axis_title=f"{unit}s with a match, of {len(counts)}",
        )


@attrs.frozen
class FunnelStep:
    """One step's bar, and the drop-off to the next step (None after the last)."""

    k: int
    label: str
    bar: Bar
    from_previous: str
    from_first: str
    label_y: float
    dropped: int | None
    dropped_share: str
    drop_y: float


FUNNEL_WIDTH = 900
FUNNEL_ROW = 64
FUNNEL_LEFT = 8
#: Room right of the bars for "1,234,567 · 100.0% of prev. · 100.0% of first".
FUNNEL_LABEL_WIDTH = 320


@attrs.frozen
class FunnelChart:
    """A horizontal bar per step, as wide as its share of step 1, with the conversions."""

    width: int
    height: int
    steps: tuple[FunnelStep, ...]
    bar_left: float
    bar_right: float

    @classmethod
    def build(cls, funnel: Funnel) -> FunnelChart:
        """Lay out ``funnel``: step 1 at the top, full width when anybody reached it."""
        first = funnel.counts[0]
        left = FUNNEL_LEFT
        right = FUNNEL_WIDTH - FUNNEL_LABEL_WIDTH
        full = right - left
        dropped = [*funnel.dropped, None]
        steps = []
        for index, (step, count) in enumerate(zip(funnel.spec.steps, funnel.counts, strict=True)):
            top = TOP + FUNNEL_ROW * index
            bar_y = top + 18
            share = count / first if first else 0.0
            lost = dropped[index]
            steps.append(
                FunnelStep(
                    k=index + 1,
                    label=f"{index + 1}. {step}",
                    bar=Bar(
                        index + 1,
                        count,
                        left,
                        bar_y,
                        max(full * share, 1.0 if count else 0.0),
                        22,
                        f"Step {index + 1}: {count:,} users",
                    ),
                    from_previous=_percent(funnel.from_previous[index]),
                    from_first=_percent(funnel.from_first[index]),
                    label_y=top + 12,
                    dropped=lost,
                    dropped_share=_percent(
                        100.0 * lost / count if lost is not None and count else None
                    ),
                    drop_y=bar_y + 36,
                )
            )
        return cls(
            width=FUNNEL_WIDTH,
            height=TOP + FUNNEL_ROW * len(steps) + 4,
            steps=tuple(steps),
            bar_left=left,
            bar_right=right,
        )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"
