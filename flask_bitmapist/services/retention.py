"""The retention policy applied to keys already stored, and windows it has expired
(DESIGN section 14).

- :func:`apply_retention` walks every key under the prefix (any writer's, bitmapist's
  included), a bounded SCAN batch at a time on every node, and counts what the policy
  does to it: keys that get an expiry, keys already past theirs (deleted: the bytes
  freed are Redis's ``MEMORY USAGE``), keys kept forever. A dry run changes nothing;
  with ``apply`` each batch's changes go out in one pipeline.
- :func:`check_window_kept` refuses an answer whose window reaches periods the policy
  has expired, naming the field and the days kept, instead of showing zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone, tzinfo
from typing import Final, TypeVar

import attrs

from flask_bitmapist.domain import (
    CohortSpec,
    FunnelSpec,
    LifecycleSpec,
    Period,
    PeriodsExpired,
    RetentionPolicy,
    StickinessSpec,
    TimeGroup,
    TrendSpec,
    as_utc,
)
from flask_bitmapist.domain.keys import parse_key
from flask_bitmapist.domain.keyspace import DEFAULT_BATCH, Keyspace, Node

__all__ = [
    "AnswerSpec",
    "RetentionCounts",
    "RetentionRun",
    "apply_retention",
    "check_window_kept",
    "periods_read",
]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)


@attrs.define
class RetentionCounts:
    """What the policy does to the keys of one node (or of all of them).

    - ``scanned``: keys under the prefix;
    - ``other``: keys not in bitmapist's format (left alone);
    - ``kept``: keys kept forever (lifetime flags, groups the policy does not name);
    - ``current``: keys whose expiry is already the policy's;
    - ``to_expire`` / ``to_expire_bytes``: keys that get (got) the policy's expiry, and
      the bytes they hold, freed when it comes;
    - ``expired`` / ``freed_bytes``: keys already past their expiry, deleted (to be
      deleted in a dry run), and the bytes that frees.
    """

    scanned: int = 0
    other: int = 0
    kept: int = 0
    current: int = 0
    to_expire: int = 0
    to_expire_bytes: int = 0
    expired: int = 0
    freed_bytes: int = 0

    def add(self, other: RetentionCounts) -> None:
        """Add ``other``'s counts to these."""
        for field in attrs.fields(RetentionCounts):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def as_dict(self) -> dict[str, int]:
        """The counts by name (JSON)."""
        return attrs.asdict(self)


@attrs.frozen
class RetentionRun:
    """One pass over the keys: per node, and in total; ``applied`` says whether keys were
    changed (False: a dry run)."""

    applied: bool
    policy: RetentionPolicy
    now: datetime
    nodes: tuple[tuple[str, RetentionCounts], ...]

    @property
    def total(self) -> RetentionCounts:
        """Every node's counts added up."""
        total = RetentionCounts()
        for _, counts in self.nodes:
            total.add(counts)
        return total


def apply_retention(
    keyspace: Keyspace,
    policy: RetentionPolicy,
    *,
    zone: tzinfo,
    now: datetime,
    apply: bool = False,
    batch: int = DEFAULT_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> RetentionRun:
    """Count (and with ``apply``, do) what ``policy`` does to the stored keys at ``now``.

    Keys are read in ``zone``'s calendar (the app's: its keys are its periods). Each
    node is paged with SCAN, ``batch`` keys at a time: one pipeline asks a batch's
    expiries and sizes, and with ``apply`` one more gives keys their expiry (PEXPIREAT)
    and unlinks those past it. ``on_batch`` is called with each batch's key count (a
    progress bar). Storage failures raise
    :class:`~flask_bitmapist.domain.StorageUnavailable`; the batches already done stay
    done, and running again is safe.
    """
    now_ms = (as_utc(now) - _EPOCH).total_seconds() * 1000
    results = []
    for node in keyspace.nodes():
        counts = RetentionCounts()
        for keys in keyspace.batches(node, batch):
            _one_batch(keyspace, node, keys, policy, zone, now_ms, apply, counts)
            if on_batch is not None:
                on_batch(len(keys))
        results.append((node.name, counts))
    return RetentionRun(apply, policy, now, tuple(results))


def _one_batch(
    keyspace: Keyspace,
    node: Node,
    keys: Sequence[str],
    policy: RetentionPolicy,
    zone: tzinfo,
    now_ms: float,
    apply: bool,
    counts: RetentionCounts,
) -> None:
    counts.scanned += len(keys)
    due: dict[str, int] = {}
    for key in keys:
        bitmap_id = parse_key(key, keyspace.prefix, zone)
        if bitmap_id is None:
            counts.other += 1
            continue
        expiry = policy.expiry_ms(bitmap_id.period)
        if expiry is None:
            counts.kept += 1
        else:
            due[key] = expiry
    expiries: list[tuple[str, int]] = []
    delete: list[str] = []
    for facts in keyspace.facts(node, list(due)):
        expiry = due[facts.key]
        size = facts.bytes or 0
        if expiry <= now_ms:
            counts.expired += 1
            counts.freed_bytes += size
            delete.append(facts.key)
        elif facts.expire_at_ms == expiry:
            counts.current += 1
        else:
            counts.to_expire += 1
            counts.to_expire_bytes += size
            expiries.append((facts.key, expiry))
    if apply:
        keyspace.expire(node, expiries, delete)


#: Every answer's spec: what its window reads is found by :func:`periods_read`.
AnswerSpec = CohortSpec | TrendSpec | LifecycleSpec | StickinessSpec | FunnelSpec
_Spec = TypeVar("_Spec", CohortSpec, TrendSpec, LifecycleSpec, StickinessSpec, FunnelSpec)


def periods_read(spec: AnswerSpec) -> tuple[Period, ...]:
    """The periods an answer reads, oldest first: a cohort's rows (its cells never look
    past them), a trend's window and the ``rolling - 1`` periods before it, a lifecycle's
    window and the period before it (its first returning and dormant counts need it)."""
    if isinstance(spec, CohortSpec):
        return spec.row_periods()
    if isinstance(spec, TrendSpec):
        return spec.periods_read()
    if isinstance(spec, LifecycleSpec):
        return spec.window.periods(1)
    return spec.window.periods()


def check_window_kept(spec: _Spec, policy: RetentionPolicy, current: datetime) -> _Spec:
    """``spec`` if every period its answer reads is still kept under ``policy`` at
    ``current``; otherwise :class:`~flask_bitmapist.domain.PeriodsExpired`.

    ``current`` is the real time (the app's clock), not the ``now`` a request asks for:
    keys expire on the clock. The error (a 400 in the API, a usage error in the CLI, and a
    ValueError, :class:`~flask_bitmapist.domain.InvalidAnswerSpec` and
    :class:`~flask_bitmapist.domain.InvalidCohortSpec` in Python) names the field to
    change, ``periods`` (``rows`` for a cohort), or ``now`` when even the window's last
    period is gone, and the days kept.

    >>> from flask_bitmapist.domain import UTC, EventRef, StickinessSpec
    >>> policy = RetentionPolicy.create({"days": 30})
    >>> today = datetime(2026, 11, 27, tzinfo=UTC)
    >>> spec = StickinessSpec.create(EventRef("a"), now=today, periods=40)
    >>> try:
    ...     check_window_kept(spec, policy, today)
    ... except PeriodsExpired as exc:
    ...     print(exc.field, exc.days_kept, str(exc).split(": ", 1)[1][:57])
    periods 30 the window starts at day 2026-10-19, but days are kept 30
    """
    if policy:
        field = "rows" if isinstance(spec, CohortSpec) else "periods"
        _refuse_expired(periods_read(spec), policy, current, field)
    return spec


def _refuse_expired(
    periods: Sequence[Period], policy: RetentionPolicy, current: datetime, field: str
) -> None:
    expired = [period for period in periods if policy.is_expired(period, current)]
    if not expired:
        return
    groups = {part.group for period in expired for part in period.stored_parts()}
    (group,) = groups  # a window's periods are all of one group (a year: its months)
    days = policy.days_kept(group)
    assert days is not None  # only groups the policy names expire
    oldest = _oldest_kept(group, policy, current, periods[-1].zone)
    last_gone = policy.is_expired(periods[-1], current)
    where = "ends at" if last_gone else "starts at"
    first = periods[-1] if last_gone else periods[0]
    named = "now" if last_gone else field
    raise PeriodsExpired(
        f"{named}: the window {where} {first}, but {group.plural} are kept {days} days "
        f"(BITMAPIST_RETENTION): the oldest {group.value} still stored is "
        f"{oldest.key_suffix}; ask for "
        f"{'a later now' if last_gone else f'fewer {field} or a later now'}",
        field=named,
        days_kept=days,
    )


def _oldest_kept(
    group: TimeGroup, policy: RetentionPolicy, current: datetime, zone: tzinfo
) -> Period:
    """The oldest period of ``group`` not yet expired at ``current``."""
    period = Period.containing(group, current, zone)

    def kept(candidate: int) -> bool:
        try:
            return not policy.is_expired(period.shift(-candidate), current)
        except (ValueError, OverflowError):  # before the calendar's first year
            return False

    # Step back while the period that far back is still kept, in halving steps: a few
    # dozen calendar steps, even for hours kept a long time (24 periods a day).
    step = max(1, (policy.days_kept(group) or 0) // 2)
    while step:
        while kept(step):
            period = period.shift(-step)
        step //= 2
    return period
