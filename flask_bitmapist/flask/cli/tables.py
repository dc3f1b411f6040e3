"""Text tables for the terminal: :func:`render_table` and :func:`now_heading`, with the
cell formats they use, all from :mod:`flask_bitmapist.services.reports` (the dashboard's
formats), re-exported for the commands."""

from __future__ import annotations

from flask_bitmapist.services.reports import (
    format_count,
    format_mean,
    format_percent,
    now_heading,
    render_table,
)

__all__ = ["format_count", "format_mean", "format_percent", "now_heading", "render_table"]
