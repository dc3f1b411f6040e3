"""Trends, lifecycles, stickiness and funnels in an app context (see docs/answers.md;
first-time cohort rows are ``get_cohort(..., first_time=True)``).

Each function asks the app's answer pipeline
(:class:`~flask_bitmapist.services.answers.Answers`) for its kind: one read of the current
app's storage, within its read budget. They raise
:class:`~flask_bitmapist.exceptions.StorageUnavailable` when storage cannot be read, and
for bad input (or a request past the read budget) an
:class:`~flask_bitmapist.exceptions.InvalidAnswerSpec` or
:class:`~flask_bitmapist.exceptions.InvalidRequest` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypedDict, TypeVar, cast, overload

from flask_bitmapist.domain import (
    Expression,
    Funnel,
    Lifecycle,
    Stickiness,
    TimeGroup,
    Trend,
)
from flask_bitmapist.flask.state import current_state

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["get_funnel", "get_lifecycle", "get_stickiness", "get_trend"]

P = ParamSpec("P")
R = TypeVar("R")


class Segmented(TypedDict, total=False):
    """The keywords every answer function takes (see docs/segments.md): ``segment``, the
    answer on that segment's users only; ``breakdown``, the answer once per value of that
    property (then the function returns ``{value: answer}``: see :class:`ByProperty`)."""

    segment: str | None
    breakdown: None


class Compared(Segmented, total=False):
    """:class:`Segmented`, and ``compare="previous"``: the answer's ``previous`` is the same
    answer over the periods just before the window."""

    compare: str | None


class ByProperty(Protocol[P, R]):
    """An answer function as type checkers see it: its own signature gives its result;
    with ``breakdown="plan"`` it gives an ordered ``{value: result}`` whose last key, None,
    holds everyone else."""

    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...

    @overload
    def __call__(self, *args: Any, breakdown: str, **kwargs: Any) -> dict[str | None, R]: ...


def by_property(answer: Callable[P, R]) -> ByProperty[P, R]:
    """``answer`` unchanged, typed for ``breakdown=`` (the function's body passes
    ``breakdown`` on to :meth:`~flask_bitmapist.services.answers.Answers.breakdown`)."""
    return cast("ByProperty[P, R]", answer)


@by_property
def get_trend(
    expression: str | Expression | Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    rolling: int = 1,
    now: datetime | None = None,
    **options: Unpack[Compared],
) -> Trend:
    """How many users matched ``expression`` in each of the ``periods`` periods of
    ``time_group`` ending with the one containing ``now`` (default: the current time).

    ``expression`` is text (``"user:paid & ~user:refunded"``), an expression object, or a
    list of up to 10 of them: one series each. With ``rolling=w`` each count is the users
    who matched in any of the ``w`` periods ending with that one (``rolling=7`` on days is
    weekly actives drawn daily). ``trend.dates`` holds the periods' starts (in the app's zone),
    ``trend.series[i].counts`` one count per period, oldest first::

        trend = get_trend(["user:active", "user:paid"], periods=30, rolling=7)

    Every function here takes the keyword ``segment``: the answer on that segment's users
    only (docs/segments.md). ``compare="previous"`` (here, in :func:`get_stickiness` and in
    :func:`get_funnel`) sets the answer's ``previous``: the same answer over the
    ``periods`` periods just before the window. With ``breakdown="plan"`` each returns
    the answer once per value of that property, largest group first, as an ordered
    ``{value: answer}`` whose last key, None, holds everyone else.
    """
    answer: Trend = _answer("trend", locals())
    return answer


@by_property
def get_lifecycle(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    **options: Unpack[Segmented],
) -> Lifecycle:
    """For each of the ``periods`` periods ending with now's, how many users matching
    ``expression`` (an event or an OR of events) were new (first match ever), returning
    (there the period before too), resurrecting (back after a break) and dormant (there
    the period before, not in this one)::

        lifecycle = get_lifecycle("user:active", "weeks", periods=12)
        lifecycle.new, lifecycle.returning, lifecycle.resurrecting, lifecycle.dormant
    """
    answer: Lifecycle = _answer("lifecycle", locals())
    return answer


@by_property
def get_stickiness(
    expression: str | Expression,
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    **options: Unpack[Compared],
) -> Stickiness:
    """How many users matched ``expression`` in exactly 1, 2, … N of the ``periods``
    periods of ``time_group`` ending with the one containing ``now`` (default: the current
    time).

    ``expression`` is an event name or a text expression (``"user:paid | user:refunded"``).
    The answer's ``counts[k - 1]`` is the number of users seen in exactly ``k`` periods,
    ``dates`` the periods' starts, ``total`` everyone seen at least once. Bad input raises
    :class:`~flask_bitmapist.exceptions.InvalidAnswerSpec` naming the field.
    """
    answer: Stickiness = _answer("stickiness", locals())
    return answer


@by_property
def get_funnel(
    steps: Sequence[str | Expression],
    time_group: str | TimeGroup = "days",
    periods: int = 30,
    now: datetime | None = None,
    **options: Unpack[Compared],
) -> Funnel:
    """How many users went through ``steps`` (2 to 10 event names or text expressions) in
    order, within the ``periods`` periods of ``time_group`` ending with the one containing
    ``now`` (default: the current time).

    A user reaches step 1 in the first period of the window where they match it, and step
    k in the first period at or after the one where they reached step k - 1. Steps done in
    the same period count as done in order: bitmaps do not order events within a period.
    ``counts[k]`` is the number of users who reached step ``k + 1``; ``from_previous``,
    ``from_first`` and ``dropped`` are derived from it.
    """
    answer: Funnel = _answer("funnel", locals())
    return answer


def _answer(kind: str, arguments: dict[str, Any]) -> Any:
    """The current app's answer of ``kind`` to an answer function's ``arguments`` (its
    ``locals()`` on entry: ``expression`` or ``steps``, the window, ``options``); ``now``
    is read in the app's zone."""
    fields = {_FIELDS.get(name, name): value for name, value in arguments.items()}
    fields.update(fields.pop("options", {}))
    fields["now"] = current_state().moment(fields.get("now"))
    return ask(kind, fields, breakdown=fields.get("breakdown"))


def ask(
    kind: str,
    fields: dict[str, Any] | None = None,
    *,
    spec: object = None,
    segment: str | None = None,
    breakdown: str | None = None,
    shown: Callable[[Any], Any] = lambda result: result,
) -> Any:
    """The current app's answer of ``kind`` to ``fields`` (or to a ``spec``), as
    ``shown`` makes it of the domain's result: that, or with a ``breakdown`` the ordered
    ``{value: shown(result)}``. The domain's result has no room for warnings, so the event
    listing that finds them is skipped."""
    answers = current_state().answers
    if breakdown is None:
        return shown(answers.answer(kind, fields, spec=spec, segment=segment, warn=False).result)
    found = answers.breakdown(
        kind, fields, spec=spec, segment=segment, breakdown=breakdown, warn=False
    )
    return {value: shown(result) for value, result in found.results.items()}


#: The answer functions' arguments that the pipeline's fields name otherwise.
_FIELDS = {"expression": "expr", "steps": "step"}
