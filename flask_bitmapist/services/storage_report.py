"""What the stored bitmaps cost, per event and time group (DESIGN section 14).

:func:`storage_report` pages through the keys under the prefix with SCAN, on every node,
and sums per event and time group: keys, bytes (Redis's ``MEMORY USAGE``), the oldest and
newest period, how many keys have an expiry and what the policy keeps. Its cost is
bounded twice:

- bytes are measured on every key up to ``sample_limit`` keys, then on one key in
  ``sample_stride``; a group's bytes are then its measured bytes scaled by its keys, and
  the report says it is sampled;
- it stops at ``budget`` seconds, saying how many keys it read of how many the nodes
  hold, and which nodes it did not reach.

From the keys of the last 30 days it derives the growth per day, and a one-year
projection with the policy (each group kept its days) and without (everything kept).
The CLI (``flask bitmapist storage``) and the dashboard's storage page render it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Final

import attrs

from flask_bitmapist.domain import Period, RetentionPolicy, TimeGroup, as_utc
from flask_bitmapist.domain.keys import parse_key
from flask_bitmapist.domain.keyspace import DEFAULT_BATCH, Keyspace

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_SAMPLE_LIMIT",
    "GroupUsage",
    "NodeUsage",
    "StorageReport",
    "format_bytes",
    "kept_days",
    "storage_report",
]

#: Seconds a report may spend reading before it stops and says what it left unread.
DEFAULT_BUDGET: Final = 10.0
#: Keys whose bytes are all measured; past them, one key in ``DEFAULT_SAMPLE_STRIDE``.
DEFAULT_SAMPLE_LIMIT: Final = 5000
DEFAULT_SAMPLE_STRIDE: Final = 20
#: The window growth per day is measured over.
GROWTH_DAYS: Final = 30
#: Lifetime flags, and keys under the prefix not in bitmapist's format.
LIFETIME: Final = "lifetime"
OTHER: Final = "other"
# Average days per period, for the projection's steady state.
_PERIOD_DAYS: Final = {
    TimeGroup.HOUR.value: 1 / 24,
    TimeGroup.DAY.value: 1.0,
    TimeGroup.WEEK.value: 7.0,
    TimeGroup.MONTH.value: 365.25 / 12,
}


def format_bytes(value: float) -> str:
    """``"1.2 MB"``, ``"850 B"``: decimal units, as Redis's INFO reports memory.

    >>> format_bytes(163_912), format_bytes(999), format_bytes(2_500_000_000)
    ('163.9 kB', '999 B', '2.5 GB')
    """
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(value) >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value:,.0f} B"


@attrs.define
class GroupUsage:
    """One event's keys of one time group (``hour``, ``day``, ``week``, ``month``,
    ``lifetime``; event ``""`` and group ``other`` for keys not in bitmapist's format)."""

    event: str
    group: str
    keys: int = 0
    measured_keys: int = 0
    measured_bytes: int = 0
    expiring: int = 0
    oldest: Period | None = None
    newest: Period | None = None
    recent_keys: int = 0
    recent_measured_keys: int = 0
    recent_measured_bytes: int = 0

    @property
    def bytes(self) -> int:
        """Bytes held: measured, or scaled from the keys measured when sampled."""
        return _scaled(self.measured_bytes, self.measured_keys, self.keys)

    @property
    def sampled(self) -> bool:
        """True when some keys' bytes were not measured (:attr:`bytes` is an estimate)."""
        return self.measured_keys < self.keys

    @property
    def recent_bytes(self) -> int:
        """Bytes of the keys whose period began in the last 30 days."""
        return _scaled(self.recent_measured_bytes, self.recent_measured_keys, self.recent_keys)

    def add(self, period: Period | None, size: int | None, expiring: bool, recent: bool) -> None:
        """Count one key: its period (None for lifetime flags and other keys), its bytes
        (None when not measured), whether it has an expiry, whether its period began in
        the last 30 days."""
        self.keys += 1
        self.expiring += expiring
        if size is not None:
            self.measured_keys += 1
            self.measured_bytes += size
        if period is not None:
            if self.oldest is None or period.start < self.oldest.start:
                self.oldest = period
            if self.newest is None or period.start > self.newest.start:
                self.newest = period
        if recent:
            self.recent_keys += 1
            if size is not None:
                self.recent_measured_keys += 1
                self.recent_measured_bytes += size


def _scaled(measured: int, measured_keys: int, keys: int) -> int:
    if measured_keys == keys or not measured_keys:
        return measured
    return round(measured * keys / measured_keys)


@attrs.define
class NodeUsage:
    """One node: its keys (DBSIZE, every key), those read under the prefix, their bytes."""

    name: str
    dbsize: int
    keys: int = 0
    measured_keys: int = 0
    measured_bytes: int = 0
    complete: bool = False

    @property
    def bytes(self) -> int:
        """Bytes of the keys read (scaled when sampled)."""
        return _scaled(self.measured_bytes, self.measured_keys, self.keys)


@attrs.frozen
class StorageReport:
    """The figures, as of ``now``; ``complete`` False when the budget ran out."""

    now: datetime
    policy: RetentionPolicy
    groups: tuple[GroupUsage, ...]
    nodes: tuple[NodeUsage, ...]
    elapsed: float
    budget: float
    sample_limit: int
    #: How bytes were measured: ``"MEMORY USAGE"`` on Redis.
    measure: str = "MEMORY USAGE"

    @property
    def complete(self) -> bool:
        """Whether every node was read to the end."""
        return all(node.complete for node in self.nodes)

    @property
    def keys(self) -> int:
        """Keys read under the prefix."""
        return sum(group.keys for group in self.groups)

    @property
    def bytes(self) -> int:
        """Their bytes (scaled where sampled)."""
        return sum(group.bytes for group in self.groups)

    @property
    def sampled(self) -> bool:
        """Whether some bytes are estimates from the keys measured."""
        return any(group.sampled for group in self.groups)

    @property
    def measured_keys(self) -> int:
        """Keys whose bytes were measured (MEMORY USAGE)."""
        return sum(group.measured_keys for group in self.groups)

    @property
    def growth_per_day(self) -> float:
        """Bytes added per day: those of the keys whose period began in the last 30 days,
        over 30."""
        return sum(group.recent_bytes for group in self.groups) / GROWTH_DAYS

    @property
    def projected_without_policy(self) -> float:
        """Bytes in a year if nothing expires: today's plus a year of growth."""
        return self.bytes + 365 * self.growth_per_day

    @property
    def projected_with_policy(self) -> float:
        """Bytes in a year under the policy: a group kept D days holds, at steady state,
        about D days (plus one period) of its growth; groups kept forever grow as
        without it."""
        total = 0.0
        for group in self.groups:
            growth = group.recent_bytes / GROWTH_DAYS
            days = kept_days(self.policy, group.group)
            if days is None:
                total += group.bytes + 365 * growth
            else:
                # At steady state a group holds D days (plus its open period) of growth;
                # it cannot hold more than it would without the policy.
                held = growth * (days + _PERIOD_DAYS[group.group])
                total += min(held, group.bytes + 365 * growth)
        return total

    @property
    def unread(self) -> int:
        """Keys the nodes hold that were not read (an upper bound: DBSIZE counts keys
        outside the prefix too), 0 when complete."""
        return 0 if self.complete else max(0, sum(n.dbsize for n in self.nodes) - self.keys)

    @property
    def unread_nodes(self) -> list[str]:
        """Nodes not read to the end."""
        return [node.name for node in self.nodes if not node.complete]

    def note(self) -> str:
        """What the figures rest on, in one or two sentences (shown under every report)."""
        parts = []
        if self.sampled:
            parts.append(
                f"bytes sampled: {self.measure} of {self.measured_keys:,} of {self.keys:,} keys "
                f"(every key up to {self.sample_limit:,}, then one in "
                f"{DEFAULT_SAMPLE_STRIDE}), scaled to all"
            )
        else:
            parts.append(f"bytes from {self.measure} of all {self.keys:,} keys")
        if not self.complete:
            parts.append(
                f"stopped at the {self.budget:g} s budget: up to {self.unread:,} keys left "
                f"unread on {', '.join(self.unread_nodes)}"
            )
        return "; ".join(parts) + "."


def kept_days(policy: RetentionPolicy, group: str) -> int | None:
    """Days ``policy`` keeps the report group ``group`` (None: forever)."""
    if group in (LIFETIME, OTHER):
        return None
    return policy.days_kept(TimeGroup(group))


def storage_report(
    keyspace: Keyspace,
    policy: RetentionPolicy,
    *,
    zone: tzinfo,
    now: datetime,
    budget: float = DEFAULT_BUDGET,
    sample_limit: int = DEFAULT_SAMPLE_LIMIT,
    batch: int = DEFAULT_BATCH,
    timer: Callable[[], float] = time.monotonic,
) -> StorageReport:
    """Read the keys under ``keyspace``'s prefix (``zone``'s calendar) and sum them up.

    Stops at ``budget`` seconds (measured by ``timer``), between two batches. Storage
    failures raise :class:`~flask_bitmapist.domain.StorageUnavailable`.
    """
    started = timer()
    recent_since = as_utc(now) - timedelta(days=GROWTH_DAYS)
    groups: dict[tuple[str, str], GroupUsage] = {}
    node_list = keyspace.nodes()
    nodes = [NodeUsage(node.name, keyspace.size(node)) for node in node_list]
    seen = 0
    out_of_time = False
    for node, usage in zip(node_list, nodes, strict=True):
        if out_of_time:
            break
        for keys in keyspace.batches(node, batch):
            sized = set()
            for key in keys:
                if seen < sample_limit or seen % DEFAULT_SAMPLE_STRIDE == 0:
                    sized.add(key)
                seen += 1
            for facts in keyspace.facts(node, keys, sized=sized):
                bitmap_id = parse_key(facts.key, keyspace.prefix, zone)
                if bitmap_id is None:
                    event, group, period = "", OTHER, None
                elif bitmap_id.period is None:
                    event, group, period = bitmap_id.event, LIFETIME, None
                else:
                    event, group = bitmap_id.event, bitmap_id.period.group.value
                    period = bitmap_id.period
                recent = period is not None and as_utc(period.start) >= recent_since
                usage_of = groups.get((event, group))
                if usage_of is None:
                    usage_of = groups[(event, group)] = GroupUsage(event, group)
                usage_of.add(period, facts.bytes, facts.expire_at_ms is not None, recent)
                usage.keys += 1
                if facts.bytes is not None:
                    usage.measured_keys += 1
                    usage.measured_bytes += facts.bytes
            if timer() - started > budget:
                out_of_time = True
                break
        else:
            usage.complete = True
    order = {g.value: i for i, g in enumerate(TimeGroup)}
    ordered = sorted(
        groups.values(), key=lambda g: (g.group == OTHER, g.event, order.get(g.group, 99))
    )
    return StorageReport(
        now=now,
        policy=policy,
        groups=tuple(ordered),
        nodes=tuple(nodes),
        elapsed=timer() - started,
        budget=budget,
        sample_limit=sample_limit,
        measure=keyspace.measure,
    )
