"""``flask bitmapist cohort``: the cohort table of a primary event against a secondary
expression, as text, CSV or JSON (the JSON equals ``GET /bitmapist/api/cohort``'s)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import (
    MAX_COLS,
    MAX_ROWS,
    CohortMode,
    EventRef,
    Expression,
    InvalidCohortSpec,
    InvalidExpression,
    TimeGroup,
    parse_chain,
    parse_expression,
)
from flask_bitmapist.flask.cli.answers import answer_errors, print_answer
from flask_bitmapist.flask.cli.options import (
    answer_options,
    cli_moment,
    cli_state,
    event_name,
    number_option,
    time_group_option,
)
from flask_bitmapist.services.cohort_requests import create_cohort_spec

__all__ = ["cohort_command"]

_CHAIN_ORDER: Final = "flask_bitmapist.chain_order"
_CHAIN_PARAMS: Final = ("and_events", "or_events")


class _ChainCommand(click.Command):
    """Remembers the command-line order of ``--and`` and ``--or``.

    click collects each multiple option into its own tuple, which loses how the two
    interleave; 0.1's chain depends on it (``--and b --or c`` differs from ``--or c --and
    b``). click's parser reports every option occurrence in order, so the one parse of the
    arguments records that order for :func:`_chain_steps`.
    """

    def make_parser(self, ctx: click.Context) -> Any:
        return _OrderRecordingParser(super().make_parser(ctx), ctx)


class _OrderRecordingParser:
    """click's parser, noting in ``ctx.meta`` the order of ``--and``/``--or`` as it
    parses."""

    def __init__(self, parser: Any, ctx: click.Context) -> None:
        self._parser = parser
        self._ctx = ctx

    def parse_args(self, args: list[str]) -> tuple[dict[str, Any], list[str], list[Any]]:
        opts, rest, order = self._parser.parse_args(args=args)
        self._ctx.meta[_CHAIN_ORDER] = [p.name for p in order if p.name in _CHAIN_PARAMS]
        return opts, rest, order

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


def _chain_steps(
    ctx: click.Context, and_events: Sequence[str], or_events: Sequence[str]
) -> list[dict[str, str]]:
    """0.1's ``additional_events`` in command-line order."""
    queues = {"and_events": iter(and_events), "or_events": iter(or_events)}
    ops = {"and_events": "and", "or_events": "or"}
    return [
        {"name": next(queues[name]), "op": ops[name]} for name in ctx.meta.get(_CHAIN_ORDER, [])
    ]


@click.command("cohort", cls=_ChainCommand)
@with_appcontext
@click.argument("primary", callback=event_name)
@click.argument("secondary", required=False, callback=event_name)
@click.option(
    "--and",
    "and_events",
    multiple=True,
    metavar="EVENT",
    callback=event_name,
    help="AND another event onto the secondary (repeatable).",
)
@click.option(
    "--or",
    "or_events",
    multiple=True,
    metavar="EVENT",
    callback=event_name,
    help="OR another event with the one just before it (repeatable). As in 0.1, each OR "
    "binds to its predecessor: 'S --and A --or B' is S & (A | B).",
)
@click.option(
    "--expr",
    metavar="TEXT",
    help="The secondary as a text expression instead of SECONDARY: "
    "'user:paid & (user:returned | user:refunded) & ~user:banned' (NOT > AND > OR).",
)
@time_group_option()
@number_option("--rows", 7, "How many periods back, ending with now's.", within=(1, MAX_ROWS))
@number_option("--cols", 7, "How many periods forward from each row.", within=(1, MAX_COLS))
@click.option(
    "--mode",
    type=click.Choice([mode.value for mode in CohortMode], case_sensitive=False),
    default=CohortMode.FIRST_RETURN.value,
    show_default=True,
    help="first_return: a user counts in the first column they match; recurring: in every "
    "column they match; cumulative: in every column up to their last match.",
)
@click.option("--percent", is_flag=True, help="Show cells as percentages of the row's users.")
@click.option(
    "--first-time",
    is_flag=True,
    help="Rows hold only the users who did PRIMARY for the first time ever in that period "
    "(everyone who did it earlier, however long ago, is left out).",
)
@answer_options
def cohort_command(
    ctx: click.Context,
    primary: str,
    secondary: str | None,
    and_events: tuple[str, ...],
    or_events: tuple[str, ...],
    expr: str | None,
    time_group: TimeGroup,
    rows: int,
    cols: int,
    mode: str,
    percent: bool,
    first_time: bool,
    segment: str | None,
    breakdown: str | None,
    output_format: str,
    now: datetime | None,
) -> None:
    """Print the cohort table of users who did PRIMARY, and when they did SECONDARY.

    Row i holds the users who did PRIMARY in period i; column j counts those of them who
    did the secondary (SECONDARY with --and/--or, or --expr) j periods later. With
    --first-time, row i holds only the users whose first-ever PRIMARY fell in period i.

    \b
    flask bitmapist cohort user:created user:logged_in --time-group weeks --rows 8 --cols 8
    flask bitmapist cohort user:created user:paid --and user:logged_in --or user:refunded
    flask bitmapist cohort user:created --expr 'user:paid & ~user:refunded' --percent
    flask bitmapist cohort user:paid user:paid --first-time --mode recurring
    flask bitmapist cohort user:created user:paid --segment 'plan=pro & ~beta_testers'
    """
    state = cli_state()
    secondary_expr = _secondary(
        ctx, secondary, and_events, or_events, expr, state.settings.max_expression_terms
    )
    names = {
        "primary": "PRIMARY",
        "secondary": "--expr" if expr is not None else "SECONDARY",
        "rows": "--rows",
        "cols": "--cols",
        "now": "--now",
        "time_group": "--time-group",
        "mode": "--mode",
    }
    try:
        spec = create_cohort_spec(
            EventRef(primary),
            secondary_expr,
            now=cli_moment(state, now),
            time_group=time_group,
            rows=rows,
            cols=cols,
            mode=mode,
            max_cells=state.settings.max_cohort_cells,
            field_names=names,
            first_time=first_time,
        )
    except InvalidCohortSpec as exc:
        raise click.UsageError(str(exc), ctx=ctx) from exc
    with answer_errors(ctx):
        if breakdown is not None:
            found = state.answers.breakdown(
                "cohort", spec=spec, breakdown=breakdown, segment=segment, as_percent=percent
            )
            print_answer(found, output_format)
            return
        answer = state.answers.answer("cohort", spec=spec, segment=segment, as_percent=percent)
    print_answer(answer, output_format)


def _secondary(
    ctx: click.Context,
    secondary: str | None,
    and_events: Sequence[str],
    or_events: Sequence[str],
    expr: str | None,
    max_terms: int,
) -> Expression:
    if expr is not None:
        if secondary is not None:
            raise click.UsageError(
                f"give SECONDARY ({secondary!r}) or --expr, not both: --expr is the whole "
                "secondary expression",
                ctx=ctx,
            )
        if and_events or or_events:
            raise click.UsageError(
                "--and/--or extend SECONDARY; with --expr write the whole expression, "
                "e.g. --expr 'a & (b | c)'",
                ctx=ctx,
            )
        try:
            return parse_expression(expr, max_terms=max_terms)
        except InvalidExpression as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param_hint="--expr") from exc
    if secondary is None:
        raise click.UsageError("missing argument SECONDARY (or give --expr TEXT)", ctx=ctx)
    try:
        return parse_chain(secondary, _chain_steps(ctx, and_events, or_events), max_terms=max_terms)
    except InvalidExpression as exc:
        message = str(exc).replace("additional_events", "--and/--or")
        raise click.UsageError(message, ctx=ctx) from exc
