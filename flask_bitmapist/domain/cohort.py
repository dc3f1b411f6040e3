"""Cohort specifications and results.

Rows are the ``rows`` periods ending with the one containing ``now``, oldest first;
column ``j`` of row ``i`` is period ``i + j``. See :class:`CohortMode` for what a cell counts.
"""

from __future__ import annotations

import enum
import functools
from datetime import datetime, tzinfo

import attrs

from flask_bitmapist.domain.errors import InvalidCohortSpec, InvalidExpression
from flask_bitmapist.domain.expressions import Expression, check_positive
from flask_bitmapist.domain.history import first_ever_events
from flask_bitmapist.domain.periods import UTC, Period, TimeGroup, localize
from flask_bitmapist.domain.window import calendar_edge

__all__ = ["DEFAULT_MAX_COHORT_CELLS", "MAX_COLS", "MAX_ROWS", "Cohort", "CohortMode", "CohortSpec"]

MAX_ROWS = 1000
MAX_COLS = 1000
DEFAULT_MAX_COHORT_CELLS = 20_000


class CohortMode(enum.Enum):
    """What cell (i, j) counts, of the users P_i in row i's primary set.

    - ``FIRST_RETURN`` (0.1's default): users whose first match is period i + j,
      ``|P_i & S_(i+j) - (S_i | ... | S_(i+j-1))|``.
    - ``RECURRING`` (0.1's ``with_replacement=True``): ``|P_i & S_(i+j)|``.
    - ``CUMULATIVE`` (unbounded retention, "on or after"): ``|P_i & (S_(i+j) | ... | S_now)|``.
    """

    FIRST_RETURN = "first_return"
    RECURRING = "recurring"
    CUMULATIVE = "cumulative"

    @classmethod
    def parse(cls, value: str | CohortMode) -> CohortMode:
        """Parse ``"first_return"``, ``"recurring"`` or ``"cumulative"`` (``-`` works for ``_``)."""
        if isinstance(value, CohortMode):
            return value
        if isinstance(value, str):
            name = value.strip().lower().replace("-", "_")
            for mode in cls:
                if mode.value == name:
                    return mode
        choices = ", ".join(mode.value for mode in cls)
        raise InvalidCohortSpec(f"unknown mode {value!r}; expected one of {choices}", field="mode")


def _bounded(field: str, value: object, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCohortSpec(f"{field} must be an int, got {value!r}", field=field)
    if not 1 <= value <= upper:
        raise InvalidCohortSpec(
            f"{field} must be between 1 and {upper}, got {value!r}", field=field
        )
    return value


@attrs.frozen
class CohortSpec:
    """A validated cohort request. Build it with :meth:`create`.

    With ``first_time``, row i holds only the users whose first-ever match of the primary
    fell in period i (see docs/answers.md): everyone who matched it at any earlier
    moment the storage holds is left out. The primary must then be an event or an OR of
    events. Cells count as ``mode`` says, unchanged.
    """

    primary: Expression
    secondary: Expression
    time_group: TimeGroup
    rows: int
    cols: int
    now: datetime
    mode: CohortMode = CohortMode.FIRST_RETURN
    first_time: bool = False

    @classmethod
    def create(
        cls,
        primary: Expression,
        secondary: Expression,
        *,
        now: datetime,
        time_group: str | TimeGroup = TimeGroup.DAY,
        rows: int = 10,
        cols: int = 10,
        mode: str | CohortMode = CohortMode.FIRST_RETURN,
        max_cells: int = DEFAULT_MAX_COHORT_CELLS,
        zone: tzinfo | None = None,
        first_time: bool = False,
    ) -> CohortSpec:
        """Validate every field; errors are :class:`InvalidCohortSpec` naming the field.

        Periods are local to ``zone``, by default the zone ``now`` carries (UTC for a naive
        ``now``): an app passes its local ``now`` and gets its calendar.
        """
        for field, expr in (("primary", primary), ("secondary", secondary)):
            if not isinstance(expr, Expression):
                raise InvalidCohortSpec(
                    f"{field} must be an expression (parse_expression or parse_chain), "
                    f"got {expr!r}",
                    field=field,
                )
            try:
                check_positive(expr)
            except InvalidExpression as exc:
                raise InvalidCohortSpec(f"{field}: {exc}", field=field) from exc
        if not isinstance(first_time, bool):
            raise InvalidCohortSpec(
                f"first_time must be True or False, got {first_time!r}", field="first_time"
            )
        if first_time:
            try:
                first_ever_events(primary)
            except InvalidExpression as exc:
                raise InvalidCohortSpec(
                    f"primary: first-time rows need an event or an OR of events: {exc}",
                    field="primary",
                ) from exc
        try:
            group = TimeGroup.parse(time_group)
        except ValueError as exc:
            raise InvalidCohortSpec(str(exc), field="time_group") from exc
        rows = _bounded("rows", rows, MAX_ROWS)
        cols = _bounded("cols", cols, MAX_COLS)
        if rows * cols > max_cells:
            raise InvalidCohortSpec(
                f"a cohort of {rows} rows x {cols} columns has {rows * cols} cells; "
                f"at most {max_cells} are allowed",
                field="cols" if cols > rows else "rows",
            )
        try:
            moment = localize(now, zone)
        except TypeError as exc:
            raise InvalidCohortSpec(str(exc), field="now") from exc
        edge = calendar_edge(Period.containing(group, moment), rows, count_field="rows")
        if edge is not None:
            raise InvalidCohortSpec(edge.message, field=edge.field)
        return cls(
            primary, secondary, group, rows, cols, moment, CohortMode.parse(mode), first_time
        )

    @property
    def last_period(self) -> Period:
        """The period containing ``now``: nothing after it has happened yet."""
        return Period.containing(self.time_group, self.now, self.zone)

    @property
    def zone(self) -> tzinfo:
        """The zone whose calendar the periods follow: the one ``now`` is kept in."""
        return self.now.tzinfo or UTC

    def row_periods(self) -> tuple[Period, ...]:
        """The rows' periods, oldest first. Cells only ever look at these periods too:
        period ``i + j`` beyond the last row is in the future."""
        last = self.last_period
        return tuple(last.shift(i - self.rows + 1) for i in range(self.rows))


def _ratio(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


# Not slotted: the derived tables are functools.cached_property values, kept in the
# instance's __dict__ (attrs before 23.2 cannot cache properties on a slotted class).
@attrs.frozen(slots=False)
class Cohort:
    """A computed cohort table and what is derived from it.

    ``cells[i][j]`` is ``None`` when period ``i + j`` is after ``now``'s period, and the
    whole row is ``None`` when the row's total is 0 (0.1 behaviour).

    Every derived table (percentages, column totals, averages) is computed once, on first
    use, and kept: a page reading ``percentages[i][j]`` per cell stays linear in the cells.
    """

    spec: CohortSpec
    dates: tuple[datetime, ...]
    totals: tuple[int, ...]
    cells: tuple[tuple[int | None, ...], ...]

    def columns(self) -> list[list[int]]:
        """The non-None values of each column."""
        return [list(column) for column in self._columns]

    @functools.cached_property
    def _columns(self) -> tuple[tuple[int, ...], ...]:
        return tuple(
            tuple(row[j] for row in self.cells if row[j] is not None)  # type: ignore[misc]
            for j in range(self.spec.cols)
        )

    @functools.cached_property
    def percentages(self) -> tuple[tuple[float | None, ...], ...]:
        """Each cell as a percentage of its row total."""
        return tuple(
            tuple(None if cell is None else _ratio(cell, total) for cell in row)
            for row, total in zip(self.cells, self.totals, strict=True)
        )

    @functools.cached_property
    def column_totals(self) -> tuple[int, ...]:
        """The sum of each column's values."""
        return tuple(sum(column) for column in self._columns)

    @functools.cached_property
    def averages(self) -> tuple[float | None, ...]:
        """The simple mean of each column's values (None where the column has none)."""
        return tuple(sum(c) / len(c) if c else None for c in self._columns)

    @functools.cached_property
    def average_percentages(self) -> tuple[float | None, ...]:
        """The simple mean of each column's percentages."""
        out: list[float | None] = []
        for j in range(self.spec.cols):
            values = [row[j] for row in self.percentages if row[j] is not None]
            out.append(sum(values) / len(values) if values else None)  # type: ignore[arg-type]
        return tuple(out)

    @functools.cached_property
    def weighted_averages(self) -> tuple[float | None, ...]:
        """Column sum / sum of the row totals that have a value in that column, in percent."""
        out: list[float | None] = []
        for j in range(self.spec.cols):
            pairs = [(row[j], t) for row, t in zip(self.cells, self.totals, strict=True)]
            weight = sum(t for cell, t in pairs if cell is not None)
            value = sum(cell for cell, _ in pairs if cell is not None)
            out.append(_ratio(value, weight) if weight else None)
        return tuple(out)

    def as_lists(self) -> list[list[int | None]]:
        """The cells as a list of lists (0.1's ``cohort``)."""
        return [list(row) for row in self.cells]
