"""``flask bitmapist trend``: how many users matched each expression in each period, as
text, CSV or JSON (the JSON equals ``GET /bitmapist/api/trend``'s)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import MAX_ROLLING, TimeGroup, Trend, TrendEngine
from flask_bitmapist.flask.cli.answer_options import answer_errors, periods_option
from flask_bitmapist.flask.cli.options import (
    cli_moment,
    cli_state,
    format_option,
    now_option,
    storage_errors,
    time_group_option,
)
from flask_bitmapist.flask.cli.tables import format_count, now_heading, render_table
from flask_bitmapist.services.answers import trend_spec
from flask_bitmapist.services.reports import period_label, trend_to_csv, trend_to_dict

__all__ = ["render_trend", "trend_command"]


@click.command("trend")
@with_appcontext
@click.argument("exprs", metavar="EXPR...", nargs=-1, required=True)
@time_group_option(help="Length of each period.")
@periods_option("How many periods, ending with now's.")
@click.option(
    "--rolling",
    type=int,
    default=1,
    show_default=True,
    help=f"Count the users who matched in any of this many periods ending with each one "
    f"(1..{MAX_ROLLING}; 7 on days: weekly actives drawn daily).",
)
@format_option()
@now_option
@click.pass_context
@storage_errors
def trend_command(
    ctx: click.Context,
    exprs: tuple[str, ...],
    time_group: TimeGroup,
    periods: int,
    rolling: int,
    output_format: str,
    now: datetime | None,
) -> None:
    """Print how many users matched each EXPR (an event or a text expression, up to 10)
    in each period.

    \b
    flask bitmapist trend user:active --periods 30
    flask bitmapist trend user:active --rolling 7 --periods 90
    flask bitmapist trend user:paid 'user:paid & ~user:refunded' --time-group weeks
    """
    state = cli_state()
    with answer_errors(ctx):
        spec = trend_spec(
            list(exprs),
            now=cli_moment(state, now),
            time_group=time_group,
            periods=periods,
            rolling=rolling,
            max_terms=state.settings.max_expression_terms,
        )
        spec = state.kept(spec)
    trend = TrendEngine(state.repository, max_user_id=state.settings.max_user_id).compute(spec)
    if output_format == "json":
        click.echo(json.dumps(trend_to_dict(trend, exprs), indent=2, sort_keys=True))
    elif output_format == "csv":
        click.echo(trend_to_csv(trend, exprs), nl=False)
    else:
        click.echo(render_trend(trend, exprs))


def render_trend(trend: Trend, labels: Sequence[str]) -> str:
    """The trend as an aligned text table: one line per period, one column per series."""
    spec = trend.spec
    group = spec.time_group
    lines = [
        [period_label(group, date), *(format_count(s.counts[k]) for s in trend.series)]
        for k, date in enumerate(trend.dates)
    ]
    rolling = f", rolling {spec.rolling}" if spec.rolling > 1 else ""
    heading = f"users by {group.value}{rolling}; {now_heading(spec.now, spec.window.last.zone)}"
    return heading + "\n\n" + render_table(["", *labels], lines)
