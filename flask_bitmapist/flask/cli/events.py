"""``flask bitmapist events``: every event with its counts today, this week, this month
and this year."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

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
from flask_bitmapist.services.event_counts import EventCounts, count_events
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
            "events": [_event_json(counts, name, row) for name, row in counts.rows],
        }
        click.echo(json.dumps(document, indent=2))
    elif output_format == "csv":
        click.echo(event_counts_to_csv(counts, labels, lineterminator="\n"), nl=False)
    elif not counts.rows:
        click.echo("No events recorded yet.")
    else:
        # A count cut short by the read limit (ids past BITMAPIST_MAX_USER_ID, another
        # client's) is a lower bound, and says so.
        rows = [
            [name, *(_shown(n, low) for n, low in zip(row, counts.lower_bounds(name), strict=True))]
            for name, row in counts.rows
        ]
        click.echo(
            now_heading(counts.now, state.zone) + "\n\n" + render_table(["event", *labels], rows)
        )


def _shown(count: int, lower_bound: bool) -> str:
    return ("≥ " if lower_bound else "") + format_count(count)


def _event_json(counts: EventCounts, name: str, row: tuple[int, ...]) -> dict[str, Any]:
    """One event's counts; ``at_least`` lists the periods whose counts are lower bounds."""
    event: dict[str, Any] = {"event": name, **dict(zip(counts.labels, row, strict=True))}
    lows = counts.lower_bounds(name)
    if any(lows):
        event["at_least"] = [label for label, low in zip(counts.labels, lows, strict=True) if low]
    return event


def _period_json(period: Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}
