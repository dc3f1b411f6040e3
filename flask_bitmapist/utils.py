"""0.1's ``flask_bitmapist.utils``: re-exports :func:`get_event_data`, :func:`get_cohort`
and :func:`chain_events` from their home, :mod:`flask_bitmapist.flask.query`, so that 0.1's
imports keep working."""

from __future__ import annotations

from flask_bitmapist.flask.query import chain_events, get_cohort, get_event_data

__all__ = ["chain_events", "get_cohort", "get_event_data"]
