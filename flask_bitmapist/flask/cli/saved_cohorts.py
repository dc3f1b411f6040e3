"""``flask bitmapist saved-cohorts save|list|delete``: user sets kept under a name, for
segments (``plan=pro & ~beta_testers``)."""

from __future__ import annotations

import json
from typing import IO

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import (
    InvalidSegmentName,
    InvalidUserId,
    InvalidUserIdType,
    validate_cohort_name,
)
from flask_bitmapist.flask.cli.options import cli_state, format_option, storage_errors
from flask_bitmapist.flask.cli.tables import render_table
from flask_bitmapist.services import segments
from flask_bitmapist.services.event_files import parse_user_id
from flask_bitmapist.services.reports import format_count, to_csv

__all__ = ["saved_cohorts_command"]


def _cohort_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return validate_cohort_name(value)
    except InvalidSegmentName as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.group("saved-cohorts")
def saved_cohorts_command() -> None:
    """Save, list and delete saved cohorts: user sets kept under a name, which segments
    name (plan=pro & ~beta_testers)."""


@saved_cohorts_command.command("save")
@with_appcontext
@click.argument("name", callback=_cohort_name)
@click.argument("user_ids", nargs=-1)
@click.option(
    "--file",
    "id_file",
    type=click.File("r"),
    help="Read user ids from this file too (- for stdin), one per line.",
)
@storage_errors
@click.pass_context
def save_command(
    ctx: click.Context, name: str, user_ids: tuple[str, ...], id_file: IO[str] | None
) -> None:
    """Save USER_IDS (and those of --file) as the cohort NAME, replacing one saved earlier.

    User ids are ints; with BITMAPIST_MAP_IDS any text (mapped as mark_event maps it).
    """
    state = cli_state()
    texts = list(user_ids)
    if id_file is not None:
        texts += [line.strip() for line in id_file if line.strip()]
    ids = [parse_user_id(text, map_ids=state.id_mapper is not None) for text in texts]
    try:
        users = segments.users_bitmap(
            ids, max_user_id=state.settings.max_user_id, id_mapper=state.id_mapper
        )
    except (InvalidUserId, InvalidUserIdType) as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param_hint="USER_IDS") from None
    segments.save_cohort(state.repository, name, users)
    click.echo(f"Saved {format_count(len(users))} users as {name!r}.")


@saved_cohorts_command.command("list")
@with_appcontext
@format_option()
@storage_errors
def list_command(output_format: str) -> None:
    """List the saved cohorts with how many users each holds."""
    state = cli_state()
    cohorts = segments.get_saved_cohorts(state.repository, max_user_id=state.settings.max_user_id)
    rows = [(name, len(users)) for name, users in cohorts.items()]
    if output_format == "json":
        click.echo(json.dumps([{"name": name, "users": count} for name, count in rows], indent=2))
    elif output_format == "csv":
        click.echo(to_csv([["name", "users"], *rows], lineterminator="\n"), nl=False)
    elif not rows:
        click.echo("No saved cohorts.")
    else:
        click.echo(render_table(["saved cohort", "users"], [[n, format_count(c)] for n, c in rows]))


@saved_cohorts_command.command("delete")
@with_appcontext
@click.argument("name", callback=_cohort_name)
@storage_errors
def delete_command(name: str) -> None:
    """Delete the saved cohort NAME (nothing happens if there is none)."""
    if segments.delete_cohort(cli_state().repository, name):
        click.echo(f"Deleted the saved cohort {name!r}.")
    else:
        click.echo(f"No saved cohort named {name!r}: nothing to delete.")
