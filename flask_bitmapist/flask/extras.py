"""The optional integrations and the extras that install them.

Flask-Login (``flask-bitmapist[login]``) marks logins and lets ``@mark`` default to the
logged-in user; SQLAlchemy (``flask-bitmapist[sqlalchemy]``) backs the ``Bitmapistable``
mixin; ``flask-bitmapist[all]`` installs both. Each switches on when its package is
installed. Using one without it raises :class:`MissingExtra` naming the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from flask_bitmapist.exceptions import MissingExtra

__all__ = ["import_extra", "is_missing", "missing_extra"]


def is_missing(error: ImportError, module: str) -> bool:
    """Whether ``error`` says that ``module`` (or its top package) is not installed.

    An installed package that fails while importing is its own error, not a missing extra.
    """
    missing = getattr(error, "name", None) or ""
    return isinstance(error, ModuleNotFoundError) and missing.split(".")[0] == module


def missing_extra(module: str, extra: str, needed_for: str) -> MissingExtra:
    """The error for ``needed_for`` used without ``module``, from the ``extra`` extra.

    >>> print(missing_extra("sqlalchemy", "sqlalchemy", "Bitmapistable"))  # doctest: +ELLIPSIS
    Bitmapistable needs sqlalchemy, ...: pip install 'flask-bitmapist[sqlalchemy]'
    """
    return MissingExtra(
        f"{needed_for} needs {module}, which is not installed: "
        f"pip install 'flask-bitmapist[{extra}]'"
    )


def import_extra(module: str, extra: str, needed_for: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtra` when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if is_missing(exc, module):
            raise missing_extra(module, extra, needed_for) from exc
        raise
