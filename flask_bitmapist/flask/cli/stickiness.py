"""``flask bitmapist stickiness``: how many users matched an expression in exactly 1, 2,
… N of the last N periods, as text, CSV or JSON (the JSON equals the API's)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import (
    Stickiness,
    StickinessEngine,
    TimeGroup,
)
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
from flask_bitmapist.services.answers import stickiness_spec
from flask_bitmapist.services.reports import (
    expression_to_text,
    period_label,
    stickiness_to_csv,
    stickiness_to_dict,
)

__all__ = ["render_stickiness", "stickiness_command"]


@click.command("stickiness")
@with_appcontext
@click.argument("expr")
@time_group_option(help="Length of each period.")
@periods_option("How many periods, ending with now's.")
@format_option()
@now_option
@click.pass_context
@storage_errors
def stickiness_command(
    ctx: click.Context,
    expr: str,
    time_group: TimeGroup,
    periods: int,
    output_format: str,
    now: datetime | None,
) -> None:
    """Print how many users did EXPR in exactly 1, 2, … N of the last N periods.

    EXPR is an event name or a text expression ('user:paid | user:refunded').

    \b
    flask bitmapist stickiness user:logged_in
    flask bitmapist stickiness 'user:paid | user:refunded' --time-group weeks --periods 12
    """
    state = cli_state()
    with answer_errors(ctx):
        spec = stickiness_spec(
            expr,
            now=cli_moment(state, now),
            time_group=time_group,
            periods=periods,
            max_terms=state.settings.max_expression_terms,
        )
        spec = state.kept(spec)
    stickiness = StickinessEngine(state.repository, max_user_id=state.settings.max_user_id).compute(
        spec
    )
    if output_format == "json":
        click.echo(json.dumps(stickiness_to_dict(stickiness), indent=2))
    elif output_format == "csv":
        click.echo(stickiness_to_csv(stickiness), nl=False)
    else:
        click.echo(render_stickiness(stickiness))


def render_stickiness(stickiness: Stickiness) -> str:
    """A heading, then one line per k: users in exactly k periods and their share."""
    spec = stickiness.spec
    group = spec.time_group
    rows = [
        [str(k), format_count(count), format_decimal(share, "%")]
        for k, (count, share) in enumerate(
            zip(stickiness.counts, stickiness.percentages, strict=True), start=1
        )
    ]
    rows.append(["total", format_count(stickiness.total), ""])
    heading = (
        f"expr: {expression_to_text(spec.expression)}\n"
        f"{spec.periods} {group.plural} from {period_label(group, stickiness.dates[0])} "
        f"to {period_label(group, stickiness.dates[-1])}; "
        f"{now_heading(spec.now, spec.now.tzinfo or timezone.utc)}"
    )
    return heading + "\n\n" + render_table([group.plural, "users", "share"], rows, left=0)
