"""``flask bitmapist lifecycle``: new, returning, resurrecting and dormant users in each
period, as text, CSV or JSON (the JSON equals ``GET /bitmapist/api/lifecycle``'s)."""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import Lifecycle, LifecycleEngine, LifecycleStatus, TimeGroup
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
from flask_bitmapist.services.answers import lifecycle_spec
from flask_bitmapist.services.reports import (
    lifecycle_to_csv,
    lifecycle_to_dict,
    period_label,
)

__all__ = ["lifecycle_command", "render_lifecycle"]


@click.command("lifecycle")
@with_appcontext
@click.argument("expr", metavar="EXPR")
@time_group_option(help="Length of each period.")
@periods_option("How many periods, ending with now's.")
@format_option()
@now_option
@click.pass_context
@storage_errors
def lifecycle_command(
    ctx: click.Context,
    expr: str,
    time_group: TimeGroup,
    periods: int,
    output_format: str,
    now: datetime | None,
) -> None:
    """Print, for each period, how many users of EXPR (an event, or events joined by |)
    were new (first match ever), returning (there the period before too), resurrecting
    (back after a break) and dormant (there the period before, not in this one).

    \b
    flask bitmapist lifecycle user:active --time-group weeks --periods 12
    flask bitmapist lifecycle 'user:active | user:paid' --format csv
    """
    state = cli_state()
    with answer_errors(ctx):
        spec = lifecycle_spec(
            expr,
            now=cli_moment(state, now),
            time_group=time_group,
            periods=periods,
            max_terms=state.settings.max_expression_terms,
        )
        spec = state.kept(spec)
    lifecycle = LifecycleEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
        spec
    )
    if output_format == "json":
        click.echo(json.dumps(lifecycle_to_dict(lifecycle), indent=2, sort_keys=True))
    elif output_format == "csv":
        click.echo(lifecycle_to_csv(lifecycle), nl=False)
    else:
        click.echo(render_lifecycle(lifecycle, expr))


def render_lifecycle(lifecycle: Lifecycle, label: str) -> str:
    """The lifecycle as an aligned text table: one line per period, one column per status."""
    spec = lifecycle.spec
    group = spec.time_group
    lines = [
        [
            period_label(group, date),
            *(format_count(lifecycle.counts(s)[k]) for s in LifecycleStatus),
        ]
        for k, date in enumerate(lifecycle.dates)
    ]
    heading = f"{label} by {group.value}; {now_heading(spec.now, spec.window.last.zone)}"
    return heading + "\n\n" + render_table(["", *(s.value for s in LifecycleStatus)], lines)
