"""``flask bitmapist events``: every event with its counts today, this week, this month
and this year."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Final

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import Period, TimeGroup
from flask_bitmapist.flask.cli.options import (
    cli_state,
    format_option,
    now_option,
    storage_errors,
)
from flask_bitmapist.flask.cli.tables import format_count, render_table

__all__ = ["EVENT_PERIODS", "events_command"]

#: The periods ``events`` counts, each the one containing now.
EVENT_PERIODS: Final = (
    ("today", TimeGroup.DAY),
    ("this week", TimeGroup.WEEK),
    ("this month", TimeGroup.MONTH),
    ("this year", TimeGroup.YEAR),
)


@click.command("events")
@with_appcontext
@format_option()
@now_option
@storage_errors
def events_command(output_format: str, now: datetime | None) -> None:
    """List every event with how many users did it today, this week, this month and this
    year."""
    state = cli_state()
    moment = now or state.now()
    names = sorted(state.repository.event_names())
    periods = [(label, Period.containing(group, moment)) for label, group in EVENT_PERIODS]
    counts = state.engine.counts(names, [period for _, period in periods])
    table = [[counts[(name, period)] for _, period in periods] for name in names]
    if output_format == "json":
        document = {
            "now": moment.isoformat(),
            "periods": {label: _period_json(period) for label, period in periods},
            "events": [
                {"event": name, **{label: n for (label, _), n in zip(periods, row, strict=True)}}
                for name, row in zip(names, table, strict=True)
            ],
        }
        click.echo(json.dumps(document, indent=2))
    elif output_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["event", *(label for label, _ in periods)])
        writer.writerows([name, *row] for name, row in zip(names, table, strict=True))
        click.echo(out.getvalue(), nl=False)
    elif not names:
        click.echo("No events recorded yet.")
    else:
        header = ["event", *(label for label, _ in periods)]
        rows = [[name, *map(format_count, row)] for name, row in zip(names, table, strict=True)]
        click.echo(render_table(header, rows))


def _period_json(period: Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}
