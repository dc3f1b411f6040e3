"""Reading cohort requests: the page's query string and 0.1's JSON body.

Everything a request carries is untrusted text. :class:`CohortForm` keeps it as typed
(so the page can show the form again, errors included) and :meth:`CohortForm.to_spec`
turns it into a validated :class:`~flask_bitmapist.domain.CohortSpec`. Every problem is
an :class:`InvalidRequest` naming the field, which the views answer with a 400.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlencode

import attrs
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from flask_bitmapist.domain import (
    DEFAULT_MAX_EXPRESSION_TERMS,
    MAX_STEPS,
    UTC,
    CohortMode,
    CohortSpec,
    EventRef,
    Expression,
    InvalidCohortSpec,
    InvalidEventName,
    InvalidExpression,
    parse_chain,
    parse_expression,
)
from flask_bitmapist.exceptions import InvalidRequest
from flask_bitmapist.services.answers import parse_count, parse_now
from flask_bitmapist.services.bounded_json import MAX_JSON_BYTES, InvalidJson, load_json
from flask_bitmapist.services.cohort_requests import create_cohort_spec, legacy_mode

__all__ = [
    "ANSWER_FIELDS",
    "COHORT_FIELDS",
    "MAX_PER_PAGE",
    "MIN_STEP_ROWS",
    "AnswerForm",
    "CohortForm",
    "FunnelForm",
    # Defined in flask_bitmapist.exceptions; re-exported for the dashboard's views.
    "InvalidRequest",
    "Page",
    "SegmentedForm",
    "StickinessForm",
    "WindowForm",
    "event_text",
    "json_object",
    "parse_bool",
    "parse_cell",
    "parse_count",
    "parse_legacy_body",
    "parse_now",
    "window_args",
]

#: Query-string keys of the cohort form; a request with none of them is an empty form.
COHORT_FIELDS = (
    "primary",
    "primary_expression",
    "secondary",
    "secondary_expression",
    "additional",
    "op",
    "time_group",
    "rows",
    "cols",
    "mode",
    "as_percent",
    "first_time",
    "now",
)
#: Query-string keys of the trend and lifecycle forms; none of them: the default answer.
ANSWER_FIELDS = ("expr", "time_group", "periods", "rolling", "now")
MAX_PER_PAGE = 1000
#: The funnel page shows at least this many step rows.
MIN_STEP_ROWS = 3
_DEFAULT_PER_PAGE = 100
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def parse_bool(field: str, value: object, default: bool = False) -> bool:
    """``1/0``, ``true/false``, ``yes/no``, ``on/off`` (or a JSON bool)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise InvalidRequest(f"{field} must be true or false (1 or 0), got {value!r}", field=field)


def _event(field: str, name: object, what: str) -> EventRef:
    if name is None or name == "":
        raise InvalidRequest(f"{field} is required: choose {what}", field=field)
    try:
        return EventRef(name)  # type: ignore[arg-type]
    except InvalidEventName as exc:
        raise InvalidRequest(f"{field}: {exc}", field=field) from None


def _expression(field: str, text: str, max_terms: int) -> Expression:
    try:
        return parse_expression(text, max_terms=max_terms)
    except InvalidExpression as exc:
        raise InvalidRequest(f"{field}: {exc}", field=field) from None


def _chain(
    secondary_field: str,
    secondary: object,
    additional_field: str,
    additional: Sequence[Any],
    max_terms: int,
) -> Expression:
    _event(secondary_field, secondary, "the event users come back for")
    try:
        return parse_chain(secondary, additional, max_terms=max_terms)  # type: ignore[arg-type]
    except InvalidExpression as exc:
        index = exc.position if exc.position is not None else 0
        # The chain names its input "additional_events"; say what this request called it.
        message = str(exc).replace("additional_events", additional_field, 1)
        raise InvalidRequest(message, field=f"{additional_field}[{index}]") from None


def _build_spec(primary: Expression, secondary: Expression, **options: Any) -> CohortSpec:
    """The spec (:func:`create_cohort_spec`, ``options`` passed on), an error naming the
    field as this request called it."""
    try:
        return create_cohort_spec(primary, secondary, **options)
    except InvalidCohortSpec as exc:
        raise InvalidRequest(str(exc), field=exc.field) from None


def _strings(args: MultiDict[str, str], key: str) -> list[str]:
    return [value.strip() for value in args.getlist(key)]


@attrs.frozen
class SegmentedForm:
    """What every answer's form holds besides its question, as typed: a pinned ``now``
    (blank: the app's), the ``segment`` (blank: every user) and the ``breakdown``
    property (blank: none)."""

    now: str = ""
    segment: str = ""
    breakdown: str = ""

    def set_pairs(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        """The query-string pairs of those of ``keys`` that are not blank, in order."""
        return [(key, value) for key in keys if (value := getattr(self, key))]


@attrs.frozen
class CohortForm(SegmentedForm):
    """The cohort form as typed: the page's query string, or 0.1's body in the same shape.

    ``additional`` pairs each event with ``and``/``or`` (0.1's chain); a non-empty
    ``secondary_expression`` (or ``primary_expression``) replaces the chosen events.
    """

    primary: str = ""
    primary_expression: str = ""
    secondary: str = ""
    secondary_expression: str = ""
    additional: tuple[tuple[str, str], ...] = ()
    time_group: str = "day"
    rows: str = "10"
    cols: str = "10"
    mode: str = CohortMode.FIRST_RETURN.value
    as_percent: str = "0"
    first_time: str = "0"

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> CohortForm:
        """Read the form from a query string (``request.args``).

        Additional events come as repeated ``additional`` and ``op`` keys, paired by
        position; blank names are rows the user left empty and are dropped.
        """
        names, ops = _strings(args, "additional"), _strings(args, "op")
        # A missing op stays empty here and is refused by to_spec, so the page can still
        # show the form as it was sent.
        ops = ops[: len(names)] + [""] * (len(names) - len(ops))  # an op without a name: none
        additional = tuple((name, op.lower()) for name, op in zip(names, ops, strict=True) if name)
        defaults = cls()

        def get(key: str, default: str) -> str:
            value = args.get(key)
            return default if value is None else value.strip()

        return cls(
            primary=get("primary", ""),
            primary_expression=get("primary_expression", ""),
            secondary=get("secondary", ""),
            secondary_expression=get("secondary_expression", ""),
            additional=additional,
            time_group=get("time_group", defaults.time_group) or defaults.time_group,
            rows=get("rows", defaults.rows),
            cols=get("cols", defaults.cols),
            mode=get("mode", defaults.mode) or defaults.mode,
            as_percent=get("as_percent", defaults.as_percent),
            first_time=get("first_time", defaults.first_time),
            now=get("now", ""),
            segment=get("segment", ""),
            breakdown=get("breakdown", ""),
        )

    @staticmethod
    def is_submitted(args: Mapping[str, object]) -> bool:
        """Whether the query string holds any cohort field (else: show an empty form)."""
        return any(key in args for key in COHORT_FIELDS)

    @property
    def percent(self) -> bool:
        """Whether cells show percentages of the row total (``as_percent``), validated."""
        return parse_bool("as_percent", self.as_percent)

    @property
    def first(self) -> bool:
        """Whether rows hold only first-time users (``first_time``), validated."""
        return parse_bool("first_time", self.first_time)

    def to_spec(
        self,
        *,
        now: datetime,
        max_cells: int,
        max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
    ) -> CohortSpec:
        """Validate every field; ``now`` is used unless the form pins its own.

        ``now`` is the app's current time, in its zone: the periods are that zone's, and a
        pinned ``now`` without an offset is local time there. Expressions may name at most
        ``max_terms`` events (``BITMAPIST_MAX_EXPRESSION_TERMS``).
        """
        self.percent  # noqa: B018 - validated here so one call checks the whole form
        for index, (_, op) in enumerate(self.additional):
            if op not in ("and", "or"):
                raise InvalidRequest(
                    f"op: additional event {index + 1} needs 'and' or 'or', got {op!r}",
                    field="op",
                )
        if self.primary_expression:
            primary = _expression("primary_expression", self.primary_expression, max_terms)
        else:
            primary = _event("primary", self.primary, "the event that defines each row's users")
        if self.secondary_expression:
            secondary = _expression("secondary_expression", self.secondary_expression, max_terms)
        else:
            chain = [{"name": name, "op": op} for name, op in self.additional]
            secondary = _chain("secondary", self.secondary, "additional", chain, max_terms)
        return _build_spec(
            primary,
            secondary,
            now=parse_now("now", self.now, now.tzinfo or UTC) or now,
            time_group=self.time_group,
            rows=parse_count("rows", self.rows),
            cols=parse_count("cols", self.cols),
            mode=self.mode,
            max_cells=max_cells,
            # A typed expression is what the error is about, not the event list.
            field_names={
                key: f"{key}_expression"
                for key in ("primary", "secondary")
                if getattr(self, f"{key}_expression")
            },
            first_time=self.first,
        )

    def query(self, **overrides: object) -> str:
        """The form as a query string (for bookmarks and links), ``overrides`` applied."""
        pairs = self.set_pairs(
            ("primary", "primary_expression", "secondary", "secondary_expression")
        )
        for name, op in self.additional:
            pairs += [("additional", name), ("op", op)]
        pairs += [
            ("time_group", self.time_group),
            ("rows", self.rows),
            ("cols", self.cols),
            ("mode", self.mode),
            ("as_percent", self.as_percent),
        ]
        if self.first_time not in ("", "0"):
            pairs.append(("first_time", self.first_time))
        pairs += self.set_pairs(("now", "segment", "breakdown"))
        replaced = {key: str(value) for key, value in overrides.items()}
        pairs = [(k, replaced.pop(k, v)) for k, v in pairs]
        pairs += list(replaced.items())
        return urlencode(pairs)


def parse_legacy_body(
    body: object,
    *,
    now: datetime,
    max_cells: int,
    max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
) -> tuple[CohortSpec, bool]:
    """0.1's ``POST /cohort`` JSON body -> (spec, as_percent).

    Fields and defaults as in 0.1: ``primary_event``, ``secondary_event``,
    ``additional_events`` (``[{"name", "op"}]``), ``time_group`` ("days"), ``num_rows`` (20),
    ``num_cols`` (10), ``as_percent`` (false), ``with_replacement`` (false). ``mode`` may
    name any :class:`~flask_bitmapist.domain.CohortMode` and wins over ``with_replacement``;
    ``first_time`` (false) keeps in each row only the users whose first-ever primary event
    fell in its period.
    """
    if not isinstance(body, Mapping):
        raise InvalidRequest(
            f"the body must be a JSON object with primary_event and secondary_event, "
            f"got {type(body).__name__}",
            field="body",
        )
    primary = _event("primary_event", body.get("primary_event"), "the primary event")
    additional = body.get("additional_events") or []
    if not isinstance(additional, list):
        raise InvalidRequest(
            f"additional_events must be a list of {{'name', 'op'}} objects, got {additional!r}",
            field="additional_events",
        )
    secondary = _chain(
        "secondary_event", body.get("secondary_event"), "additional_events", additional, max_terms
    )
    mode = legacy_mode(
        body.get("mode"),
        with_replacement=parse_bool("with_replacement", body.get("with_replacement")),
    )
    spec = _build_spec(
        primary,
        secondary,
        now=now,
        time_group=body.get("time_group", "days"),
        rows=parse_count("num_rows", body.get("num_rows"), 20),
        cols=parse_count("num_cols", body.get("num_cols"), 10),
        mode=mode,
        max_cells=max_cells,
        field_names={"rows": "num_rows", "cols": "num_cols", "primary": "primary_event"},
        first_time=parse_bool("first_time", body.get("first_time")),
    )
    return spec, parse_bool("as_percent", body.get("as_percent"))


def json_object(request: Request, *, wanted: str) -> dict[str, Any]:
    """The request's body, a JSON object read within :data:`MAX_JSON_BYTES` and
    :data:`MAX_JSON_DEPTH` (a body past either is refused, never parsed); ``wanted`` says
    what it should hold, for the errors."""
    if not request.is_json:
        raise InvalidRequest(
            f"the body must be JSON (Content-Type: application/json) {wanted}", field="body"
        )
    length = request.content_length
    if length is not None and length > MAX_JSON_BYTES:
        raise InvalidRequest(
            f"the body is {length:,} bytes long; at most {MAX_JSON_BYTES:,} are read",
            field="body",
        )
    # Read at most one byte past the bound, whatever Content-Length claimed.
    data = request.stream.read(MAX_JSON_BYTES + 1)
    try:
        body = load_json(data)
    except InvalidJson as exc:
        raise InvalidRequest(f"the body: {exc}", field="body") from None
    if not isinstance(body, dict):
        raise InvalidRequest(
            f"the body must be a JSON object {wanted}, got {type(body).__name__}",
            field="body",
        )
    return body


@attrs.frozen
class Page:
    """A page of a drill-down list: 1-based ``number`` of ``size`` items."""

    number: int
    size: int

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Page:
        """Read ``page`` (from 1) and ``per_page`` (1..1000, default 100)."""
        number = parse_count("page", args.get("page"), 1)
        size = parse_count("per_page", args.get("per_page"), _DEFAULT_PER_PAGE)
        if number < 1:
            raise InvalidRequest(f"page must be 1 or more, got {number}", field="page")
        if not 1 <= size <= MAX_PER_PAGE:
            raise InvalidRequest(
                f"per_page must be between 1 and {MAX_PER_PAGE}, got {size}", field="per_page"
            )
        return cls(number, size)

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.number - 1) * self.size


def parse_cell(args: Mapping[str, str]) -> tuple[int, int]:
    """The ``row`` and ``col`` of a drill-down, both required, from 0."""
    return parse_count("row", args.get("row")), parse_count("col", args.get("col"))


W = TypeVar("W", bound="WindowForm")


@attrs.frozen
class WindowForm(SegmentedForm):
    """What every form of an answer over a window of periods holds besides its
    expressions, as typed: ``time_group``, ``periods``, ``now``, ``segment``, ``compare``
    and ``breakdown``. Each kind's form adds its expressions (:attr:`KEYS`: the keys that
    make a request a submitted form)."""

    KEYS: ClassVar[tuple[str, ...]] = ()

    time_group: str = "day"
    periods: str = "30"
    compare: str = ""

    @classmethod
    def from_args(cls: type[W], args: MultiDict[str, str]) -> W:
        """Read the form from a query string (``request.args``)."""
        raise NotImplementedError

    @classmethod
    def is_submitted(cls, args: MultiDict[str, str]) -> bool:
        """Whether the query string holds any field (else: show an empty form)."""
        return any(key in args for key in cls.KEYS)

    def fields(self) -> dict[str, object]:
        """The request's fields, as the answer pipeline reads them."""
        raise NotImplementedError

    def window_fields(self) -> dict[str, object]:
        """The window's fields, as the answer pipeline reads them."""
        return {
            "time_group": self.time_group,
            "periods": self.periods,
            "now": self.now,
            "segment": self.segment,
            "compare": self.compare,
            "breakdown": self.breakdown,
        }

    def window_query(
        self, head: list[tuple[str, str]], *, rolling: str = "", extra: Mapping[str, object]
    ) -> str:
        """The request as a query string: ``head`` (the expressions), the window (with
        ``rolling`` when given; ``now``, ``segment``, ``compare`` and ``breakdown`` when
        set), then ``extra``."""
        pairs = [*head, ("time_group", self.time_group), ("periods", self.periods)]
        if rolling:
            pairs.append(("rolling", rolling))
        pairs += self.set_pairs(("now", "segment", "compare", "breakdown"))
        pairs += [(key, str(value)) for key, value in extra.items()]
        return urlencode(pairs)


@attrs.frozen
class AnswerForm(WindowForm):
    """A request of expressions (trends, lifecycles) as typed, so a page can show it again
    with its error: repeated ``expr``, ``rolling`` and the window."""

    KEYS: ClassVar[tuple[str, ...]] = ANSWER_FIELDS

    exprs: tuple[str, ...] = ()
    rolling: str = "1"

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> AnswerForm:
        """Read repeated ``expr`` (blank ones dropped), ``rolling`` and the window from a
        query string; a blank ``periods`` or ``rolling`` is the default."""
        exprs = tuple(e.strip() for e in args.getlist("expr") if e.strip())
        window = window_args(args)
        return cls(
            exprs=exprs,
            rolling=(args.get("rolling") or "").strip() or "1",
            **{**window, "periods": window["periods"] or "30"},
        )

    @classmethod
    def is_submitted(cls, args: MultiDict[str, str]) -> bool:
        """Whether an expression was given (else a page shows an empty form)."""
        return any(e.strip() for e in args.getlist("expr"))

    def fields(self) -> dict[str, object]:
        """The request's fields, as the answer pipeline reads them."""
        return {"expr": list(self.exprs), "rolling": self.rolling, **self.window_fields()}

    def query(self, *, rolling: bool = True, **extra: object) -> str:
        """The request as a query string (for links), with ``extra`` keys appended."""
        head = [("expr", e) for e in self.exprs]
        return self.window_query(head, rolling=self.rolling if rolling else "", extra=extra)


@attrs.frozen
class StickinessForm(WindowForm):
    """The stickiness request as typed: ``expr`` and the window."""

    KEYS: ClassVar[tuple[str, ...]] = ("expr", "time_group", "periods", "now", "segment")

    expr: str = ""

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> StickinessForm:
        """Read the form from a query string."""
        return cls(expr=(args.get("expr") or "").strip(), **window_args(args))

    def fields(self) -> dict[str, object]:
        """The request's fields, as the answer pipeline reads them."""
        return {"expr": self.expr, **self.window_fields()}

    def query(self, **overrides: object) -> str:
        """The form as a query string, ``overrides`` added."""
        return self.window_query([("expr", self.expr)], extra=overrides)


@attrs.frozen
class FunnelForm(WindowForm):
    """The funnel request as typed, each step as a text expression.

    The API sends each step as a repeated ``step`` (an event name or an expression). The
    page sends, per step row, the event chosen in ``step_event`` and an optional
    ``step_expression`` that replaces it, paired by position; rows left blank are dropped.
    """

    KEYS: ClassVar[tuple[str, ...]] = (
        "step",
        "step_event",
        "step_expression",
        "time_group",
        "periods",
        "now",
        "segment",
    )

    steps: tuple[str, ...] = ()

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
                steps.append(event_text(name))
        return cls(steps=tuple(steps), **window_args(args))

    def fields(self) -> dict[str, object]:
        """The request's fields, as the answer pipeline reads them."""
        return {"step": list(self.steps), **self.window_fields()}

    def step_rows(self, events: frozenset[str] | set[str]) -> list[tuple[str, str]]:
        """The page's step rows as ``(event, expression)``: a step that is one of ``events``
        fills the event picker, anything else the expression; then blank rows, at
        least :data:`MIN_STEP_ROWS` in all and one more than filled, up to ten."""
        names = {event_text(event): event for event in events}
        rows = [(names[s], "") if s in names else ("", s) for s in self.steps]
        wanted = min(MAX_STEPS, max(MIN_STEP_ROWS, len(rows) + 1))
        return rows + [("", "")] * (wanted - len(rows))

    def query(self, **overrides: object) -> str:
        """The request as the API's query string (``step`` repeated), ``overrides`` added."""
        return self.window_query([("step", step) for step in self.steps], extra=overrides)


def event_text(name: str) -> str:
    """An event chosen from a list, as an expression (quoted when its name needs it).

    A name no event can have is kept as typed: reading it as an expression then fails
    with an error naming the field."""
    try:
        return str(EventRef(name))
    except InvalidEventName:
        return name


def window_args(args: Mapping[str, str]) -> dict[str, str]:
    """The window of an answer's query string as typed: ``time_group`` (``day`` when
    missing or blank), ``periods`` (``30`` when missing), ``now`` (blank: the app's) and
    ``segment`` (blank: every user), ``compare`` and ``breakdown`` (blank: none)."""
    time_group = (args.get("time_group") or "").strip()
    periods = args.get("periods")
    return {
        "time_group": time_group or "day",
        "periods": "30" if periods is None else periods.strip(),
        "now": (args.get("now") or "").strip(),
        "segment": (args.get("segment") or "").strip(),
        "compare": (args.get("compare") or "").strip(),
        "breakdown": (args.get("breakdown") or "").strip(),
    }
