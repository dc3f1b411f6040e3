"""The dashboard: events page, cohort heatmap and chart, JSON/CSV API (blueprint ``bitmapist``)."""

from __future__ import annotations

from flask_bitmapist.flask.dashboard.views import create_blueprint

__all__ = ["create_blueprint"]
