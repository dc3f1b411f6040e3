"""Geometry of every chart of the dashboard, drawn as inline SVG by the templates: the
retention chart (cohorts), trend lines, lifecycle bars, stickiness bars, funnel steps and
the events page's sparklines.

The retention chart has one thin line per cohort row and a bold line for the table's
*Average* row, in the unit the table shows (percent of the row total, or users).
Computing the coordinates here keeps the templates declarative and lets the charts work
without JavaScript; work is linear in the number of points.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import attrs

from flask_bitmapist.domain import (
    Cohort,
    Funnel,
    Lifecycle,
    LifecycleStatus,
    Stickiness,
    TimeGroup,
    Trend,
)
from flask_bitmapist.services.reports import (
    column_label,
    format_decimal,
    format_number,
    period_label,
)

__all__ = [
    "Axes",
    "Bar",
    "ChartLine",
    "ChartPoint",
    "Frame",
    "FunnelChart",
    "FunnelStep",
    "LifecycleChart",
    "RetentionChart",
    "Sparkline",
    "StackedBar",
    "StickinessChart",
    "TrendChart",
    "TrendLine",
    "TrendPoint",
    "axis_label",
    "nice_ceiling",
]

WIDTH = 640
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 56, 20, 16, 40
#: Row lines cycle through this many colour classes (``line-0`` ... in the stylesheet).
PALETTE_SIZE = 8


@attrs.frozen
class Frame:
    """A chart's size and its plot, inside the margins: where a value of a users (or
    percent) axis is drawn, the axis's labels, and what every chart says of its box."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def plot_width(self) -> float:
        return float(self.width - self.left - self.right)

    @property
    def plot_height(self) -> float:
        return float(self.height - self.top - self.bottom)

    def y_of(self, value: float, highest: float) -> float:
        """Where ``value`` is drawn on an axis from 0 (bottom) to ``highest`` (top)."""
        return self.top + self.plot_height * (1 - value / highest)

    def y_ticks(
        self, step: float, steps: int, text: Callable[[float], str]
    ) -> tuple[tuple[float, str], ...]:
        """The labels of an axis from 0 to ``steps`` times ``step``, each at its height."""
        top = step * steps
        return tuple((self.y_of(step * k, top), text(step * k)) for k in range(steps + 1))

    def box(self) -> dict[str, Any]:
        """The chart's size and its plot's edges, as every chart model holds them."""
        return {
            "width": self.width,
            "height": self.height,
            "plot_left": self.left,
            "plot_right": self.width - self.right,
            "plot_top": self.top,
            "plot_bottom": self.height - self.bottom,
        }


@attrs.frozen
class Axes:
    """What every chart with axes holds besides its marks: its size, the labels of its
    value axis (``y_ticks``) and of its other axis (``x_ticks``), at their positions, and
    the edges of its plot (:meth:`Frame.box`)."""

    width: int
    height: int
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float


#: The retention, stickiness and funnel charts' frame.
FRAME = Frame(WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM)


def _axis(highest: float, *, whole: bool = True) -> tuple[float, int]:
    """The top of an axis with at most four round steps (0-10-20-30-40 rather than
    0-12.5-25-37.5-50): (step, number of steps); ``whole``: users, not percent."""
    step = nice_ceiling(highest / 4, whole=whole)
    return step, max(1, math.ceil(highest / step - 1e-9))


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
class RetentionChart(Axes):
    """Everything the template needs to draw the chart."""

    unit: str
    rows: tuple[ChartLine, ...]
    average: ChartLine

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
        step, steps = _axis(max(present, default=0.0), whole=not as_percent)
        top = steps * step

        def x_of(col: int) -> float:
            return _spread(FRAME, col, spec.cols)

        def y_of(value: float) -> float:
            return FRAME.y_of(value, top)

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
        # At most ~10 labels on the x axis, whatever the number of columns.
        every = max(1, math.ceil(spec.cols / 10))
        return cls(
            unit="% of the row's users" if as_percent else "users",
            rows=rows,
            average=line("Average", "line-average", averages),
            y_ticks=FRAME.y_ticks(step, steps, tick),
            x_ticks=tuple((x_of(j), str(j)) for j in range(0, spec.cols, every)),
            **FRAME.box(),
        )


def _spread(frame: Frame, k: int, n: int) -> float:
    """Where point ``k`` of ``n`` is drawn: the first at the plot's left edge, the last
    at its right (one point: in the middle)."""
    width = frame.plot_width
    return frame.left + (width / 2 if n == 1 else width * k / (n - 1))


# -- stickiness and funnel charts ---------------------------------------------------------


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
class StickinessChart(Axes):
    """A bar per k = 1..N: the users seen in exactly k periods."""

    bars: tuple[Bar, ...]
    axis_title: str
    #: With ``compare="previous"``: the previous window's bars, in the same slots, drawn
    #: faded and dashed behind the current ones (no drill-downs).
    previous: tuple[Bar, ...] = ()

    @classmethod
    def build(cls, stickiness: Stickiness) -> StickinessChart:
        """Lay out ``stickiness``: bars left to right from 1 period to N (and the previous
        window's behind them, when it was asked for)."""
        counts = stickiness.counts
        earlier = stickiness.previous.counts if stickiness.previous is not None else ()
        unit = stickiness.spec.time_group.value
        step, steps = _axis(max((*counts, *earlier), default=0))
        top = step * steps
        slot = FRAME.plot_width / len(counts)
        gap = min(4.0, slot * 0.2)

        def bar(k: int, count: int, text: str) -> Bar:
            x = LEFT + slot * (k - 1) + gap / 2
            height = FRAME.plot_height * count / top
            return Bar(k, count, x, FRAME.y_of(count, top), slot - gap, height, text)

        def periods(k: int) -> str:
            return f"exactly {k} {unit}{'s' if k != 1 else ''}"

        every = max(1, math.ceil(len(counts) / 15))
        x_ticks = tuple(
            (LEFT + slot * (k - 0.5), str(k))
            for k in range(1, len(counts) + 1)
            if k % every == 0 or k == 1
        )
        return cls(
            bars=tuple(
                bar(k, count, f"{count:,} users in {periods(k)}")
                for k, count in enumerate(counts, start=1)
            ),
            previous=tuple(
                bar(k, count, f"Previous {len(counts)} {unit}s: {count:,} users in {periods(k)}")
                for k, count in enumerate(earlier[: len(counts)], start=1)
            ),
            y_ticks=FRAME.y_ticks(step, steps, _tick_text),
            x_ticks=x_ticks,
            axis_title=f"{unit}s with a match, of {len(counts)}",
            **FRAME.box(),
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
    #: With ``compare="previous"``: the previous window's bar of the step, drawn faded and
    #: dashed under the current one, on the same scale.
    previous: Bar | None = None


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
        """Lay out ``funnel``: step 1 at the top, full width when anybody reached it (with
        the previous window's bars, the widest step 1 of the two is full width)."""
        earlier = funnel.previous.counts if funnel.previous is not None else ()
        first = max((funnel.counts[0], *earlier[:1]))
        left = FUNNEL_LEFT
        right = FUNNEL_WIDTH - FUNNEL_LABEL_WIDTH
        full = right - left
        dropped = [*funnel.dropped, None]
        steps = []

        def width(count: int) -> float:
            return max(full * count / first, 1.0) if count else 0.0

        for index, (step, count) in enumerate(zip(funnel.spec.steps, funnel.counts, strict=True)):
            top = TOP + FUNNEL_ROW * index
            bar_y = top + 18
            lost = dropped[index]
            before = earlier[index] if index < len(earlier) else None
            steps.append(
                FunnelStep(
                    k=index + 1,
                    label=f"{index + 1}. {step}",
                    bar=Bar(
                        index + 1,
                        count,
                        left,
                        bar_y,
                        width(count),
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
                    previous=None
                    if before is None
                    else Bar(
                        index + 1,
                        before,
                        left,
                        bar_y,
                        width(before),
                        22,
                        f"Step {index + 1}, previous {funnel.spec.periods} "
                        f"{funnel.spec.time_group.plural}: {before:,} users",
                    ),
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


# -- trend, lifecycle and sparkline charts ------------------------------------------------

SERIES_WIDTH = 760
SERIES_HEIGHT = 320
SERIES_LEFT, SERIES_RIGHT, SERIES_TOP, SERIES_BOTTOM = 64, 20, 16, 44
#: The trend and lifecycle charts' frame.
SERIES_FRAME = Frame(
    SERIES_WIDTH, SERIES_HEIGHT, SERIES_LEFT, SERIES_RIGHT, SERIES_TOP, SERIES_BOTTOM
)
#: At most this many date labels under a chart, whatever the number of periods.
MAX_X_LABELS = 8
#: Stacked above zero, bottom to top; dormant goes below.
STACKED = (LifecycleStatus.NEW, LifecycleStatus.RETURNING, LifecycleStatus.RESURRECTING)


def _tick_text(value: float) -> str:
    return f"{value:,.0f}"


def axis_label(group: TimeGroup, start: datetime) -> str:
    """A period as short as an axis can show it; tooltips and tables give the full label.

    >>> monday = datetime(2026, 11, 23)
    >>> axis_label(TimeGroup.WEEK, monday), axis_label(TimeGroup.DAY, monday)
    ('W48', '23 Nov')
    """
    if group in (TimeGroup.MONTH, TimeGroup.YEAR):
        return period_label(group, start)
    if group is TimeGroup.WEEK:
        return period_label(group, start).split(" · ")[0]
    day = period_label(TimeGroup.DAY, start).removesuffix(f" {start.year}")
    return day if group is TimeGroup.DAY else f"{day} {start.hour:02d}h"


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
    #: Whether the point's period ended by now (else it is drawn dashed: not over yet).
    complete: bool = True


@attrs.frozen
class TrendLine:
    """One series, left to right."""

    label: str
    css_class: str
    points: tuple[TrendPoint, ...]
    #: Whether it is the previous window's series (``compare="previous"``), drawn faded
    #: and dashed over the same x positions, without drill-downs.
    previous: bool = False
    #: Which users its points stand for, in the users route's query string: the series
    #: (``series=0``), and a breakdown's group (``series=0&group=pro``); ``index`` follows.
    query: str = ""

    @property
    def svg_points(self) -> str:
        """The ``points`` attribute of an SVG polyline."""
        return _svg(self.points)

    @property
    def solid_points(self) -> str:
        """The polyline through the complete points (up to the first incomplete one)."""
        return _svg(self.points[: self._first_incomplete])

    @property
    def dashed_points(self) -> str:
        """The polyline from the last complete point through the incomplete ones, drawn
        dashed ("" when every point is complete)."""
        cut = self._first_incomplete
        return "" if cut == len(self.points) else _svg(self.points[max(0, cut - 1) :])

    @property
    def _first_incomplete(self) -> int:
        return next((k for k, p in enumerate(self.points) if not p.complete), len(self.points))


def _svg(points: Sequence[TrendPoint]) -> str:
    return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points)


@attrs.frozen
class TrendChart(Axes):
    """Several series on one line chart, in users."""

    lines: tuple[TrendLine, ...]

    @classmethod
    def build(
        cls,
        trend: Trend,
        labels: Sequence[str],
        complete: Sequence[bool] = (),
        *,
        breakdown: str = "",
        groups: Sequence[tuple[str | None, Trend]] = (),
    ) -> TrendChart:
        """Lay out every series of ``trend`` (``labels`` name them); points whose
        ``complete`` flag is false (the period containing now) are drawn dashed.

        With the ``groups`` of a ``breakdown`` (value, or None for everyone else, and
        that group's trend), each series is drawn once per group instead: "paid, plan =
        pro", ..., "paid, everyone else" (they add up to the series)."""
        drawn: list[tuple[str, int, Trend, str]] = []  # label, series, trend, group query
        for value, part in groups:
            name = "everyone else" if value is None else f"{breakdown} = {value}"
            query = urlencode({"group": "" if value is None else value})
            drawn += [(f"{label}, {name}", i, part, query) for i, label in enumerate(labels)]
        if not groups:
            drawn = [(label, i, trend, "") for i, label in enumerate(labels)]
        group = trend.spec.time_group
        n = len(trend.dates)
        counts = [(*part.series[i].counts, *_previous_counts(part, i)) for _, i, part, _ in drawn]
        step, steps = _axis(max((c for line in counts for c in line), default=0))
        top = step * steps

        def x_of(k: int) -> float:
            return _spread(SERIES_FRAME, k, n)

        def y_of(value: float) -> float:
            return SERIES_FRAME.y_of(value, top)

        lines: list[TrendLine] = []
        previous: list[TrendLine] = []
        for colour, (label, i, part, extra) in enumerate(drawn):
            css = f"line-{colour % PALETTE_SIZE}"
            points = tuple(
                TrendPoint(
                    i,
                    k,
                    count,
                    x_of(k),
                    y_of(count),
                    f"{label}, {period_label(group, trend.dates[k])}: {count:,} users"
                    + ("" if _complete(complete, k) else " (incomplete: not over yet)"),
                    _complete(complete, k),
                )
                for k, count in enumerate(part.series[i].counts)
            )
            query = "&".join(q for q in (f"series={i}", extra) if q)
            lines.append(TrendLine(label, css, points, query=query))
            if part.previous is not None and i < len(part.previous.series):
                before = tuple(
                    TrendPoint(i, k, count, x_of(k), y_of(count), f"{label}, previous: {count:,}")
                    for k, count in enumerate(part.previous.series[i].counts)
                )
                previous.append(
                    TrendLine(f"{label} (previous)", f"{css} previous", before, previous=True)
                )
        return cls(
            lines=(*previous, *lines),
            y_ticks=SERIES_FRAME.y_ticks(step, steps, _tick_text),
            x_ticks=_x_labels(group, trend.dates, x_of),
            **SERIES_FRAME.box(),
        )


def _previous_counts(trend: Trend, series: int) -> tuple[int, ...]:
    """The previous window's counts of ``series`` (none without a comparison)."""
    earlier = trend.previous.series if trend.previous is not None else ()
    return earlier[series].counts if series < len(earlier) else ()


@attrs.frozen
class StackedBar:
    """One segment of a lifecycle bar (stacked above zero, or dormant below it)."""

    status: str
    index: int
    count: int
    x: float
    y: float
    width: float
    height: float
    text: str
    #: Whether the bar's period ended by now (else it is drawn dashed: not over yet).
    complete: bool = True


@attrs.frozen
class LifecycleChart(Axes):
    """Stacked bars per period: new, returning, resurrecting above zero, dormant below."""

    bars: tuple[StackedBar, ...]
    zero: float

    @classmethod
    def build(cls, lifecycle: Lifecycle, complete: Sequence[bool] = ()) -> LifecycleChart:
        """Lay out ``lifecycle``: one bar per period, one segment per non-zero status;
        bars whose ``complete`` flag is false (the period containing now) are dashed."""
        group = lifecycle.spec.time_group
        n = len(lifecycle.dates)
        above = [sum(lifecycle.counts(s)[k] for s in STACKED) for k in range(n)]
        below = list(lifecycle.dormant)
        step, _ = _axis(max(max(above, default=0), max(below, default=0)))
        up = max(1, math.ceil(max(above, default=0) / step - 1e-9))
        down = math.ceil(max(below, default=0) / step - 1e-9)
        unit = SERIES_FRAME.plot_height / ((up + down) * step)
        zero = SERIES_TOP + up * step * unit
        slot = SERIES_FRAME.plot_width / n
        bar_w = max(1.0, slot * 0.7)

        def x_of(k: int) -> float:
            return SERIES_LEFT + slot * (k + 0.5)

        bars: list[StackedBar] = []
        for k, date in enumerate(lifecycle.dates):
            done = _complete(complete, k)
            label = period_label(group, date) + ("" if done else " (incomplete)")
            left = x_of(k) - bar_w / 2
            y = zero
            for status in STACKED:
                count = lifecycle.counts(status)[k]
                if count:
                    height = count * unit
                    y -= height
                    text = f"{label}: {count:,} {status.value}"
                    bars.append(
                        StackedBar(status.value, k, count, left, y, bar_w, height, text, done)
                    )
            if below[k]:
                text = f"{label}: {below[k]:,} dormant"
                bars.append(
                    StackedBar(
                        "dormant", k, below[k], left, zero, bar_w, below[k] * unit, text, done
                    )
                )
        y_ticks = tuple(
            (zero - step * i * unit, _tick_text(step * i)) for i in range(up + 1)
        ) + tuple((zero + step * i * unit, "-" + _tick_text(step * i)) for i in range(1, down + 1))
        return cls(
            bars=tuple(bars),
            zero=zero,
            y_ticks=y_ticks,
            x_ticks=_x_labels(group, lifecycle.dates, x_of),
            **SERIES_FRAME.box(),
        )


def _complete(flags: Sequence[bool], k: int) -> bool:
    """Whether period ``k`` is over (every period is, without flags)."""
    return flags[k] if k < len(flags) else True


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
