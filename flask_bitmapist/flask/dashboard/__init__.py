"""The dashboard: events page, cohort heatmap and chart, JSON/CSV API (blueprint ``bitmapist``)."""

from __future__ import annotations

from flask_bitmapist.flask.dashboard.views import bitmapist_bp, create_blueprint

__all__ = ["bitmapist_bp", "create_blueprint"]
