"""0.1's ``flask_bitmapist.core``: re-exports :class:`FlaskBitmapist` from its home,
:mod:`flask_bitmapist.flask.extension`, so that 0.1's imports keep working."""

from __future__ import annotations

from flask_bitmapist.flask.extension import FlaskBitmapist

__all__ = ["FlaskBitmapist"]
