"""``flask bitmapist copy --to URL``: copy the app's store into another (SQLite to Redis
when the app outgrows one file, and back)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from flask_bitmapist.domain import InvalidStorageConfig, StorageUnavailable
from flask_bitmapist.flask.cli.options import cli_state, progress, storage_errors
from flask_bitmapist.infra import id_mapper_for, redact_url, repository_from_url
from flask_bitmapist.infra.sqlite_file import absolute_sqlite_url
from flask_bitmapist.infra.urls import is_memory_url
from flask_bitmapist.services.copying import copy_store

__all__ = ["copy_command"]


@click.command("copy")
@with_appcontext
@click.option(
    "--to",
    "url",
    required=True,
    metavar="URL",
    help="Where to copy: redis://host:port/db, rediss://, unix://, or sqlite:///name.db "
    "(in the app's instance folder) / sqlite:////absolute/path.db.",
)
@click.option("--cluster", is_flag=True, help="The URL names a node of a Redis Cluster.")
@click.option("--yes", is_flag=True, help="Do not ask before writing into a store with data.")
@storage_errors
def copy_command(url: str, cluster: bool, yes: bool) -> None:
    """Copy every bitmap (and the id map, with BITMAPIST_MAP_IDS) of the app's store into
    the store at URL, with the app's key prefix and timeouts.

    Users are added to what the target holds, never removed: copying twice is copying
    once. Use it to move from the SQLite store to Redis (several machines, or more writes
    than one file takes), or to take a local copy of Redis.
    """
    state = cli_state()
    settings = state.settings
    try:
        target_url = absolute_sqlite_url(url, current_app.instance_path)
    except InvalidStorageConfig as exc:
        raise click.BadParameter(str(exc), param_hint="'--to'") from exc
    if is_memory_url(target_url):
        raise click.BadParameter(
            "memory:// lives only as long as this command: nothing would be kept",
            param_hint="'--to'",
        )
    if target_url == settings.redis_url:
        raise click.BadParameter(
            f"{redact_url(url)} is the app's own store (BITMAPIST_REDIS_URL)",
            param_hint="'--to'",
        )
    try:
        target = repository_from_url(
            target_url,
            prefix=settings.key_prefix,
            cluster=cluster,
            socket_timeout=max(settings.socket_timeout, 5.0),
            connect_timeout=settings.connect_timeout,
        )
        target_ids = (
            id_mapper_for(target, max_int=settings.max_user_id) if settings.map_ids else None
        )
    except InvalidStorageConfig as exc:
        raise click.BadParameter(str(exc), param_hint="'--to'") from exc
    shown = redact_url(target_url)
    try:
        held = len(target.event_names())
    except StorageUnavailable as exc:
        raise click.ClickException(f"storage at {shown} is unavailable: {exc}") from exc
    if held and not yes:
        click.confirm(
            f"{shown} already holds {held} events; add this store's users to them?",
            abort=True,
            err=True,
        )
    stored = state.repository.stored_ids()
    with progress(len(stored), f"Copying into {shown}") as bar:
        done = 0

        def advance(copied: int, _total: int) -> None:
            nonlocal done
            bar.update(copied - done)
            done = copied

        try:
            report = copy_store(
                state.repository,
                target,
                source_ids=state.id_mapper,
                target_ids=target_ids,
                stored=stored,
                on_progress=advance,
            )
        except StorageUnavailable as exc:
            raise click.ClickException(
                f"copying into {shown} stopped: {exc} (what was copied stays; run the copy "
                "again to finish it)"
            ) from exc
        except InvalidStorageConfig as exc:
            raise click.ClickException(str(exc)) from exc
    close = getattr(target, "close", None)
    if callable(close):
        close()
    click.echo(
        f"Copied {report.bitmaps:,} bitmaps ({report.bits:,} users set"
        + (f", {report.ids:,} mapped ids" if report.ids else "")
        + f") into {shown}."
    )
