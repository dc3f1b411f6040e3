"""The ``flask bitmapist`` commands: events, cohort tables, imports, demo data.

``init_app`` adds :data:`bitmapist_cli` to the app's ``flask`` command, so with
``flask --app yourapp`` these run against the app's configured storage::

    flask --app yourapp bitmapist events
    flask --app yourapp bitmapist cohort user:created user:logged_in --time-group weeks
    flask --app yourapp bitmapist import events.csv
    flask --app yourapp bitmapist demo-data --days 90 --users 5000

Bad arguments are usage errors (exit status 2); storage that cannot be reached, a file
that cannot be imported, or rows that were skipped end with status 1 and a message on
stderr, never a traceback.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import IO, Any, Final, ParamSpec, Protocol, TypeVar

import click
from flask.cli import AppGroup

from flask_bitmapist.domain import (
    MAX_COLS,
    MAX_ROWS,
    Cohort,
    CohortMode,
    CohortSpec,
    EventRef,
    Expression,
    InvalidCohortSpec,
    InvalidExpression,
    InvalidUserId,
    Mark,
    Period,
    StorageUnavailable,
    TimeGroup,
    parse_chain,
    parse_expression,
    validate_stored_event_name,
)
from flask_bitmapist.flask.state import BitmapistState, current_state, redact_url
from flask_bitmapist.services.demo_data import DemoDataSpec, generate_demo_marks, mark_in_chunks
from flask_bitmapist.services.event_files import (
    FORMATS,
    EventFileError,
    EventFileReader,
    ImportSummary,
    import_rows,
    parse_timestamp,
)
from flask_bitmapist.services.reports import (
    cohort_to_csv,
    cohort_to_dict,
    column_label,
    expression_to_text,
    period_label,
)

__all__ = ["bitmapist_cli"]

P = ParamSpec("P")
R = TypeVar("R")

#: The periods ``events`` counts, each the one containing now.
EVENT_PERIODS: Final = (
    ("today", TimeGroup.DAY),
    ("this week", TimeGroup.WEEK),
    ("this month", TimeGroup.MONTH),
    ("this year", TimeGroup.YEAR),
)
OUTPUT_FORMATS: Final = ("table", "csv", "json")
_CHAIN_ORDER: Final = "flask_bitmapist.chain_order"
_CHAIN_PARAMS: Final = ("and_events", "or_events")

bitmapist_cli = AppGroup(
    "bitmapist",
    help="Bitmap analytics: list events, print cohort tables, import past events, "
    "generate demo data.",
)


# -- shared plumbing -----------------------------------------------------------------


def _state() -> BitmapistState:
    try:
        return current_state()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


def _storage_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a storage failure into a one-line error and exit status 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except StorageUnavailable as exc:
            raise click.ClickException(_storage_message(exc)) from exc

    return wrapper


def _storage_message(exc: StorageUnavailable) -> str:
    url = redact_url(_state().settings.redis_url)
    return f"storage at {url} is unavailable: {exc} (check BITMAPIST_REDIS_URL and the server)"


def _event_name(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Validate event names as click parses them (one name, or a tuple for --and/--or)."""
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
        return parse_timestamp(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


_now_option = click.option(
    "--now",
    metavar="DATETIME",
    callback=_moment,
    help="Count as if it were this moment (ISO 8601 or epoch seconds; without an offset, "
    "UTC). Default: the current time.",
)


def _format_option(choices: Sequence[str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices, case_sensitive=False),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Align ``rows`` under ``header``: the first ``left`` columns to the left, the rest
    (numbers) to the right, two spaces apart.

    >>> print(render_table(["event", "today"], [["a", "1"], ["bb", "1,234"]]))
    event  today
    a          1
    bb     1,234
    """
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join(line(row) for row in (header, *rows))


class _Progress(Protocol):
    def update(self, n_steps: int) -> None: ...


class _NoProgress:
    """Stands in for a progress bar when the length is unknown (a pipe)."""

    def update(self, n_steps: int) -> None:
        pass


def _progress(length: int | None, label: str) -> AbstractContextManager[_Progress]:
    """A progress bar on stderr (click draws it only on a terminal), or none without a
    length."""
    if length is None:
        return nullcontext(_NoProgress())
    return click.progressbar(length=length, label=label, file=sys.stderr)


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _decimal(value: float | None, suffix: str = "") -> str:
    return "" if value is None else f"{value:,.1f}{suffix}"


# -- events --------------------------------------------------------------------------


@bitmapist_cli.command("events")
@_format_option(OUTPUT_FORMATS)
@_now_option
@_storage_errors
def events_command(output_format: str, now: datetime | None) -> None:
    """List every event with how many users did it today, this week, this month and this
    year."""
    state = _state()
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
        rows = [[name, *map(_count, row)] for name, row in zip(names, table, strict=True)]
        click.echo(render_table(header, rows))


def _period_json(period: Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


# -- cohort --------------------------------------------------------------------------


class _ChainCommand(click.Command):
    """Remembers the command-line order of ``--and`` and ``--or``.

    click collects each multiple option into its own tuple, which loses how the two
    interleave; 0.1's chain depends on it (``--and b --or c`` differs from ``--or c --and
    b``). The parser reports every option occurrence in order, so read it once up front.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        except click.UsageError:
            order = []  # the real parse below reports the error
        ctx.meta[_CHAIN_ORDER] = [p.name for p in order if p.name in _CHAIN_PARAMS]
        return super().parse_args(ctx, args)


def _chain_steps(
    ctx: click.Context, and_events: Sequence[str], or_events: Sequence[str]
) -> list[dict[str, str]]:
    """0.1's ``additional_events`` in command-line order."""
    queues = {"and_events": iter(and_events), "or_events": iter(or_events)}
    ops = {"and_events": "and", "or_events": "or"}
    return [
        {"name": next(queues[name]), "op": ops[name]} for name in ctx.meta.get(_CHAIN_ORDER, [])
    ]


@bitmapist_cli.command("cohort", cls=_ChainCommand)
@click.argument("primary", callback=_event_name)
@click.argument("secondary", required=False, callback=_event_name)
@click.option(
    "--and",
    "and_events",
    multiple=True,
    metavar="EVENT",
    callback=_event_name,
    help="AND another event onto the secondary (repeatable).",
)
@click.option(
    "--or",
    "or_events",
    multiple=True,
    metavar="EVENT",
    callback=_event_name,
    help="OR another event with the one just before it (repeatable). As in 0.1, each OR "
    "binds to its predecessor: 'S --and A --or B' is S & (A | B).",
)
@click.option(
    "--expr",
    metavar="TEXT",
    help="The secondary as a text expression instead of SECONDARY: "
    "'user:paid & (user:returned | user:refunded) & ~user:banned' (NOT > AND > OR).",
)
@click.option(
    "--time-group",
    default="days",
    show_default=True,
    metavar="[hours|days|weeks|months|years]",
    callback=_time_group,
    help="Length of each row's period.",
)
@click.option(
    "--rows",
    type=click.IntRange(1, MAX_ROWS),
    default=7,
    show_default=True,
    help="How many periods back, ending with now's.",
)
@click.option(
    "--cols",
    type=click.IntRange(1, MAX_COLS),
    default=7,
    show_default=True,
    help="How many periods forward from each row.",
)
@click.option(
    "--mode",
    type=click.Choice([mode.value for mode in CohortMode], case_sensitive=False),
    default=CohortMode.FIRST_RETURN.value,
    show_default=True,
    help="first_return: a user counts in the first column they match; recurring: in every "
    "column they match; cumulative: in every column up to their last match.",
)
@click.option("--percent", is_flag=True, help="Show cells as percentages of the row's users.")
@_format_option(OUTPUT_FORMATS)
@_now_option
@click.pass_context
@_storage_errors
def cohort_command(
    ctx: click.Context,
    primary: str,
    secondary: str | None,
    and_events: tuple[str, ...],
    or_events: tuple[str, ...],
    expr: str | None,
    time_group: TimeGroup,
    rows: int,
    cols: int,
    mode: str,
    percent: bool,
    output_format: str,
    now: datetime | None,
) -> None:
    """Print the cohort table of users who did PRIMARY, and when they did SECONDARY.

    Row i holds the users who did PRIMARY in period i; column j counts those of them who
    did the secondary (SECONDARY with --and/--or, or --expr) j periods later.

    \b
    flask bitmapist cohort user:created user:logged_in --time-group weeks --rows 8 --cols 8
    flask bitmapist cohort user:created user:paid --and user:logged_in --or user:refunded
    flask bitmapist cohort user:created --expr 'user:paid & ~user:refunded' --percent
    """
    state = _state()
    secondary_expr = _secondary(ctx, secondary, and_events, or_events, expr)
    try:
        spec = CohortSpec.create(
            EventRef(primary),
            secondary_expr,
            now=now or state.now(),
            time_group=time_group,
            rows=rows,
            cols=cols,
            mode=mode,
            max_cells=state.settings.max_cohort_cells,
        )
    except InvalidCohortSpec as exc:
        hint = {"rows": "--rows", "cols": "--cols", "now": "--now"}.get(exc.field)
        raise click.BadParameter(str(exc), ctx=ctx, param_hint=hint) from exc
    cohort = state.engine.compute(spec)
    if output_format == "json":
        click.echo(json.dumps(cohort_to_dict(cohort), indent=2))
    elif output_format == "csv":
        click.echo(cohort_to_csv(cohort, as_percent=percent), nl=False)
    else:
        click.echo(render_cohort(cohort, as_percent=percent))


def _secondary(
    ctx: click.Context,
    secondary: str | None,
    and_events: Sequence[str],
    or_events: Sequence[str],
    expr: str | None,
) -> Expression:
    if expr is not None:
        if secondary is not None:
            raise click.UsageError(
                f"give SECONDARY ({secondary!r}) or --expr, not both: --expr is the whole "
                "secondary expression",
                ctx=ctx,
            )
        if and_events or or_events:
            raise click.UsageError(
                "--and/--or extend SECONDARY; with --expr write the whole expression, "
                "e.g. --expr 'a & (b | c)'",
                ctx=ctx,
            )
        try:
            return parse_expression(expr)
        except InvalidExpression as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param_hint="--expr") from exc
    if secondary is None:
        raise click.UsageError("missing argument SECONDARY (or give --expr TEXT)", ctx=ctx)
    return parse_chain(secondary, _chain_steps(ctx, and_events, or_events))


def render_cohort(cohort: Cohort, *, as_percent: bool = False) -> str:
    """The cohort as an aligned text table: a heading, one line per row, then the column
    averages (and weighted averages) and totals."""
    spec = cohort.spec
    group = spec.time_group
    header = ["", "users", *(column_label(group, j) for j in range(spec.cols))]
    lines: list[list[str]] = []
    shown = cohort.percentages if as_percent else cohort.cells
    for date, total, row in zip(cohort.dates, cohort.totals, shown, strict=True):
        cells = [_decimal(v, "%") if as_percent else _count(v) for v in row]  # type: ignore[arg-type]
        lines.append([period_label(group, date), _count(total), *cells])
    mean_total = sum(cohort.totals) / len(cohort.totals)
    if as_percent:
        averages = [_decimal(v, "%") for v in cohort.average_percentages]
    else:
        averages = [_decimal(v) for v in cohort.averages]
    lines.append(["average", _decimal(mean_total), *averages])
    lines.append(["weighted", "", *(_decimal(v, "%") for v in cohort.weighted_averages)])
    lines.append(["total", _count(sum(cohort.totals)), *(_count(v) for v in cohort.column_totals)])
    heading = (
        f"primary:   {expression_to_text(spec.primary)}\n"
        f"secondary: {expression_to_text(spec.secondary)}\n"
        f"by {group.value}, {spec.mode.value}, {'percent of users' if as_percent else 'users'}; "
        f"now {spec.now.isoformat(timespec='seconds')}"
    )
    return heading + "\n\n" + render_table(header, lines)


# -- import --------------------------------------------------------------------------


@bitmapist_cli.command("import")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS, case_sensitive=False),
    help="csv or jsonl. Default: from the file name (.csv, .jsonl, .ndjson), else from "
    "its first line.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1, 1_000_000),
    default=10_000,
    show_default=True,
    help="Rows written per storage call.",
)
@click.pass_context
def import_command(
    ctx: click.Context, file: IO[bytes], file_format: str | None, chunk_size: int
) -> None:
    """Import past events from FILE (- for stdin): CSV with a header, or JSON Lines, of
    user_id,event,timestamp.

    Timestamps are ISO 8601 (without an offset: UTC) or epoch seconds. The file is
    streamed, so any size imports in bounded memory. Bad rows are reported with their line
    numbers and skipped; every other row is written. Exit status 1 when any row was
    skipped. Marking is idempotent, so running an import twice is harmless.

    User ids are ints; with BITMAPIST_MAP_IDS they may be any text (UUIDs, e-mail
    addresses) and are mapped through the app's id map, chunk by chunk, as mark_event()
    maps them.

    \b
    user_id,event,timestamp
    42,user:paid,2026-11-27T13:05:00Z
    """
    state = _state()
    settings = state.settings
    name = getattr(file, "name", "-")
    try:
        reader = EventFileReader(
            file,  # type: ignore[arg-type]
            name="-" if name == "<stdin>" else str(name),
            file_format=file_format,  # type: ignore[arg-type]
            max_user_id=settings.max_user_id,
            hourly=settings.track_hourly,
            unique=settings.track_unique,
            map_ids=state.id_mapper is not None,
        )
    except EventFileError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param_hint="FILE") from exc
    summary = ImportSummary()
    size = _file_size(file)
    with _progress(size, f"Importing {reader.name}") as bar:
        shown = 0

        def advance(_: ImportSummary) -> None:
            nonlocal shown
            bar.update(reader.bytes_read - shown)
            shown = reader.bytes_read

        try:
            import_rows(
                state.repository,
                reader,
                chunk_size=chunk_size,
                summary=summary,
                on_chunk=advance,
                id_mapper=state.id_mapper,
                max_user_id=settings.max_user_id,
            )
        except (StorageUnavailable, InvalidUserId) as exc:
            # Rows are validated when read: InvalidUserId here is the id map running out
            # of ints, which stops the import like storage that fails.
            _report_bad_rows(summary)
            failure = (
                _storage_message(exc)
                if isinstance(exc, StorageUnavailable)
                else f"cannot map more user ids: {exc} (BITMAPIST_MAX_USER_ID is "
                f"{settings.max_user_id:,}, the largest int the id map may give out)"
            )
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


# -- demo-data -----------------------------------------------------------------------


@bitmapist_cli.command("demo-data")
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=90,
    show_default=True,
    help="How many days of history, ending today.",
)
@click.option(
    "--users",
    type=click.IntRange(1, 10_000_000),
    default=5000,
    show_default=True,
    help="How many users sign up over those days (ids 1..N).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same data.")
@click.option("--yes", is_flag=True, help="Do not ask before writing into Redis.")
@_now_option
@_storage_errors
def demo_data_command(days: int, users: int, seed: int, yes: bool, now: datetime | None) -> None:
    """Generate realistic demo events: sign-ups (user:created) spread over the days, logins
    and logouts decaying with account age, a paid subset (user:paid), rare refunds
    (user:refunded).

    The same arguments give the same data. With BITMAPIST_REDIS_URL=memory:// the data
    lives only as long as this command: use a Redis, or `make demo`, whose app
    generates its own at start-up. With BITMAPIST_MAP_IDS the users 1..N are mapped
    through the id map like any other ids.
    """
    state = _state()
    settings = state.settings
    url = redact_url(settings.redis_url)
    in_memory = settings.redis_url.lower().startswith("memory://")
    if not in_memory and not yes:
        click.confirm(
            f"Write generated events for users 1..{users} into {url} "
            f"(key prefix {settings.key_prefix!r})?",
            abort=True,
            err=True,
        )
    spec = DemoDataSpec.create(
        now=now or state.now(),
        days=days,
        users=users,
        seed=seed,
        hourly=settings.track_hourly,
        unique=settings.track_unique,
    )
    last_user = 0

    def tracked() -> Iterator[Mark]:
        nonlocal last_user
        for mark in generate_demo_marks(spec):
            last_user = mark.user_id
            yield mark

    with _progress(users, "Generating demo data") as bar:
        shown = 0

        def advance(_: int) -> None:
            nonlocal shown
            bar.update(last_user - shown)
            shown = last_user

        written = mark_in_chunks(
            state.repository,
            tracked(),
            on_chunk=advance,
            id_mapper=state.id_mapper,
            max_user_id=settings.max_user_id,
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
