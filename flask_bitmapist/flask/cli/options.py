"""What every ``flask bitmapist`` command shares: the app's state, storage errors turned
into one-line messages, and the options that read the same in every command (``--now``,
``--format``, ``--time-group``, event-name arguments).

A new command reuses these rather than declaring its own, so ``--now`` accepts the same
timestamps and a storage failure reads the same everywhere: :mod:`.events` shows how (its
state from :func:`cli_state`, its moment from :func:`cli_moment`, in the app's zone), and
:func:`~flask_bitmapist.flask.cli.answers.answer_command` makes every answer's command
from them.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, Final, ParamSpec, Protocol, TypeVar

import click

from flask_bitmapist.domain import (
    InvalidMoment,
    StorageUnavailable,
    TimeGroup,
    parse_timestamp,
    validate_stored_event_name,
)
from flask_bitmapist.domain.keyspace import Keyspace
from flask_bitmapist.flask.state import BitmapistState, current_state
from flask_bitmapist.infra import redact_url
from flask_bitmapist.infra.keyspace import keyspace_of

__all__ = [
    "OUTPUT_FORMATS",
    "answer_options",
    "breakdown_option",
    "cli_keyspace",
    "cli_moment",
    "cli_state",
    "event_name",
    "format_option",
    "now_option",
    "number_option",
    "progress",
    "segment_option",
    "storage_errors",
    "storage_message",
    "time_group_option",
]

P = ParamSpec("P")
R = TypeVar("R")

#: The ``--format`` choices of the commands that print an answer; the first is the default.
OUTPUT_FORMATS: Final = ("table", "csv", "json")


def cli_state() -> BitmapistState:
    """The current app's bitmapist state, or a usage-free error when the app has none."""
    try:
        return current_state()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


def cli_keyspace(state: BitmapistState, command: str) -> Keyspace:
    """The keys of the app's store, for the commands that walk them all (``retention``,
    ``storage``); a usage error naming ``command`` when the store is of another kind."""
    keyspace = keyspace_of(state.repository, state.settings.key_prefix)
    if keyspace is None:
        raise click.UsageError(
            f"{command} reads Redis or the in-process store, not {type(state.repository).__name__}"
        )
    return keyspace


def cli_moment(state: BitmapistState, now: datetime | None) -> datetime:
    """``--now`` in the app's zone (without an offset it is local time there), or the
    app's clock; a moment the zone's offset pushes off the calendar is a usage error."""
    try:
        return state.moment(now)
    except InvalidMoment as exc:
        raise click.BadParameter(str(exc), param_hint="'--now'") from exc


def storage_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a storage failure into a one-line error and exit status 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except StorageUnavailable as exc:
            raise click.ClickException(storage_message(exc)) from exc

    return wrapper


def storage_message(exc: StorageUnavailable) -> str:
    """ "storage at <url, password hidden> is unavailable: <why> (check ...)"."""
    url = redact_url(cli_state().settings.redis_url)
    return f"storage at {url} is unavailable: {exc} (check BITMAPIST_REDIS_URL and the server)"


def event_name(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A click callback validating event names as click parses them (one name, or a
    tuple for a repeatable option)."""
    names = value if isinstance(value, tuple) else (value,)
    for name in names:
        if name is not None:
            try:
                validate_stored_event_name(name)
            except ValueError as exc:
                raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc
    return value


def _time_group(ctx: click.Context, param: click.Parameter, value: str) -> TimeGroup:
    try:
        return TimeGroup.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        # Naive stays naive: options are read before the app (and so its zone) is loaded;
        # commands pass the result through cli_moment, which reads it as local time.
        return parse_timestamp(value, None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


#: ``--now DATETIME``, passed as ``now`` (a datetime, or None for the app's clock); a
#: command reads it with ``cli_moment(state, now)``, in the app's zone.
now_option = click.option(
    "--now",
    metavar="DATETIME",
    callback=_moment,
    help="Count as if it were this moment (ISO 8601 or epoch seconds; without an offset, "
    "local time in the app's BITMAPIST_TIMEZONE). Default: the current time.",
)


#: ``--segment TEXT``, passed as ``segment`` (None: every user): the answer on that
#: segment's users only (``plan=pro & ~beta_testers``; see docs/segments.md).
segment_option = click.option(
    "--segment",
    metavar="SEGMENT",
    default=None,
    help="Only these users: property values (plan=pro) and saved cohorts joined by &, | "
    "and ~ (see docs/segments.md).",
)


#: ``--breakdown PROPERTY``, passed as ``breakdown`` (None: no breakdown): the answer once
#: per value of the property, largest first, and once for everyone else.
breakdown_option = click.option(
    "--breakdown",
    metavar="PROPERTY",
    default=None,
    help="Show the answer once per value of this property (largest first, at most "
    "BITMAPIST_MAX_BREAKDOWN_GROUPS) and once for everyone else.",
)


def time_group_option(
    default: str = "days", help: str = "Length of each row's period."
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``--time-group [hours|days|weeks|months|years]``, passed as ``time_group`` (a
    :class:`TimeGroup`)."""
    return click.option(
        "--time-group",
        default=default,
        show_default=True,
        metavar="[hours|days|weeks|months|years]",
        callback=_time_group,
        help=help,
    )


def number_option(
    name: str, default: int, help: str, *, within: tuple[int, int] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``name N``: an int, its default shown in the help; ``within`` bounds it (low, high),
    else what reads it checks it and names the field (an answer's ``--periods``)."""
    return click.option(
        name,
        type=int if within is None else click.IntRange(*within),
        default=default,
        show_default=True,
        help=help,
    )


def format_option(
    choices: Sequence[str] = OUTPUT_FORMATS,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``--format``, passed as ``output_format``; the first choice is the default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices, case_sensitive=False),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def answer_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """What every answer command takes after its own options, in this order:
    ``--segment``, ``--breakdown``, ``--format``, ``--now``; the command is passed the
    click context, and a storage failure is its clean error (:func:`storage_errors`)."""
    shared: list[Callable[[Any], Any]] = [
        segment_option,
        breakdown_option,
        format_option(),
        now_option,
        click.pass_context,
        storage_errors,
    ]
    for decorator in reversed(shared):
        command = decorator(command)
    return command


class Progress(Protocol):
    """What a command may do with :func:`progress`'s bar."""

    def update(self, n_steps: int) -> None: ...


class _NoProgress:
    """Stands in for a progress bar when the length is unknown (a pipe)."""

    def update(self, n_steps: int) -> None:
        pass


def progress(length: int | None, label: str) -> AbstractContextManager[Progress]:
    """A progress bar on stderr (click draws it only on a terminal), or none without a
    length."""
    if length is None:
        return nullcontext(_NoProgress())
    return click.progressbar(length=length, label=label, file=sys.stderr)
