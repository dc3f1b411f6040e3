"""The testing kit's public path, ``flask_bitmapist.testing``: the pytest plugin (fixture
``analytics``) that the package registers by entry point, and ``Analytics`` and ``Marked``.

A thin module that re-exports them from their home, :mod:`flask_bitmapist.flask.pytest_plugin`
(the kit itself is :mod:`flask_bitmapist.flask.analytics_kit`); docs/testing.md shows them.
Loading it imports nothing but pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_bitmapist.flask.pytest_plugin import analytics

if TYPE_CHECKING:
    from flask_bitmapist.flask.analytics_kit import Analytics, Marked

__all__ = ["Analytics", "Marked", "analytics"]


def __getattr__(name: str) -> Any:
    from flask_bitmapist.flask import pytest_plugin

    return getattr(pytest_plugin, name)
