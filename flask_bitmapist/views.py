"""0.1's ``flask_bitmapist.views``: re-exports the dashboard blueprint ``bitmapist_bp``
from its home, :mod:`flask_bitmapist.flask.dashboard.views`, so that 0.1's imports keep
working."""

from __future__ import annotations

from flask_bitmapist.flask.dashboard.views import bitmapist_bp

__all__ = ["bitmapist_bp"]
