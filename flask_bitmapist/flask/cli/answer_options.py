"""What the ``trend``, ``lifecycle``, ``stickiness`` and ``funnel`` commands share:
``--periods``, and the domain's field errors turned into usage errors that point at the
option."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, ParamSpec, TypeVar

import click

from flask_bitmapist.domain import InvalidAnswerSpec

__all__ = ["answer_errors", "periods_option"]

P = ParamSpec("P")
R = TypeVar("R")

#: Which option or argument names each field of an answer's request.
_HINTS: Final = {
    "expr": "EXPR",
    "step": "STEP",
    "periods": "--periods",
    "rolling": "--rolling",
    "time_group": "--time-group",
    "now": "--now",
}


def periods_option(help: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``--periods N`` (default 30), passed as ``periods``; the spec checks its bounds."""
    return click.option("--periods", type=int, default=30, show_default=True, help=help)


@contextmanager
def answer_errors(ctx: click.Context) -> Iterator[None]:
    """Turn :class:`InvalidAnswerSpec` into a usage error (exit status 2) naming the
    option or argument at fault."""
    try:
        yield
    except InvalidAnswerSpec as exc:
        hint = _HINTS.get(exc.field, exc.field)
        raise click.BadParameter(str(exc), ctx=ctx, param_hint=hint) from exc
