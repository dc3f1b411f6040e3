"""The engine agrees with a brute-force set model on random data, expressions and cohorts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    And,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    Expression,
    Mark,
    Not,
    Or,
    TimeGroup,
    parse_chain,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository
from tests.unit.domain.set_model import (
    Action,
    SetModel,
    UsersIn,
    cell_users,
    cohort,
    row_starts,
)

UTC = timezone.utc
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)

# A few events; two of them need quoting in the text form.
EVENTS = ("a", "b", "user:paid", "x&y", "or")

# Moments where calendars are tricky: new year (ISO week 53 and week 1), month ends,
# leap days, the non-leap 2100.
ANCHORS = (
    datetime(2026, 12, 31, 23, 30),
    datetime(2027, 1, 1, 0, 15),
    datetime(2027, 1, 4, 0, 0),
    datetime(2021, 1, 1, 12, 0),
    datetime(2021, 1, 4, 0, 30),
    datetime(2024, 2, 29, 23, 59),
    datetime(2024, 3, 1, 0, 0),
    datetime(2100, 3, 1, 1, 0),
    datetime(2026, 3, 31, 23, 0),
    datetime(2026, 4, 30, 22, 0),
    datetime(2026, 11, 27, 13, 45),
)
OFFSETS = (timedelta(0), timedelta(hours=9), timedelta(hours=-5), timedelta(hours=5, minutes=30))

# Roughly one period of each group, in seconds, to spread actions over the rows.
UNIT = {
    TimeGroup.HOUR: 3600,
    TimeGroup.DAY: 86_400,
    TimeGroup.WEEK: 7 * 86_400,
    TimeGroup.MONTH: 31 * 86_400,
    TimeGroup.YEAR: 366 * 86_400,
}


@attrs.frozen
class Scenario:
    """Random actions around a random ``now``, and the shape of a cohort over them."""

    group: TimeGroup
    now: datetime
    rows: int
    cols: int
    mode: CohortMode
    actions: tuple[Action, ...]


@st.composite
def scenarios(draw: st.DrawFn, events: tuple[str, ...] = EVENTS, crowd: int = 300) -> Scenario:
    """Actions of ``events`` by users up to ``crowd`` around a random ``now``."""
    group = draw(st.sampled_from(list(TimeGroup)))
    anchor = draw(
        st.one_of(
            st.sampled_from(ANCHORS),
            st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2031, 12, 31)),
        )
    )
    # A non-UTC ``now`` is taken in UTC; the offset moves the instant, which is fine.
    now = anchor.replace(tzinfo=timezone(draw(st.sampled_from(OFFSETS))))
    rows = draw(st.integers(min_value=1, max_value=7))
    cols = draw(st.integers(min_value=1, max_value=8))
    unit = UNIT[group]
    # Mostly within the rows, some a little before the first and after now's period.
    offsets = st.integers(min_value=-(rows + 1) * unit, max_value=2 * unit)
    # Mostly a small pool of users, so that events overlap and cells are not all 0.
    users = st.one_of(st.integers(min_value=0, max_value=10), st.integers(0, crowd))
    # Drawn count first: left to itself, hypothesis keeps lists short.
    count = draw(st.integers(min_value=0, max_value=150))
    actions = draw(
        st.lists(
            st.tuples(st.sampled_from(events), users, offsets).map(
                lambda t: (t[0], t[1], now + timedelta(seconds=t[2]))
            ),
            min_size=count,
            max_size=count,
        )
    )
    mode = draw(st.sampled_from(list(CohortMode)))
    return Scenario(group, now, rows, cols, mode, tuple(actions))


def positive_expressions() -> st.SearchStrategy[Expression]:
    """Random expression trees; a negation appears only as a term of an And that also has a
    positive term (the only place it means something)."""

    def extend(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
        @st.composite
        def and_(draw: st.DrawFn) -> Expression:
            positives = draw(st.lists(children, min_size=1, max_size=3))
            negated = [Not(term) for term in draw(st.lists(children, max_size=2))]
            terms = [*positives, *negated]
            if len(terms) == 1:
                return terms[0]
            return And(tuple(draw(st.permutations(terms))))

        ors = st.lists(children, min_size=2, max_size=3).map(lambda terms: Or(tuple(terms)))
        return st.one_of(ors, and_())

    leaves: st.SearchStrategy[Expression] = st.sampled_from(EVENTS).map(EventRef)
    return st.recursive(leaves, extend, max_leaves=7)


chain_steps = st.lists(
    st.tuples(st.sampled_from(["and", "or", "AND", " Or "]), st.sampled_from(EVENTS)),
    max_size=5,
)


def engine_over(scenario: Scenario) -> CohortEngine:
    repository = InMemoryRepository()
    repository.mark(
        [Mark.create(event, user, moment, hourly=True) for event, user, moment in scenario.actions]
    )
    return CohortEngine(repository)


def check_cohort(
    engine: CohortEngine,
    scenario: Scenario,
    primary: Expression,
    secondary: Expression,
    model_primary: UsersIn,
    model_secondary: UsersIn,
    cell: tuple[int, int],
) -> None:
    """Compute the cohort of ``primary`` and ``secondary`` with the engine and compare the
    dates, totals, every cell and one cell's users with the model's."""
    spec = CohortSpec.create(
        primary,
        secondary,
        now=scenario.now,
        time_group=scenario.group,
        rows=scenario.rows,
        cols=scenario.cols,
        mode=scenario.mode,
    )
    computed = engine.compute(spec)
    dates, totals, cells = cohort(
        model_primary,
        model_secondary,
        scenario.group,
        scenario.now,
        scenario.rows,
        scenario.cols,
        scenario.mode.value,
    )
    assert computed.dates == dates
    assert computed.totals == totals
    assert computed.cells == cells

    # Drill down into one cell that is not in the future.
    row, col = cell
    starts = row_starts(scenario.group, scenario.now, scenario.rows)
    p = [model_primary(start) for start in starts]
    s = [model_secondary(start) for start in starts]
    expected = cell_users(p, s, row, col, scenario.mode.value)
    assert set(engine.cell_users(spec, row, col)) == expected
    if computed.cells[row][col] is not None:
        assert computed.cells[row][col] == len(expected)


def cells_of(scenario: Scenario) -> st.SearchStrategy[tuple[int, int]]:
    """A cell of the scenario's table that is not after now's period."""
    return st.integers(min_value=0, max_value=scenario.rows - 1).flatmap(
        lambda row: st.tuples(
            st.just(row),
            st.integers(min_value=0, max_value=min(scenario.cols, scenario.rows - row) - 1),
        )
    )


@PROPERTY_SETTINGS
@given(st.data(), scenarios(), positive_expressions(), st.sampled_from(EVENTS), chain_steps)
def test_cohorts_of_0_1_chains_agree_with_the_set_model(
    data: st.DataObject,
    scenario: Scenario,
    primary: Expression,
    secondary: str,
    steps: list[tuple[str, str]],
) -> None:
    chain = parse_chain(secondary, [{"op": op, "name": name} for op, name in steps])
    model = SetModel(scenario.actions)

    def model_chain(start: datetime) -> set[int]:
        return model.chain(secondary, steps, scenario.group, start)

    check_cohort(
        engine_over(scenario),
        scenario,
        primary,
        chain,
        model.users_of(primary, scenario.group),
        model_chain,
        data.draw(cells_of(scenario), label="cell"),
    )


@PROPERTY_SETTINGS
@given(st.data(), scenarios(), positive_expressions(), positive_expressions())
def test_cohorts_of_text_expressions_agree_with_the_set_model(
    data: st.DataObject, scenario: Scenario, primary: Expression, secondary: Expression
) -> None:
    model = SetModel(scenario.actions)
    # Written out and read back, the expressions keep their meaning in every row period.
    parsed_primary = parse_expression(str(primary))
    parsed_secondary = parse_expression(str(secondary))
    assert parse_expression(str(parsed_primary)) == parsed_primary
    for start in row_starts(scenario.group, scenario.now, scenario.rows):
        for original, parsed in ((primary, parsed_primary), (secondary, parsed_secondary)):
            assert model.evaluate(parsed, scenario.group, start) == model.evaluate(
                original, scenario.group, start
            )
    # The engine runs the parsed text; the model the trees as generated.
    check_cohort(
        engine_over(scenario),
        scenario,
        parsed_primary,
        parsed_secondary,
        model.users_of(primary, scenario.group),
        model.users_of(secondary, scenario.group),
        data.draw(cells_of(scenario), label="cell"),
    )


@PROPERTY_SETTINGS
@given(
    st.data(),
    scenarios(events=("signup", "active", "paid"), crowd=15),
    st.sampled_from(
        [
            parse_expression("active"),
            parse_expression("active | paid"),
            parse_expression("active & ~paid"),
            parse_expression("paid & active"),
        ]
    ),
)
def test_every_mode_agrees_with_the_set_model_on_dense_data(
    data: st.DataObject, scenario: Scenario, secondary: Expression
) -> None:
    # Few users and events: users come back period after period, which is where the
    # modes differ.
    model = SetModel(scenario.actions)
    engine = engine_over(scenario)
    primary = EventRef("signup")
    for mode in CohortMode:
        check_cohort(
            engine,
            attrs.evolve(scenario, mode=mode),
            primary,
            secondary,
            model.users_of(primary, scenario.group),
            model.users_of(secondary, scenario.group),
            data.draw(cells_of(scenario), label=f"cell for {mode.value}"),
        )


@PROPERTY_SETTINGS
@given(
    st.data(),
    scenarios(),
    positive_expressions(),
    positive_expressions(),
    st.integers(min_value=0, max_value=320),
)
def test_a_bounded_engine_agrees_with_the_set_model_of_the_users_it_reads(
    data: st.DataObject,
    scenario: Scenario,
    primary: Expression,
    secondary: Expression,
    max_user_id: int,
) -> None:
    # Reads stop at max_user_id's byte: the engine answers about the users below it, as
    # the model of only those users does; and the secondary, read only as far as the rows'
    # users, changes no cell.
    bound = 8 * (max_user_id // 8 + 1)
    model = SetModel(a for a in scenario.actions if a[1] < bound)
    engine = engine_over(scenario)
    check_cohort(
        CohortEngine(engine.repository, max_user_id=max_user_id),
        scenario,
        primary,
        secondary,
        model.users_of(primary, scenario.group),
        model.users_of(secondary, scenario.group),
        data.draw(cells_of(scenario), label="cell"),
    )
