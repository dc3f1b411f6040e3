"""``flask bitmapist events``: every event with its counts today, this week, this month
and this year."""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import Period
from flask_bitmapist.flask.cli.options import (
    cli_moment,
    cli_state,
    format_option,
    now_option,
    storage_errors,
)
from flask_bitmapist.flask.cli.tables import now_heading, render_table
from flask_bitmapist.services.event_counts import count_events
from flask_bitmapist.services.reports import event_counts_to_csv, format_count

__all__ = ["events_command"]


@click.command("events")
@with_appcontext
@format_option()
@now_option
@storage_errors
def events_command(output_format: str, now: datetime | None) -> None:
    """List every event with how many users did it today, this week, this month and this
    year."""
    state = cli_state()
    counts = count_events(state.engine, cli_moment(state, now))
    labels = counts.labels
    if output_format == "json":
        document = {
            "now": counts.now.isoformat(),
            "timezone": state.settings.timezone_name,
            "periods": {
                label: _period_json(period)
                for label, period in zip(labels, counts.periods, strict=True)
            },
            "events": [
                {"event": name, **dict(zip(labels, row, strict=True))} for name, row in counts.rows
            ],
        }
        click.echo(json.dumps(document, indent=2))
    elif output_format == "csv":
        click.echo(event_counts_to_csv(counts, labels, lineterminator="\n"), nl=False)
    elif not counts.rows:
        click.echo("No events recorded yet.")
    else:
        rows = [[name, *map(format_count, row)] for name, row in counts.rows]
        click.echo(
            now_heading(counts.now, state.zone) + "\n\n" + render_table(["event", *labels], rows)
        )


def _period_json(period: Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}
