"""0.1's ``flask_bitmapist.extensions.flask_login``: re-exports :func:`mark_login` and
:func:`mark_logout` from their home, :mod:`flask_bitmapist.flask.signals`, so that 0.1's
imports keep working.

Importing it connects nothing: ``init_app`` connects both to Flask-Login's signals when
Flask-Login is installed (0.1 connected them when this module was imported).
"""

from __future__ import annotations

from flask_bitmapist.flask.signals import mark_login, mark_logout

__all__ = ["mark_login", "mark_logout"]
