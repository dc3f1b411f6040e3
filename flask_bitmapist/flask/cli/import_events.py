"""``flask bitmapist import``: past events, or properties (``--properties``), from a CSV or
JSON Lines file, streamed."""

from __future__ import annotations

import os
from typing import IO

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import InvalidUserId, StorageUnavailable
from flask_bitmapist.exceptions import EventFileError
from flask_bitmapist.flask.cli.options import cli_state, number_option, progress, storage_message
from flask_bitmapist.infra.urls import is_memory_url
from flask_bitmapist.services.event_files import (
    FORMATS,
    EventFileReader,
    ImportSummary,
    import_property_rows,
    import_rows,
)
from flask_bitmapist.services.marking import MARK_CHUNK_SIZE

__all__ = ["import_command"]


@click.command("import")
@with_appcontext
@click.argument("file", type=click.File("rb"))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS, case_sensitive=False),
    help="csv or jsonl. Default: from the file name (.csv, .jsonl, .ndjson), else from "
    "its first line.",
)
@number_option(
    "--chunk-size", MARK_CHUNK_SIZE, "Rows written per storage call.", within=(1, 1_000_000)
)
@click.option(
    "--properties",
    is_flag=True,
    help="FILE holds user_id,property,value rows: each sets the user's property (an "
    "empty or null value removes it).",
)
@click.pass_context
def import_command(
    ctx: click.Context,
    file: IO[bytes],
    file_format: str | None,
    chunk_size: int,
    properties: bool,
) -> None:
    """Import past events from FILE (- for stdin): CSV with a header, or JSON Lines, of
    user_id,event,timestamp. With --properties, rows of user_id,property,value set
    properties instead (a user's current plan, channel...).

    Timestamps are ISO 8601 (without an offset: local time in BITMAPIST_TIMEZONE) or epoch
    seconds. The file is streamed, so any size imports in bounded memory. Bad rows are
    reported with their line numbers and skipped; every other row is written. Exit status
    1 when any row was skipped. Marking is idempotent, so running an import twice is
    harmless.

    User ids are ints; with BITMAPIST_MAP_IDS they may be any text (UUIDs, e-mail
    addresses) and are mapped through the app's id map, chunk by chunk, as mark_event()
    maps them.

    \b
    user_id,event,timestamp
    42,user:paid,2026-11-27T13:05:00Z
    """
    state = cli_state()
    name = getattr(file, "name", "-")
    try:
        reader = EventFileReader(
            file,  # type: ignore[arg-type]
            name="-" if name == "<stdin>" else str(name),
            file_format=file_format,  # type: ignore[arg-type]
            policy=state.marking,
            properties=properties,
        )
    except EventFileError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param_hint="FILE") from exc
    summary = ImportSummary()
    size = _file_size(file)
    with progress(size, f"Importing {reader.name}") as bar:
        shown = 0

        def advance(_: ImportSummary) -> None:
            nonlocal shown
            bar.update(reader.bytes_read - shown)
            shown = reader.bytes_read

        try:
            if properties:
                import_property_rows(
                    state.repository,
                    reader.property_rows(),
                    chunk_size=chunk_size,
                    summary=summary,
                    on_chunk=advance,
                    id_mapper=state.id_mapper,
                    max_user_id=state.settings.max_user_id,
                    max_values=state.settings.max_property_values,
                )
            else:
                import_rows(
                    state.repository,
                    reader,
                    chunk_size=chunk_size,
                    summary=summary,
                    on_chunk=advance,
                    id_mapper=state.id_mapper,
                    policy=state.marking,
                )
        except (StorageUnavailable, InvalidUserId) as exc:
            # Rows are validated when read: InvalidUserId here is the id map running out
            # of ints, which stops the import like storage that fails.
            _report_bad_rows(summary)
            failure = storage_message(exc) if isinstance(exc, StorageUnavailable) else str(exc)
            raise click.ClickException(
                f"{failure}. Imported {summary.written:,} rows before it failed "
                f"(every row through line {summary.done_through_line} is done); importing "
                "again is safe."
            ) from exc
    _report_bad_rows(summary)
    click.echo(
        f"Imported {summary.written:,} of {summary.rows:,} rows from {reader.name}"
        + (f"; skipped {_rows(summary.skipped, 'bad row')}." if summary.skipped else ".")
    )
    if is_memory_url(state.settings.redis_url):
        click.echo(
            "Note: memory:// is an in-process store, so these events are gone now that the "
            "command ends. Point BITMAPIST_REDIS_URL at a Redis (or a file store) to keep "
            "them.",
            err=True,
        )
    if summary.skipped:
        ctx.exit(1)


def _file_size(file: IO[bytes]) -> int | None:
    try:
        size = os.fstat(file.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        return None
    return size or None


def _rows(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _report_bad_rows(summary: ImportSummary) -> None:
    for row in summary.bad_rows:
        click.echo(f"skipped {row}", err=True)
    hidden = summary.skipped - len(summary.bad_rows)
    if hidden > 0:
        click.echo(f"... and {_rows(hidden, 'more bad row')}", err=True)
