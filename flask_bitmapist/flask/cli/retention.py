"""``flask bitmapist retention [--apply]``: the retention policy applied to keys already
stored (DESIGN section 14).

The work is :func:`flask_bitmapist.services.retention.apply_retention`; this module reads
the options, draws the progress bar and prints the counts.
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain.keyspace import DEFAULT_BATCH
from flask_bitmapist.flask.cli.options import (
    cli_keyspace,
    cli_state,
    format_option,
    number_option,
    progress,
    storage_errors,
)
from flask_bitmapist.flask.cli.tables import render_table
from flask_bitmapist.services.reports import format_count
from flask_bitmapist.services.retention import RetentionCounts, RetentionRun, apply_retention
from flask_bitmapist.services.storage_report import format_bytes

__all__ = ["retention_command"]

_COLUMNS = (
    ("scanned", "keys"),
    ("kept", "kept forever"),
    ("current", "expiry set"),
    ("to_expire", "to get an expiry"),
    ("to_expire_bytes", "their bytes"),
    ("expired", "past expiry"),
    ("freed_bytes", "bytes freed"),
)


@click.command("retention")
@with_appcontext
@click.option(
    "--apply",
    "apply",
    is_flag=True,
    help="Set the expiries and delete the keys past them (default: a dry run).",
)
@number_option(
    "--batch", DEFAULT_BATCH, "Keys per SCAN step and per pipeline.", within=(10, 10_000)
)
@format_option(("table", "json"))
@storage_errors
def retention_command(apply: bool, batch: int, output_format: str) -> None:
    """Apply BITMAPIST_RETENTION to the keys already stored (any writer's, under the
    prefix): count the keys that would get an expiry, those already past it and the bytes
    freed; --apply does it, in bounded batches, on every node."""
    state = cli_state()
    policy = state.settings.retention
    keyspace = cli_keyspace(state, "retention")
    if not policy:
        click.echo("BITMAPIST_RETENTION is not set: every key is kept forever; nothing to do.")
        return
    total = sum(keyspace.size(node) for node in keyspace.nodes())
    with progress(total, "applying" if apply else "reading") as bar:
        run = apply_retention(
            keyspace,
            policy,
            zone=state.zone,
            now=state.now(),
            apply=apply,
            batch=batch,
            on_batch=bar.update,
        )
    if output_format == "json":
        click.echo(json.dumps(_as_json(run), indent=2))
        return
    click.echo(_as_text(run))


def _as_json(run: RetentionRun) -> dict[str, object]:
    return {
        "applied": run.applied,
        "policy": {group.plural: days for group, days in run.policy},
        "now": run.now.isoformat(),
        "nodes": [{"node": name, **counts.as_dict()} for name, counts in run.nodes],
        "total": run.total.as_dict(),
    }


def _as_text(run: RetentionRun) -> str:
    rows = [_row(name, counts) for name, counts in run.nodes]
    if len(run.nodes) > 1:
        rows.append(_row("total", run.total))
    verb = "Applied" if run.applied else "Dry run (nothing changed; --apply does it)"
    heading = f"{verb}: {run.policy.describe()}, as of {run.now.strftime('%Y-%m-%d %H:%M')}"
    return heading + "\n\n" + render_table(["node", *(label for _, label in _COLUMNS)], rows)


def _row(name: str, counts: RetentionCounts) -> list[str]:
    values = counts.as_dict()
    return [
        name,
        *(
            format_bytes(values[key]) if key.endswith("bytes") else format_count(values[key])
            for key, _ in _COLUMNS
        ),
    ]
