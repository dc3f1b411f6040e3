"""``flask bitmapist trend``, ``lifecycle``, ``stickiness`` and ``funnel``: one command per
answer kind, each made by :func:`answer_command` from the kind's name.

Every command takes its expressions as arguments, ``--time-group``, ``--periods``,
``--now``, ``--segment`` and ``--format table|csv|json`` (the JSON equals the API's: both
come from the kind's :meth:`~flask_bitmapist.services.answers.Answer.to_dict`), asks the
app's answer pipeline for the answer, prints it on stdout and its warnings (names with no
data) on stderr. A bad field or a request past the read budget is a usage error naming the option.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

import click
from flask.cli import with_appcontext

from flask_bitmapist.domain import MAX_ROLLING, InvalidAnswerSpec
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.flask.cli.options import (
    answer_options,
    cli_moment,
    cli_state,
    number_option,
    time_group_option,
)
from flask_bitmapist.services.answers import Answer, Breakdown

__all__ = [
    "answer_command",
    "answer_errors",
    "funnel_command",
    "lifecycle_command",
    "print_answer",
    "stickiness_command",
    "trend_command",
]

#: Which option or argument names each field of an answer's request.
_HINTS: Final = {
    "expr": "EXPR",
    "step": "STEP",
    "periods": "--periods",
    "rolling": "--rolling",
    "time_group": "--time-group",
    "now": "--now",
    "rows": "--rows",
    "cols": "--cols",
    "segment": "--segment",
    "compare": "--compare",
    "breakdown": "--breakdown",
}


@contextmanager
def answer_errors(ctx: click.Context) -> Iterator[None]:
    """Turn a field's error (a bad value, a request past the read budget) into a usage
    error (exit status 2) naming the option or argument at fault."""
    try:
        yield
    except (InvalidAnswerSpec, InvalidRequest) as exc:
        hint = _HINTS.get(exc.field, exc.field)
        raise click.BadParameter(str(exc), ctx=ctx, param_hint=hint) from exc


def print_answer(answer: Answer[Any, Any] | Breakdown[Any, Any], output_format: str) -> None:
    """The answer on stdout as a text table, CSV or the API's JSON; warnings on stderr."""
    for warning in answer.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        click.echo(json.dumps(answer.to_dict(), indent=2, sort_keys=True))
    elif output_format == "csv":
        click.echo(answer.csv(), nl=False)
    else:
        click.echo(answer.table())


def answer_command(
    kind: str,
    *,
    field: str,
    metavar: str,
    many: bool,
    doc: str,
    rolling: bool = False,
    compare: bool = False,
) -> click.Command:
    """The command of answer ``kind``: its expressions as argument ``metavar`` (several
    when ``many``) sent as field ``field``; ``--rolling`` and ``--compare previous`` when
    the kind takes them."""

    def command(ctx: click.Context, output_format: str, **params: Any) -> None:
        state = cli_state()
        given = params.pop("expressions")
        now: datetime | None = params.pop("now")
        fields: dict[str, object] = {field: list(given) if many else given, **params}
        fields["now"] = cli_moment(state, now)
        labels = list(given) if many else [given]
        with answer_errors(ctx):
            if fields.get("breakdown"):
                print_answer(state.answers.breakdown(kind, fields, labels=labels), output_format)
                return
            answer = state.answers.answer(kind, fields, labels=labels)
        print_answer(answer, output_format)

    command.__doc__ = doc
    decorators: list[Callable[[Any], Any]] = [
        click.command(kind),
        with_appcontext,
        click.argument("expressions", metavar=metavar, nargs=-1 if many else 1, required=True),
        time_group_option(help="Length of each period."),
        number_option("--periods", 30, "How many periods, ending with now's."),
    ]
    if rolling:
        decorators.append(
            number_option(
                "--rolling",
                1,
                f"Count the users who matched in any of this many periods ending with each "
                f"one (1..{MAX_ROLLING}; 7 on days: weekly actives drawn daily).",
            )
        )
    if compare:
        decorators.append(
            click.option(
                "--compare",
                type=click.Choice(["previous"]),
                default=None,
                help="Add the same answer over the periods just before the window.",
            )
        )
    decorators.append(answer_options)
    made: Any = command
    for decorator in reversed(decorators):
        made = decorator(made)
    assert isinstance(made, click.Command)
    return made


trend_command = answer_command(
    "trend",
    field="expr",
    metavar="EXPR...",
    many=True,
    rolling=True,
    compare=True,
    doc="""Print how many users matched each EXPR (an event or a text expression, up to 10)
    in each period.

    \b
    flask bitmapist trend user:active --periods 30
    flask bitmapist trend user:active --rolling 7 --periods 90
    flask bitmapist trend user:paid 'user:paid & ~user:refunded' --time-group weeks
    """,
)

lifecycle_command = answer_command(
    "lifecycle",
    field="expr",
    metavar="EXPR",
    many=False,
    doc="""Print, for each period, how many users of EXPR (an event, or events joined by |)
    were new (first match ever), returning (there the period before too), resurrecting
    (back after a break) and dormant (there the period before, not in this one).

    \b
    flask bitmapist lifecycle user:active --time-group weeks --periods 12
    flask bitmapist lifecycle 'user:active | user:paid' --format csv
    """,
)

stickiness_command = answer_command(
    "stickiness",
    field="expr",
    metavar="EXPR",
    many=False,
    compare=True,
    doc="""Print how many users did EXPR in exactly 1, 2, … N of the last N periods.

    EXPR is an event name or a text expression ('user:paid | user:refunded').

    \b
    flask bitmapist stickiness user:logged_in
    flask bitmapist stickiness 'user:paid | user:refunded' --time-group weeks --periods 12
    """,
)

funnel_command = answer_command(
    "funnel",
    field="step",
    metavar="STEP STEP [STEP...]",
    many=True,
    compare=True,
    doc="""Print how many users did each STEP in order within the last N periods.

    Each STEP is an event name or a text expression. A user reaches step 1 in the first
    period where they do it, and each later step in that period or after: steps done in
    the same period count as done in order (bitmaps do not order events within a period).

    \b
    flask bitmapist funnel product:viewed cart:added user:paid
    flask bitmapist funnel user:created 'user:paid | user:trial' --periods 14 --format json
    """,
)
