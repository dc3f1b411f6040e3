"""``flask bitmapist funnel``: how many users went through 2 to 10 steps in order within
the last N periods, as text, CSV or JSON (the JSON equals the API's)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import Funnel, FunnelEngine, TimeGroup
from flask_bitmapist.flask.cli.answer_options import answer_errors, periods_option
from flask_bitmapist.flask.cli.options import (
    cli_moment,
    cli_state,
    format_option,
    now_option,
    storage_errors,
    time_group_option,
)
from flask_bitmapist.flask.cli.tables import format_count, format_decimal, now_heading, render_table
from flask_bitmapist.services.answers import funnel_spec
from flask_bitmapist.services.reports import expression_to_text, funnel_to_csv, funnel_to_dict

__all__ = ["funnel_command", "render_funnel"]


@click.command("funnel")
@with_appcontext
@click.argument("steps", metavar="STEP STEP [STEP...]", nargs=-1, required=True)
@time_group_option(help="Length of each period.")
@periods_option("How many periods, ending with now's.")
@format_option()
@now_option
@click.pass_context
@storage_errors
def funnel_command(
    ctx: click.Context,
    steps: tuple[str, ...],
    time_group: TimeGroup,
    periods: int,
    output_format: str,
    now: datetime | None,
) -> None:
    """Print how many users did each STEP in order within the last N periods.

    Each STEP is an event name or a text expression. A user reaches step 1 in the first
    period where they do it, and each later step in that period or after: steps done in
    the same period count as done in order (bitmaps do not order events within a period).

    \b
    flask bitmapist funnel product:viewed cart:added user:paid
    flask bitmapist funnel user:created 'user:paid | user:trial' --periods 14 --format json
    """
    state = cli_state()
    with answer_errors(ctx):
        spec = funnel_spec(
            steps,
            now=cli_moment(state, now),
            time_group=time_group,
            periods=periods,
            max_terms=state.settings.max_expression_terms,
        )
        spec = state.kept(spec)
    funnel = FunnelEngine(state.repository, max_user_id=state.settings.max_user_id).compute(spec)
    if output_format == "json":
        click.echo(json.dumps(funnel_to_dict(funnel), indent=2))
    elif output_format == "csv":
        click.echo(funnel_to_csv(funnel), nl=False)
    else:
        click.echo(render_funnel(funnel))


def render_funnel(funnel: Funnel) -> str:
    """A heading, then one line per step: its users, the conversion from the previous step
    and from the first, and how many dropped before the next."""
    spec = funnel.spec
    dropped = [*funnel.dropped, None]
    rows = [
        [
            str(k),
            expression_to_text(step),
            format_count(count),
            format_decimal(funnel.from_previous[k - 1], "%"),
            format_decimal(funnel.from_first[k - 1], "%"),
            format_count(dropped[k - 1]),
        ]
        for k, (step, count) in enumerate(zip(spec.steps, funnel.counts, strict=True), start=1)
    ]
    heading = (
        f"{len(spec.steps)} steps within {spec.periods} {spec.time_group.plural}; "
        f"{now_heading(spec.now, spec.now.tzinfo or timezone.utc)}"
    )
    header = ["step", "users who did", "users", "from previous", "from first", "dropped"]
    return heading + "\n\n" + render_table(header, rows, left=2)
