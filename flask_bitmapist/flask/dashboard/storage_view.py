"""The dashboard's storage page (``/storage``): what the bitmaps cost, per event and time
group, per node, and in a year with and without ``BITMAPIST_RETENTION`` (DESIGN 14).

The figures are :func:`flask_bitmapist.services.storage_report.storage_report`'s, shaped by
:mod:`flask_bitmapist.services.storage_rows` as for ``flask bitmapist storage``.
"""

from __future__ import annotations

from typing import Final

from flask import Blueprint, render_template

from flask_bitmapist.flask.state import current_state
from flask_bitmapist.infra.keyspace import keyspace_of
from flask_bitmapist.services.storage_report import format_bytes, storage_report
from flask_bitmapist.services.storage_rows import (
    GROUP_HEADER,
    NODE_HEADER,
    group_rows,
    node_rows,
    summary_lines,
)

__all__ = ["PAGE_BUDGET", "register_storage_view", "storage_page"]

#: Seconds the page spends reading keys: a page load must stay short (the CLI's
#: ``--budget`` reads longer).
PAGE_BUDGET: Final = 3.0


def register_storage_view(bp: Blueprint) -> None:
    """Add ``/storage`` to the dashboard blueprint."""
    bp.add_url_rule("/storage", "storage", storage_page)


def storage_page() -> str:
    """Keys and bytes per event and time group, totals, growth and the projections."""
    state = current_state()
    keyspace = keyspace_of(state.repository, state.settings.key_prefix)
    report = None
    if keyspace is not None:
        report = storage_report(
            keyspace,
            state.settings.retention,
            zone=state.zone,
            now=state.now(),
            budget=PAGE_BUDGET,
        )
    return render_template(
        "bitmapist/storage.html",
        report=report,
        group_header=GROUP_HEADER,
        groups=group_rows(report) if report else [],
        node_header=NODE_HEADER,
        nodes=node_rows(report) if report and len(report.nodes) > 1 else [],
        summary=summary_lines(report) if report else [],
        total_bytes=format_bytes(report.bytes) if report else "",
        storage=type(state.repository).__name__,
        now=state.now(),
    )
