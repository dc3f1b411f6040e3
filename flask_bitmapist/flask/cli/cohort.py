"""``flask bitmapist cohort``: the cohort table of a primary event against a secondary
expression, as text, CSV or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import (
    MAX_COLS,
    MAX_ROWS,
    Cohort,
    CohortMode,
    EventRef,
    Expression,
    InvalidCohortSpec,
    InvalidExpression,
    TimeGroup,
    parse_chain,
    parse_expression,
)
from flask_bitmapist.flask.cli.options import (
    cli_moment,
    cli_state,
    event_name,
    format_option,
    now_option,
    storage_errors,
    time_group_option,
)
from flask_bitmapist.flask.cli.tables import now_heading, render_table
from flask_bitmapist.services.cohort_requests import create_cohort_spec
from flask_bitmapist.services.reports import (
    cohort_to_csv,
    cohort_to_dict,
    column_label,
    expression_to_text,
    format_count,
    format_mean,
    format_percent,
    period_label,
)

__all__ = ["cohort_command", "render_cohort"]

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
@click.option(
    "--rows",
    type=click.IntRange(1, MAX_ROWS),
    default=7,
    show_default=True,
    help="How many periods back, ending with now's.",
)
@click.option(
    "--cols",
    type=click.IntRange(1, MAX_COLS),
    default=7,
    show_default=True,
    help="How many periods forward from each row.",
)
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
@format_option()
@now_option
@click.pass_context
@storage_errors
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
        spec = state.kept(spec)
    except InvalidCohortSpec as exc:
        raise click.UsageError(str(exc), ctx=ctx) from exc
    cohort = state.engine.compute(spec)
    if output_format == "json":
        click.echo(json.dumps(cohort_to_dict(cohort), indent=2))
    elif output_format == "csv":
        click.echo(cohort_to_csv(cohort, as_percent=percent), nl=False)
    else:
        click.echo(render_cohort(cohort, as_percent=percent))


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


def render_cohort(cohort: Cohort, *, as_percent: bool = False) -> str:
    """The cohort as an aligned text table: a heading, one line per row, then the column
    averages (and weighted averages) and totals."""
    spec = cohort.spec
    group = spec.time_group
    header = ["", "users", *(column_label(group, j) for j in range(spec.cols))]
    lines: list[list[str]] = []
    shown = cohort.percentages if as_percent else cohort.cells
    for date, total, row in zip(cohort.dates, cohort.totals, shown, strict=True):
        cells = [format_percent(v) if as_percent else format_count(v) for v in row]  # type: ignore[arg-type]
        lines.append([period_label(group, date), format_count(total), *cells])
    mean_total = sum(cohort.totals) / len(cohort.totals)
    if as_percent:
        averages = [format_percent(v) for v in cohort.average_percentages]
    else:
        averages = [format_mean(v) for v in cohort.averages]
    lines.append(["average", format_mean(mean_total), *averages])
    lines.append(["weighted", "", *(format_percent(v) for v in cohort.weighted_averages)])
    column_totals = [format_count(v) for v in cohort.column_totals]
    lines.append(["total", format_count(sum(cohort.totals)), *column_totals])
    heading = (
        f"primary:   {expression_to_text(spec.primary)}\n"
        f"secondary: {expression_to_text(spec.secondary)}\n"
        f"by {group.value}, {spec.mode.value}{', first time only' if spec.first_time else ''}, "
        f"{'percent of users' if as_percent else 'users'}; "
        f"{now_heading(spec.now, spec.zone)}"
    )
    return heading + "\n\n" + render_table(header, lines)
