"""The engine agrees with a brute-force set model on random data, expressions and cohorts."""

from __future__ import annotations

from datetime import datetime, timezone

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import (
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    Expression,
    parse_chain,
    parse_expression,
)
from tests.strategies import (
    EVENTS,
    Scenario,
    engine_over,
    positive_expressions,
    scenarios,
)
from tests.unit.domain.set_model import (
    SetModel,
    UsersIn,
    cell_users,
    cohort,
    row_starts,
)

UTC = timezone.utc
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


chain_steps = st.lists(
    st.tuples(st.sampled_from(["and", "or", "AND", " Or "]), st.sampled_from(EVENTS)),
    max_size=5,
)


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
