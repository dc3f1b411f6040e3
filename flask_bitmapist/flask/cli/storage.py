"""``flask bitmapist storage``: what the stored bitmaps cost, per event and time group
(DESIGN section 14).

The figures are :func:`flask_bitmapist.services.storage_report.storage_report`'s; this
module renders them as a table, CSV or JSON (:mod:`.storage_format` is shared with the
dashboard's storage page).
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from flask_bitmapist.flask.cli.options import cli_keyspace, cli_state, format_option, storage_errors
from flask_bitmapist.flask.cli.tables import render_table
from flask_bitmapist.services.reports import to_csv
from flask_bitmapist.services.storage_report import (
    DEFAULT_BUDGET,
    StorageReport,
    format_bytes,
    storage_report,
)
from flask_bitmapist.services.storage_rows import (
    GROUP_HEADER,
    NODE_HEADER,
    group_rows,
    node_rows,
    report_json,
    summary_lines,
)

__all__ = ["storage_command"]


@click.command("storage")
@with_appcontext
@format_option(("table", "csv", "json"))
@click.option(
    "--budget",
    type=click.FloatRange(0.1, 3600),
    default=DEFAULT_BUDGET,
    show_default=True,
    help="Seconds to spend reading keys; the report says what it left unread.",
)
@storage_errors
def storage_command(output_format: str, budget: float) -> None:
    """Keys and bytes (MEMORY USAGE) per event and time group, with oldest and newest
    period, expiry, growth per day over the last 30 days and a one-year projection with
    and without BITMAPIST_RETENTION; per node on a cluster."""
    state = cli_state()
    keyspace = cli_keyspace(state, "storage")
    report = storage_report(
        keyspace, state.settings.retention, zone=state.zone, now=state.now(), budget=budget
    )
    if output_format == "json":
        click.echo(json.dumps(report_json(report), indent=2))
    elif output_format == "csv":
        click.echo(to_csv([GROUP_HEADER, *group_rows(report)], lineterminator="\n"), nl=False)
    else:
        click.echo(_as_text(report))


def _as_text(report: StorageReport) -> str:
    parts = [
        f"Storage as of {report.now.strftime('%Y-%m-%d %H:%M')} "
        f"({format_bytes(report.bytes)} in {report.keys:,} keys)",
        "",
    ]
    if report.groups:
        parts += [render_table(GROUP_HEADER, group_rows(report)), ""]
    if len(report.nodes) > 1:
        parts += [render_table(NODE_HEADER, node_rows(report)), ""]
    parts += summary_lines(report)
    return "\n".join(parts)
