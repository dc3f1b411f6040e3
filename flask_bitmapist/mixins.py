"""0.1's ``flask_bitmapist.mixins``: re-exports :class:`Bitmapistable` from its home,
:mod:`flask_bitmapist.flask.mixins`, so that 0.1's imports keep working.

SQLAlchemy comes with the ``sqlalchemy`` extra: without it, importing this module raises
:class:`~flask_bitmapist.exceptions.MissingExtra` naming the extra to install.
"""

from __future__ import annotations

from flask_bitmapist.flask.mixins import Bitmapistable

__all__ = ["Bitmapistable"]
