"""``flask bitmapist demo-data``: realistic generated events for trying the dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import Mark
from flask_bitmapist.flask.cli.options import (
    cli_moment,
    cli_state,
    now_option,
    number_option,
    progress,
    storage_errors,
)
from flask_bitmapist.infra import redact_url
from flask_bitmapist.infra.urls import is_memory_url
from flask_bitmapist.services.demo_data import DemoDataSpec, generate_demo_marks
from flask_bitmapist.services.marking import write_marks

__all__ = ["demo_data_command"]


@click.command("demo-data")
@with_appcontext
@number_option("--days", 90, "How many days of history, ending today.", within=(1, 3660))
@number_option(
    "--users",
    5000,
    "How many users sign up over those days (ids 1..N).",
    within=(1, 10_000_000),
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same data.")
@click.option("--yes", is_flag=True, help="Do not ask before writing into Redis.")
@now_option
@storage_errors
def demo_data_command(days: int, users: int, seed: int, yes: bool, now: datetime | None) -> None:
    """Generate realistic demo events: sign-ups (user:created) spread over the days, logins
    and logouts decaying with account age, a paid subset (user:paid), rare refunds
    (user:refunded).

    The same arguments give the same data. With BITMAPIST_REDIS_URL=memory:// the data
    lives only as long as this command: use a Redis, or `make demo`, whose app
    generates its own at start-up. With BITMAPIST_MAP_IDS the users 1..N are mapped
    through the id map like any other ids.
    """
    state = cli_state()
    settings = state.settings
    url = redact_url(settings.redis_url)
    in_memory = is_memory_url(settings.redis_url)
    if not in_memory and not yes:
        click.confirm(
            f"Write generated events for users 1..{users} into {url} "
            f"(key prefix {settings.key_prefix!r})?",
            abort=True,
            err=True,
        )
    spec = DemoDataSpec.create(
        now=cli_moment(state, now),
        days=days,
        users=users,
        seed=seed,
    )
    last_user = 0

    def tracked() -> Iterator[Mark]:
        nonlocal last_user
        for mark in generate_demo_marks(spec, state.marking):
            last_user = mark.user_id
            yield mark

    with progress(users, "Generating demo data") as bar:
        shown = 0

        def advance(_: int) -> None:
            nonlocal shown
            bar.update(last_user - shown)
            shown = last_user

        written = write_marks(
            state.repository,
            map(state.marking.to_map, tracked()),
            policy=state.marking,
            id_mapper=state.id_mapper,
            on_chunk=advance,
        )
    first = spec.first_day.date().isoformat()
    click.echo(
        f"Wrote {written:,} events of {users:,} users over {days} days "
        f"({first} to {spec.now.date().isoformat()}) into {url}."
    )
    if in_memory:
        click.echo(
            "Note: memory:// is an in-process store, so this data is gone now that the "
            "command ends. Point BITMAPIST_REDIS_URL at a Redis to keep it, or run "
            "`make demo`.",
            err=True,
        )
