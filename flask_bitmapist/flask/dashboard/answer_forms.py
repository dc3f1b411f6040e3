"""Reading stickiness and funnel requests: the pages' query strings and the API's.

Like :class:`~flask_bitmapist.flask.dashboard.forms.CohortForm`, each form keeps what was
typed (so a page can show it again, errors included) and turns it into a validated spec
with the services shared by the CLI and the Python API. Every problem is an
:class:`InvalidRequest` (or :class:`~flask_bitmapist.domain.InvalidAnswerSpec`) naming the
field, which the views answer with a 400.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from urllib.parse import urlencode

import attrs
from werkzeug.datastructures import MultiDict

from flask_bitmapist.domain import (
    DEFAULT_MAX_EXPRESSION_TERMS,
    MAX_STEPS,
    EventRef,
    FunnelSpec,
    InvalidEventName,
    StickinessSpec,
    parse_expression,
)
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.flask.dashboard.forms import parse_count, parse_now
from flask_bitmapist.services.answers import funnel_spec, stickiness_spec

UTC = timezone.utc

__all__ = ["FunnelForm", "StickinessForm", "named_events", "parse_drill_step"]

#: The funnel page shows at least this many step rows.
MIN_STEP_ROWS = 3


def _get(args: Mapping[str, str], key: str, default: str) -> str:
    value = args.get(key)
    return default if value is None else value.strip()


@attrs.frozen
class StickinessForm:
    """The stickiness request as typed: ``expr``, ``time_group``, ``periods``, ``now``."""

    expr: str = ""
    time_group: str = "day"
    periods: str = "30"
    now: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> StickinessForm:
        """Read the form from a query string."""
        defaults = cls()
        return cls(
            expr=_get(args, "expr", ""),
            time_group=_get(args, "time_group", defaults.time_group) or defaults.time_group,
            periods=_get(args, "periods", defaults.periods),
            now=_get(args, "now", ""),
        )

    @staticmethod
    def is_submitted(args: Mapping[str, str]) -> bool:
        """Whether the query string holds any field (else: show an empty form)."""
        return any(key in args for key in ("expr", "time_group", "periods", "now"))

    def to_spec(
        self, *, now: datetime, max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS
    ) -> StickinessSpec:
        """Validate every field; ``now`` is used unless the form pins its own; the
        expression may name at most ``max_terms`` events."""
        return stickiness_spec(
            self.expr,
            now=parse_now("now", self.now, now.tzinfo or UTC) or now,
            time_group=self.time_group,
            periods=parse_count("periods", self.periods),
            max_terms=max_terms,
        )

    def query(self, **overrides: object) -> str:
        """The form as a query string, ``overrides`` added."""
        pairs = [("expr", self.expr), ("time_group", self.time_group), ("periods", self.periods)]
        if self.now:
            pairs.append(("now", self.now))
        pairs += [(key, str(value)) for key, value in overrides.items()]
        return urlencode(pairs)


@attrs.frozen
class FunnelForm:
    """The funnel request as typed, each step as a text expression.

    The API sends each step as a repeated ``step`` (an event name or an expression). The
    page sends, per step row, the event chosen in ``step_event`` and an optional
    ``step_expression`` that replaces it, paired by position; rows left blank are dropped.
    """

    steps: tuple[str, ...] = ()
    time_group: str = "day"
    periods: str = "30"
    now: str = ""

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> FunnelForm:
        """Read the form from a query string (``request.args``)."""
        steps = [v.strip() for v in args.getlist("step") if v.strip()]
        events = [v.strip() for v in args.getlist("step_event")]
        expressions = [v.strip() for v in args.getlist("step_expression")]
        rows = max(len(events), len(expressions))
        events += [""] * (rows - len(events))
        expressions += [""] * (rows - len(expressions))
        for name, expression in zip(events, expressions, strict=True):
            if expression:
                steps.append(expression)
            elif name:
                steps.append(_event_text(name))
        defaults = cls()
        return cls(
            steps=tuple(steps),
            time_group=_get(args, "time_group", defaults.time_group) or defaults.time_group,
            periods=_get(args, "periods", defaults.periods),
            now=_get(args, "now", ""),
        )

    @staticmethod
    def is_submitted(args: Mapping[str, str]) -> bool:
        """Whether the query string holds any field (else: show an empty form)."""
        keys = ("step", "step_event", "step_expression", "time_group", "periods", "now")
        return any(key in args for key in keys)

    def to_spec(
        self, *, now: datetime, max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS
    ) -> FunnelSpec:
        """Validate every field; ``now`` is used unless the form pins its own; each step
        may name at most ``max_terms`` events."""
        return funnel_spec(
            self.steps,
            now=parse_now("now", self.now, now.tzinfo or UTC) or now,
            time_group=self.time_group,
            periods=parse_count("periods", self.periods),
            max_terms=max_terms,
        )

    def step_rows(self, events: frozenset[str] | set[str]) -> list[tuple[str, str]]:
        """The page's step rows as ``(event, expression)``: a step that names a known
        event fills the event list, anything else the expression; then blank rows, at
        least :data:`MIN_STEP_ROWS` in all and one more than filled, up to ten."""
        names = {_event_text(event): event for event in events}
        rows = [(names[s], "") if s in names else ("", s) for s in self.steps]
        wanted = min(MAX_STEPS, max(MIN_STEP_ROWS, len(rows) + 1))
        return rows + [("", "")] * (wanted - len(rows))

    def query(self, **overrides: object) -> str:
        """The request as the API's query string (``step`` repeated), ``overrides`` added."""
        pairs = [("step", step) for step in self.steps]
        pairs += [("time_group", self.time_group), ("periods", self.periods)]
        if self.now:
            pairs.append(("now", self.now))
        pairs += [(key, str(value)) for key, value in overrides.items()]
        return urlencode(pairs)


def parse_drill_step(args: Mapping[str, str], steps: int) -> tuple[str, int]:
    """Which users a funnel drill-down lists: ``("reached", k)`` for ``reached=k`` (users
    who reached step k) or ``("dropped", k)`` for ``dropped=k`` (reached step k, not k + 1).
    Exactly one is required."""
    given = [key for key in ("reached", "dropped") if args.get(key) not in (None, "")]
    if len(given) != 1:
        raise InvalidRequest(
            "give exactly one of reached=K (users who reached step K) or dropped=K (users "
            "who reached step K but not the next)",
            field="reached",
        )
    key = given[0]
    value = parse_count(key, args.get(key))
    last = steps if key == "reached" else steps - 1
    if not 1 <= value <= last:
        raise InvalidRequest(f"{key} must be between 1 and {last}, got {value}", field=key)
    return key, value


def named_events(steps: Iterable[str]) -> frozenset[str]:
    """The names of the ``steps`` that are one event each: their rows show them in the
    event picker, the others in the expression field."""
    names = set()
    for step in steps:
        try:
            expression = parse_expression(step)
        except ValueError:
            continue
        if isinstance(expression, EventRef):
            names.add(expression.name)
    return frozenset(names)


def _event_text(name: str) -> str:
    """An event chosen from the list, as an expression (quoted when its name needs it).

    A name no event can have is kept as typed: reading it as an expression then fails
    with an error naming the step."""
    try:
        return str(EventRef(name))
    except InvalidEventName:
        return name
