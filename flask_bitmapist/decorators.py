"""0.1's ``flask_bitmapist.decorators``: re-exports :func:`mark` from its home,
:mod:`flask_bitmapist.flask.tracking`, so that 0.1's imports keep working."""

from __future__ import annotations

from flask_bitmapist.flask.tracking import mark

__all__ = ["mark"]
