"""A storage report as table rows, summary lines and JSON: one shape for the CLI
(``flask bitmapist storage``) and the dashboard's storage page."""

from __future__ import annotations

from typing import Any, Final

from flask_bitmapist.services.reports import format_count
from flask_bitmapist.services.storage_report import (
    LIFETIME,
    OTHER,
    GroupUsage,
    StorageReport,
    format_bytes,
    kept_days,
)

__all__ = [
    "GROUP_HEADER",
    "NODE_HEADER",
    "expiry_text",
    "group_rows",
    "node_rows",
    "report_json",
    "summary_lines",
]

GROUP_HEADER: Final = [
    "event",
    "group",
    "keys",
    "bytes",
    "oldest",
    "newest",
    "with expiry",
    "policy",
]
NODE_HEADER: Final = ["node", "keys in db", "keys read", "bytes", "read to the end"]


def expiry_text(report: StorageReport, group: str) -> str:
    """What the policy keeps of ``group``: ``"14 days"``, ``"forever"``."""
    days = kept_days(report.policy, group)
    return "forever" if days is None else f"{days:,} days"


def _period(group: GroupUsage, which: str) -> str:
    period = group.oldest if which == "oldest" else group.newest
    return "" if period is None else period.key_suffix


def group_rows(report: StorageReport) -> list[list[str]]:
    """One row per event and time group, in :data:`GROUP_HEADER`'s order (bytes marked
    ``~`` when sampled)."""
    return [
        [
            group.event or "(not bitmapist's format)",
            group.group,
            format_count(group.keys),
            ("~" if group.sampled else "") + format_bytes(group.bytes),
            _period(group, "oldest"),
            _period(group, "newest"),
            format_count(group.expiring),
            "" if group.group == OTHER else expiry_text(report, group.group),
        ]
        for group in report.groups
    ]


def node_rows(report: StorageReport) -> list[list[str]]:
    """One row per node, in :data:`NODE_HEADER`'s order."""
    return [
        [
            node.name,
            format_count(node.dbsize),
            format_count(node.keys),
            format_bytes(node.bytes),
            "yes" if node.complete else "no",
        ]
        for node in report.nodes
    ]


def summary_lines(report: StorageReport) -> list[str]:
    """Totals, growth, the projections and what the figures rest on."""
    return [
        f"total: {report.keys:,} keys, {format_bytes(report.bytes)}",
        f"growth: {format_bytes(report.growth_per_day)} per day (keys of the last 30 days)",
        f"in one year: {format_bytes(report.projected_without_policy)} without a policy, "
        f"{format_bytes(report.projected_with_policy)} with {report.policy.describe()}",
        report.note(),
    ]


def report_json(report: StorageReport) -> dict[str, Any]:
    """The report as a JSON document (exact byte counts, periods as key suffixes)."""
    return {
        "now": report.now.isoformat(),
        "policy": {group.plural: days for group, days in report.policy},
        "complete": report.complete,
        "sampled": report.sampled,
        "measured_keys": report.measured_keys,
        "unread_keys": report.unread,
        "unread_nodes": report.unread_nodes,
        "elapsed_seconds": round(report.elapsed, 3),
        "groups": [
            {
                "event": group.event,
                "group": group.group,
                "keys": group.keys,
                "bytes": group.bytes,
                "sampled": group.sampled,
                "oldest": _period(group, "oldest") or None,
                "newest": _period(group, "newest") or None,
                "with_expiry": group.expiring,
                "kept_days": None
                if group.group in (LIFETIME, OTHER)
                else kept_days(report.policy, group.group),
            }
            for group in report.groups
        ],
        "nodes": [
            {
                "node": node.name,
                "dbsize": node.dbsize,
                "keys": node.keys,
                "bytes": node.bytes,
                "complete": node.complete,
            }
            for node in report.nodes
        ],
        "total": {"keys": report.keys, "bytes": report.bytes},
        "growth_per_day_bytes": round(report.growth_per_day),
        "projected_one_year_bytes": {
            "without_policy": round(report.projected_without_policy),
            "with_policy": round(report.projected_with_policy),
        },
        "note": report.note(),
    }
