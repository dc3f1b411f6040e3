"""The one pipeline every answer goes through, whichever front end asks (see
docs/adding-an-answer-kind.md).

An :class:`AnswerKind` describes one kind of answer once: its spec from fields, the engine
that computes it, how many bitmaps it reads, its result as a dict, CSV rows and a text
table, and its drill-downs. :class:`Answers` (one per app) runs a kind, and applies what
holds for every answer, here and nowhere else:

- the app's zone and ``now`` (a request's ``now`` is read in the app's calendar);
- the periods kept (``BITMAPIST_RETENTION``): a window reaching periods the policy has
  expired is a :class:`~flask_bitmapist.domain.PeriodsExpired` naming the field and the
  days kept, not zeros (see :func:`~flask_bitmapist.services.retention.check_window_kept`);
- the read budget (see docs/limits.md): before any bitmap is read, the number of keys is
  counted from the spec, then their stored lengths asked (one call, no bitmap read); a
  request past ``BITMAPIST_MAX_READ_KEYS`` or ``BITMAPIST_MAX_READ_BYTES`` is a
  :class:`~flask_bitmapist.exceptions.ReadBudgetExceeded` naming the field to shrink;
- which periods are complete (see docs/answers.md): the one containing ``now`` is not;
- warnings for event names that have no data anywhere (a typo is never silent zeros);
- the segment (``segment=``, see docs/segments.md): resolved once per request, in one
  read that counts toward the read budget, then every bitmap the answer reads is
  intersected with its users (the engines' ``universe``);
- the breakdown (``breakdown=P``): the answer once per value of property P, largest
  first, and once for everyone else, so that the groups partition the answer;
- the comparison (``compare="previous"``, on the kinds that take it): the same answer over
  the N periods just before the window, which is the answer with ``now`` moved back N
  periods.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar

import attrs

from flask_bitmapist.domain import (
    DEFAULT_MAX_COHORT_CELLS,
    DEFAULT_MAX_EXPRESSION_TERMS,
    NO_RETENTION,
    Bitmap,
    BitmapId,
    BitmapRepository,
    CohortEngine,
    Expression,
    FirstEver,
    InvalidMoment,
    Period,
    RetentionPolicy,
    TimeGroup,
    UserGroups,
    Window,
    first_ever_events,
    localize,
)
from flask_bitmapist.exceptions import InvalidRequest, ReadBudgetExceeded
from flask_bitmapist.services.answers.fields import Fields, count_field, parse_now, text_field
from flask_bitmapist.services.reports import CsvCell, period_stamp, to_csv
from flask_bitmapist.services.retention import check_window_kept
from flask_bitmapist.services.segments import (
    DEFAULT_MAX_BREAKDOWN_GROUPS,
    BreakdownGroups,
    SegmentLimits,
    breakdown_groups,
    breakdown_reads,
    breakdown_values,
    resolve_segment,
)

__all__ = [
    "DEFAULT_MAX_READ_BYTES",
    "DEFAULT_MAX_READ_KEYS",
    "Answer",
    "AnswerKind",
    "Answers",
    "Breakdown",
    "Drill",
    "ReadBudget",
    "ReadPlan",
    "complete_flags",
    "no_data_warnings",
]

#: The read budget of one answer by default (``BITMAPIST_MAX_READ_KEYS`` and
#: ``BITMAPIST_MAX_READ_BYTES``): what keeps a request under about 2 s and 300 MB on a
#: 1,000,000-user store. A bitmap of a million users is 125 KB, so 64 MiB is about 530 of
#: them, which the answer holds while it computes (measured on a loaded 2-core machine:
#: 1,000 such days read in 1.3 s with a peak of 120 MiB, rolling 366 over them in 3.1 s
#: and 216 MiB, so half as many stays within the bounds); 20,000 small bitmaps read and
#: combined take well under a second.
DEFAULT_MAX_READ_KEYS: Final = 20_000
DEFAULT_MAX_READ_BYTES: Final = 64 * 2**20

S = TypeVar("S")
R = TypeVar("R")
E = TypeVar("E")
S_in = TypeVar("S_in", contravariant=True)
R_out = TypeVar("R_out", covariant=True)
Clock = Callable[[], datetime]


class Engine(Protocol[S_in, R_out]):
    """What computes an answer kind (the domain's engines): its result for a spec, and the
    result within each group of a breakdown."""

    def compute(self, spec: S_in) -> R_out: ...

    def compute_groups(self, spec: S_in, groups: UserGroups) -> Sequence[R_out]: ...


@attrs.frozen
class ReadBudget:
    """How much one answer may read: ``keys`` bitmaps, ``bytes`` bytes in all."""

    keys: int = DEFAULT_MAX_READ_KEYS
    bytes: int = DEFAULT_MAX_READ_BYTES


@attrs.frozen
class ReadPlan:
    """What an answer will read, known from its spec before reading: ``keys`` bitmaps
    (counted without listing them), ``ids`` (a function listing them, called only when
    ``keys`` is within the budget), and ``field``, the request field to shrink when it is
    too much."""

    keys: int
    ids: Callable[[], Sequence[BitmapId]]
    field: str


@attrs.frozen
class Drill:
    """A drill-down's users and what they are (``about``: the fields a users page echoes)."""

    users: Bitmap
    about: Mapping[str, Any]


class AnswerKind(abc.ABC, Generic[S, R]):
    """One kind of answer, described once: every front end goes through :class:`Answers`.

    Adding a kind is a subclass here (in its own module of this package), registered in
    :data:`~flask_bitmapist.services.answers.KINDS`; see docs/adding-an-answer-kind.md.
    """

    #: The kind's name: the API's path (``/api/trend``) and the CLI's command.
    name: ClassVar[str]
    #: Whether its JSON has ``dates`` (then it carries ``complete`` aligned with them).
    dated: ClassVar[bool] = True
    #: Whether it takes ``compare="previous"`` (then it overrides :meth:`previous_to_dict`).
    comparable: ClassVar[bool] = False

    @abc.abstractmethod
    def spec(self, fields: Fields, answers: Answers) -> S:
        """The validated spec from ``fields`` (text or Python values; ``answers`` gives
        ``now`` and the app's bounds); errors name the field."""

    @abc.abstractmethod
    def engine(self, answers: Answers) -> Engine[S, R]:
        """The engine that computes the kind, reading ``answers.repository`` (build it with
        :meth:`Answers.engine`: it then reads within the app's bounds and segment)."""

    def compute(self, answers: Answers, spec: S) -> R:
        """The answer, from one batched read of ``answers.repository``."""
        return self.engine(answers).compute(spec)

    def compute_groups(self, answers: Answers, spec: S, groups: UserGroups) -> Sequence[R]:
        """The answer within each of ``groups`` (a breakdown's), in order, from one read:
        the engine makes the answer's user sets once and counts them within every group."""
        return self.engine(answers).compute_groups(spec, groups)

    @abc.abstractmethod
    def plan(self, answers: Answers, spec: S) -> ReadPlan:
        """What computing ``spec`` reads (the read budget checks it first)."""

    @abc.abstractmethod
    def events(self, spec: S) -> frozenset[str]:
        """Every event name ``spec`` reads (those without data get a warning)."""

    @abc.abstractmethod
    def periods(self, result: R) -> Sequence[Period]:
        """The periods the answer's ``dates`` stand for (for ``complete``)."""

    @abc.abstractmethod
    def to_dict(self, result: R, options: dict[str, Any]) -> dict[str, Any]:
        """The API's JSON (the CLI's ``--format json`` prints the same). ``options`` are
        how the front end shows it: ``labels`` (expressions as typed), ``as_percent``."""

    @abc.abstractmethod
    def csv_rows(self, result: R, options: dict[str, Any]) -> Sequence[Sequence[CsvCell]]:
        """The CSV download's rows, header first."""

    def csv_cell_users(self, result: R, row: int, col: int) -> dict[str, Any] | None:
        """The drill-down fields of the users that cell (``row``, ``col``) of the CSV body
        (:meth:`csv_rows` without its header) counts; None for a cell that counts none
        (a date, a percentage, a total, the previous window's count)."""
        del result, row, col
        return None

    @abc.abstractmethod
    def table(self, result: R, options: dict[str, Any]) -> str:
        """The CLI's text table, with a heading saying when and in which zone."""

    @abc.abstractmethod
    def drill(self, answers: Answers, spec: S, fields: Fields) -> Drill:
        """The users behind one number of the answer, chosen by ``fields``."""

    def previous_to_dict(
        self, answer: dict[str, Any], previous: R, options: dict[str, Any]
    ) -> None:
        """Add the previous window's answer ``previous`` to the JSON ``answer`` (the kinds
        that are :attr:`comparable`)."""
        raise NotImplementedError(f"{self.name} has no comparison")

    def last_period(self, spec: S) -> Period:
        """The last period of the answer (names its CSV download)."""
        return spec.window.last  # type: ignore[attr-defined,no-any-return]

    def complete(self, answers: Answers, result: R, spec: S) -> list[bool]:
        """``complete`` of the JSON: per date, whether its period ended by ``now``."""
        del answers
        return complete_flags(self.periods(result), spec.now)  # type: ignore[attr-defined]


@attrs.frozen
class Answer(Generic[S, R]):
    """A computed answer and how every front end shows it."""

    kind: AnswerKind[S, R]
    spec: S
    result: R
    options: dict[str, Any] = attrs.field(factory=dict)
    complete: tuple[bool, ...] | None = None
    warnings: tuple[str, ...] = ()
    #: The segment the answer is restricted to, as given (None: every user).
    segment: str | None = None

    @property
    def previous(self) -> R | None:
        """With ``compare="previous"``: the same answer over the N periods before the
        window (the result's ``previous``)."""
        previous: R | None = getattr(self.result, "previous", None)
        return previous

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON: the kind's, with ``segment`` (when one was given), ``complete``
        (when it has dates) and ``warnings`` (when there are any)."""
        answer = self.kind.to_dict(self.result, self.options)
        if self.previous is not None:
            self.kind.previous_to_dict(answer, self.previous, self.options)
        if self.segment is not None:
            answer["segment"] = self.segment
        if self.complete is not None:
            answer["complete"] = list(self.complete)
        if self.warnings:
            answer["warnings"] = list(self.warnings)
        return answer

    def csv(self) -> str:
        """The answer as CSV text (through the one CSV writer)."""
        return to_csv(self.kind.csv_rows(self.result, self.options))

    def table(self) -> str:
        """The answer as an aligned text table (under the segment, when one was given)."""
        table = self.kind.table(self.result, self.options)
        return table if self.segment is None else f"segment: {self.segment}\n{table}"

    @property
    def csv_filename(self) -> str:
        """``trend-day-2026-11-27.csv``: the kind, its time group and its last period
        (local to the app's zone)."""
        last = self.kind.last_period(self.spec)
        return f"{self.kind.name}-{last.group.value}-{period_stamp(last)}.csv"


@attrs.frozen
class Breakdown(Generic[S, R]):
    """An answer once per value of property ``name`` (see docs/segments.md): ``groups``
    of (value, answer), largest first, the last one (value None) everyone else; they
    partition the answer. ``omitted`` values went to the last group past the cap."""

    name: str
    groups: tuple[tuple[str | None, Answer[S, R]], ...]
    omitted: int

    @property
    def results(self) -> dict[str | None, R]:
        """Each group's result by value, in order (None: everyone else)."""
        return {value: answer.result for value, answer in self.groups}

    @property
    def warnings(self) -> tuple[str, ...]:
        """The answer's warnings (every group has the same)."""
        return self.groups[0][1].warnings

    def to_dict(self) -> dict[str, Any]:
        """``{"breakdown": P, "groups": [{"value": V, ...the answer's JSON...}, ...],
        "omitted_values": K}``."""
        return {
            "breakdown": self.name,
            "groups": [{"value": value, **answer.to_dict()} for value, answer in self.groups],
            "omitted_values": self.omitted,
        }

    def csv(self) -> str:
        """The groups' CSV rows, each after a first column with its value (blank: everyone
        else), under one header."""
        rows: list[Sequence[CsvCell]] = []
        for value, answer in self.groups:
            header, *body = answer.kind.csv_rows(answer.result, answer.options)
            if not rows:
                rows.append([self.name, *header])
            rows += [["" if value is None else value, *row] for row in body]
        return to_csv(rows)

    def table(self) -> str:
        """Each group's text table under its value."""
        return "\n\n".join(
            f"{self.name} = {'(everyone else)' if value is None else value}\n{answer.table()}"
            for value, answer in self.groups
        )

    @property
    def csv_filename(self) -> str:
        """The answer's CSV name, with the property: ``trend-day-2026-11-27-by-plan.csv``."""
        return self.groups[0][1].csv_filename.removesuffix(".csv") + f"-by-{self.name}.csv"


@attrs.frozen
class _Request:
    """A request checked before reading: its kind, spec, the previous window's spec (None:
    no comparison), segment (as given) and warnings."""

    kind: AnswerKind[Any, Any]
    spec: Any
    before: Any
    segment: str | None
    warnings: tuple[str, ...]


class Answers:
    """The answers of one app: its storage, its calendar and clock, its bounds.

    Front ends ask here by kind; none of them builds an engine.
    """

    def __init__(
        self,
        repository: BitmapRepository,
        *,
        kinds: Mapping[str, AnswerKind[Any, Any]],
        zone: tzinfo,
        clock: Clock,
        max_user_id: int | None = None,
        max_terms: int = DEFAULT_MAX_EXPRESSION_TERMS,
        max_cells: int = DEFAULT_MAX_COHORT_CELLS,
        budget: ReadBudget | None = None,
        retention: RetentionPolicy = NO_RETENTION,
        max_breakdown_groups: int = DEFAULT_MAX_BREAKDOWN_GROUPS,
    ) -> None:
        self.repository = repository
        self.max_breakdown_groups = max_breakdown_groups
        self.kinds = dict(kinds)
        self.zone = zone
        self.max_user_id = max_user_id
        self.max_terms = max_terms
        self.max_cells = max_cells
        self.budget = budget or ReadBudget()
        self.retention = retention
        #: The bitmap reader every engine reads through: no bitmap past the app's largest
        #: user id's byte, so a huge id another writer set costs no read its 512 MiB.
        self.reader = CohortEngine(repository, max_user_id=max_user_id)
        #: The users every answer is restricted to (None: everyone), and those taken out
        #: of it (None: nobody); see :meth:`within`.
        self.universe: Bitmap | None = None
        self.excluded: Bitmap | None = None
        self._clock = clock

    def engine(self, cls: Callable[..., E]) -> E:
        """An engine of class ``cls`` reading this app's storage: no read past its largest
        user id, every user set within :attr:`universe`."""
        return cls(
            self.repository,
            max_user_id=self.max_user_id,
            universe=self.universe,
            excluded=self.excluded,
        )

    def within(self, universe: Bitmap | None, excluded: Bitmap | None = None) -> Answers:
        """These answers restricted to the users ``universe`` (None: everyone) without
        those in ``excluded`` (None: nobody); itself when both are None."""
        if universe is None and excluded is None:
            return self
        restricted = copy.copy(self)
        restricted.universe = universe
        restricted.excluded = excluded
        restricted.reader = restricted.engine(CohortEngine)
        return restricted

    def segment_users(self, text: object) -> Bitmap | None:
        """The users of the segment ``text`` (None when no segment is given: None or
        blank text); an :class:`~flask_bitmapist.exceptions.InvalidSegment` (a 400 naming
        the field ``segment``) when it names what does not exist. One read, counted
        toward the read budget's keys."""
        if text is None or (isinstance(text, str) and not text.strip()):
            return None
        return resolve_segment(
            self.repository,
            text,
            SegmentLimits(max_terms=self.max_terms, max_user_id=self.max_user_id),
        )

    # -- the app's calendar --------------------------------------------------------------

    def now(self) -> datetime:
        """The current time in the app's zone (aware): it carries the app's calendar."""
        return localize(self._clock(), self.zone)

    def moment(self, value: object, field: str = "now") -> datetime:
        """A request's ``now``: the current time when None or blank, text parsed in the app's
        zone, a datetime localized there (naive means local time)."""
        if value is None:
            return self.now()
        if isinstance(value, str):
            return parse_now(field, value, self.zone) or self.now()
        if not isinstance(value, datetime):
            raise InvalidMoment(f"{field} must be a datetime, got {value!r}")
        return localize(value, self.zone)

    def window(self, fields: Fields) -> dict[str, Any]:
        """What every windowed spec takes from a request: ``now`` (in the app's zone),
        ``time_group`` (days by default), ``periods`` (30 by default) and the app's
        ``max_terms``."""
        return {
            "now": self.moment(fields.get("now")),
            "time_group": text_field(fields, "time_group", TimeGroup.DAY),
            "periods": count_field(fields, "periods", 30),
            "max_terms": self.max_terms,
        }

    # -- answers -------------------------------------------------------------------------

    def kind(self, name: str) -> AnswerKind[Any, Any]:
        """The kind called ``name``."""
        try:
            return self.kinds[name]
        except KeyError:
            raise InvalidRequest(
                f"unknown answer kind {name!r}; expected one of {', '.join(self.kinds)}",
                field="kind",
            ) from None

    def spec(self, kind: str, fields: Fields) -> Any:
        """The validated spec of a ``kind`` request (errors name the field)."""
        return self.kind(kind).spec(fields, self)

    def answer(
        self,
        kind: str,
        fields: Fields | None = None,
        *,
        spec: object = None,
        warn: bool = True,
        segment: str | None = None,
        compare: str | None = None,
        **options: Any,
    ) -> Answer[Any, Any]:
        """The answer of ``kind`` to ``fields`` (or to a ``spec`` a front end built), within
        the periods kept and the read budget, with its ``complete`` flags and warnings;
        ``options`` say how it is shown (``labels``: the expressions as typed;
        ``as_percent`` for cohorts). With
        ``warn=False`` the event listing that finds names without data is skipped (the
        Python functions return the domain's result, which has no room for warnings).
        ``segment`` (or ``fields["segment"]``) restricts it to a segment's users;
        ``compare="previous"`` (or ``fields["compare"]``) adds the previous window's."""
        request = self._request(kind, fields, spec, segment, compare, warn)
        within = self.within(self.segment_users(request.segment))
        [answer] = self._run(request, within, options)
        return answer

    def breakdown(
        self,
        kind: str,
        fields: Fields | None = None,
        *,
        spec: object = None,
        breakdown: str | None = None,
        warn: bool = True,
        segment: str | None = None,
        compare: str | None = None,
        **options: Any,
    ) -> Breakdown[Any, Any]:
        """The answer of ``kind`` once per value of property ``breakdown`` (or
        ``fields["breakdown"]``) held by the most users, at most ``max_breakdown_groups``,
        largest first, then once for everyone else; each group is the answer with
        ``segment="P=V"`` (and ``segment`` too). The kept values' users are read in one
        call (see :func:`~flask_bitmapist.services.segments.breakdown_groups`); the read
        budget counts them with the answer's bitmaps."""
        fields = fields or {}
        name, values = breakdown_values(
            self.repository, fields.get("breakdown") if breakdown is None else breakdown
        )
        request = self._request(kind, fields, spec, segment, compare, warn, self._reads(values))
        found = self._groups(name, values)
        chosen = self.segment_users(request.segment)
        groups = UserGroups(tuple(users for _, users in found.values), within=chosen)
        answers = self._run(request, self, options, groups)
        labels = [value for value, _ in found.values] + [None]
        return Breakdown(found.name, tuple(zip(labels, answers, strict=True)), found.omitted)

    def _request(
        self,
        kind: str,
        fields: Fields | None,
        spec: object,
        segment: str | None,
        compare: str | None = None,
        warn: bool = False,
        user_sets: int = 0,
    ) -> _Request:
        """A request checked before anything is read: its spec (and the previous window's,
        with ``compare``) within the periods kept, and everything it reads (both windows,
        the segment's user sets and ``user_sets`` more) within the read budget."""
        answer_kind = self.kind(kind)
        fields = fields or {}
        if spec is None:
            spec = answer_kind.spec(fields, self)
        before = _previous_spec(spec) if _compare(answer_kind, fields, compare) else None
        self.check_kept(spec if before is None else before)
        text = _segment_text(fields, segment)
        user_sets += 0 if text is None else _segment_terms(text)
        self.check_budget(answer_kind, spec, before, user_sets=user_sets)
        warnings = (
            no_data_warnings(answer_kind.events(spec), self.repository.event_names())
            if warn
            else ()
        )
        return _Request(answer_kind, spec, before, text, warnings)

    def _run(
        self,
        request: _Request,
        within: Answers,
        options: dict[str, Any],
        groups: UserGroups | None = None,
    ) -> list[Answer[Any, Any]]:
        """The request's answer computed by ``within`` (and the previous window's, as its
        ``previous``), with its ``complete`` flags; with ``groups``, one per group."""
        kind = request.kind

        def results(spec: Any) -> Sequence[Any]:
            if groups is None:
                return [kind.compute(within, spec)]
            return kind.compute_groups(within, spec, groups)

        found = results(request.spec)
        if request.before is not None:
            found = [
                attrs.evolve(result, previous=previous)
                for result, previous in zip(found, results(request.before), strict=True)
            ]
        complete = tuple(kind.complete(self, found[0], request.spec)) if kind.dated else None
        return [
            Answer(
                kind,
                request.spec,
                result,
                options=options,
                complete=complete,
                warnings=request.warnings,
                segment=request.segment,
            )
            for result in found
        ]

    def drill(
        self, kind: str, fields: Fields, *, spec: object = None, segment: str | None = None
    ) -> Drill:
        """The users behind one number of a ``kind`` answer (``fields`` say which), within
        the periods kept and the answer's read budget, and within ``segment`` (or
        ``fields["segment"]``) when one is given. With ``fields["group"]`` (a value, or
        blank for everyone else) and ``fields["breakdown"]``, of that breakdown group."""
        group = fields.get("group")
        name, values = (
            (None, ())
            if group is None
            else breakdown_values(self.repository, fields.get("breakdown"))
        )
        request = self._request(kind, fields, spec, segment, user_sets=self._reads(values))
        chosen = self.segment_users(request.segment)
        about: dict[str, Any] = {} if request.segment is None else {"segment": request.segment}
        if name is None:
            within = self.within(chosen)
        else:
            value = str(group).strip() or None
            within = self._group(self._groups(name, values), value, chosen)
            about.update(breakdown=name, group=value)
        drill = request.kind.drill(within, request.spec, fields)
        return Drill(drill.users, {**drill.about, **about}) if about else drill

    def _reads(self, values: Sequence[str]) -> int:
        """How many user sets a breakdown over ``values`` reads (see
        :func:`~flask_bitmapist.services.segments.breakdown_reads`)."""
        return breakdown_reads(len(values), self.max_breakdown_groups)

    def _groups(self, name: str, values: Sequence[str]) -> BreakdownGroups:
        """The groups of a breakdown by property ``name`` (of ``values``): one read."""
        limits = SegmentLimits(max_terms=self.max_terms, max_user_id=self.max_user_id)
        return breakdown_groups(
            self.repository, name, values, max_groups=self.max_breakdown_groups, limits=limits
        )

    def _group(self, found: BreakdownGroups, value: str | None, chosen: Bitmap | None) -> Answers:
        """These answers within the breakdown group ``value`` of ``found`` (None: everyone
        else), and ``chosen`` (a segment's users) when given."""
        if value is None:
            return self.within(chosen, excluded=found.holders)
        values = dict(found.values)
        if value not in values:
            raise InvalidRequest(
                f"group {value!r} is not one of the breakdown's groups: "
                f"{', '.join(values) or 'none'} (blank: everyone else)",
                field="group",
            )
        users = values[value]
        return self.within(users if chosen is None else users & chosen)

    def first_ever_history(
        self, expression: Expression, group: TimeGroup, periods: Sequence[Period]
    ) -> Sequence[BitmapId]:
        """The stored bitmaps a first-ever answer (lifecycle "new", first-time cohort rows)
        reads before ``periods``: every earlier month the storage holds, from the listing of
        the events' months (no bitmap read), so the budget counts the history too."""
        months = self.repository.stored_months(first_ever_events(expression))
        return FirstEver.plan(expression, group, periods, months).bitmap_ids()

    def check_kept(self, spec: Any) -> None:
        """Refuse ``spec`` when its window reaches periods ``BITMAPIST_RETENTION`` has
        expired at the clock's time (not the request's ``now``: keys expire on the clock)."""
        check_window_kept(spec, self.retention, self.now())

    def check_budget(
        self, kind: AnswerKind[S, Any], spec: S, before: S | None = None, *, user_sets: int = 0
    ) -> None:
        """Refuse ``spec`` (with ``before``, the previous window, when compared) before
        reading anything when it reads more bitmaps or bytes than the budget allows: the
        count comes from the specs (plus ``user_sets``: a segment's and a breakdown's user
        sets), the bytes from the stored lengths of the bitmaps of both windows, each
        counted once (one call that reads no bitmap)."""
        plans = [kind.plan(self, s) for s in (spec, before) if s is not None]
        keys = sum(plan.keys for plan in plans) + user_sets
        field = plans[0].field
        if keys > self.budget.keys:
            raise ReadBudgetExceeded(
                f"this {kind.name} reads {keys:,} bitmaps, more than "
                f"BITMAPIST_MAX_READ_KEYS ({self.budget.keys:,}): shrink {field}",
                field=field,
            )
        ids = list(dict.fromkeys(i for plan in plans for i in plan.ids()))
        if not ids:
            return
        limit = self.reader.read_limit
        sizes = self.repository.sizes(ids)
        total = sum(size if limit is None else min(size, limit) for size in sizes)
        if total > self.budget.bytes:
            raise ReadBudgetExceeded(
                f"this {kind.name} reads {total:,} bytes of bitmaps, more than "
                f"BITMAPIST_MAX_READ_BYTES ({self.budget.bytes:,}): shrink {field}",
                field=field,
            )


def _compare(kind: AnswerKind[Any, Any], fields: Fields, compare: object) -> bool:
    """Whether a request asks for the previous window (``compare="previous"``, the keyword
    or ``fields["compare"]``; None or blank: no); anything else names the field."""
    value = fields.get("compare") if compare is None else compare
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    if not isinstance(value, str) or value.strip().lower() != "previous":
        raise InvalidRequest(f"compare must be 'previous', got {value!r}", field="compare")
    if not kind.comparable:
        raise InvalidRequest(
            f"compare is for trend, stickiness and funnel, not {kind.name}", field="compare"
        )
    return True


def _previous_spec(spec: Any) -> Any:
    """``spec`` with ``now`` moved back N periods (its window's size): the same moment of
    the period N before now's, or that period's last moment when it is shorter."""
    window: Window = spec.window
    last = window.last
    earlier = last.shift(-window.size)
    moment = min(earlier.start + (window.now - last.start), earlier.end - timedelta(microseconds=1))
    rolling = getattr(spec, "rolling", 1)
    moved = Window.create(
        time_group=window.time_group, periods=window.size, now=moment, before=rolling - 1
    )
    return attrs.evolve(spec, window=moved)


def _segment_text(fields: Fields, segment: object) -> str | None:
    """The segment a request gives (the keyword, else ``fields["segment"]``), None when
    none is given or it is blank; anything but text is refused naming the field."""
    value = fields.get("segment") if segment is None else segment
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(
            f"segment must be text such as 'plan=pro', got {value!r}", field="segment"
        )
    return value.strip() or None


def _segment_terms(text: str) -> int:
    """How many user sets the segment ``text`` names at most (one read each): a bound
    for the read budget, counted without parsing (the segment is parsed when resolved)."""
    return max(1, sum(text.count(op) for op in "&|") + 1)


def complete_flags(periods: Sequence[Period], now: datetime) -> list[bool]:
    """Per period, whether it ended by ``now``: the one containing ``now`` is incomplete
    (see docs/answers.md).

    >>> from datetime import datetime
    >>> days = [Period.containing(TimeGroup.DAY, datetime(2026, 11, d)) for d in (26, 27)]
    >>> complete_flags(days, datetime(2026, 11, 27, 13))
    [True, False]
    """
    return [period.end <= now for period in periods]


def incomplete_mark(label: str, complete: bool) -> str:
    """A period's label as the CLI's tables show it: ``(incomplete)`` after the period
    containing now.

    >>> incomplete_mark("Nov 27", False), incomplete_mark("Nov 26", True)
    ('Nov 27 (incomplete)', 'Nov 26')
    """
    return label if complete else f"{label} (incomplete)"


def no_data_warnings(events: frozenset[str], stored: frozenset[str]) -> tuple[str, ...]:
    """``no data for event 'x'`` for each of ``events`` that has no stored bitmap.

    >>> no_data_warnings(frozenset({"paid", "piad"}), frozenset({"paid"}))
    ("no data for event 'piad'",)
    """
    return tuple(f"no data for event {name!r}" for name in sorted(events - stored))


def read_plan(
    events: frozenset[str] | Sequence[str],
    group: TimeGroup,
    n_periods: int,
    periods: Callable[[], Sequence[Period]],
    factors: Mapping[str, int],
    extra: Sequence[BitmapId] = (),
) -> ReadPlan:
    """What reading every one of ``events`` in each of ``n_periods`` periods of ``group``
    costs (plus the stored bitmaps ``extra``, such as a first-ever history): a year is its
    twelve months. The count is arithmetic; ``periods`` lists them only when the count is
    within the budget. The field to shrink is the one of ``factors`` (field: its size)
    that weighs most."""
    names = sorted(events)
    keys = len(names) * n_periods * (12 if group is TimeGroup.YEAR else 1) + len(extra)

    def ids() -> list[BitmapId]:
        wanted = dict.fromkeys(extra)
        wanted.update(
            (BitmapId(event, part), None)
            for period in periods()
            for part in period.stored_parts()
            for event in names
        )
        return list(wanted)

    field = max(factors, key=lambda name: factors[name])
    return ReadPlan(keys, ids, field)
