"""The testing kit: a pytest plugin with the fixture ``analytics``, for apps that use
Flask-Bitmapist.

Installed with the package and registered by entry point (``pytest11``), so a test of an
app that has an ``app`` fixture (pytest-flask's convention) just asks for it::

    def test_signing_up_is_marked(client, analytics):
        client.post("/signup", data={"email": "ada@example.com"})

        analytics.assert_marked("user:signed_up", 1)
        analytics.assert_not_marked("user:paid", 1)

For the length of the test the app marks into an empty in-process store of its own (or a
fakeredis after ``analytics.use_fakeredis()``, which needs ``flask-bitmapist[testing]``);
its settings, zone and clock are kept. See :class:`Analytics` for ``assert_marked``,
``assert_not_marked``, ``marks()`` and ``reset()``; docs/testing.md for examples.

Loading the plugin imports nothing but pytest: the kit itself is imported when a test
asks for the fixture, or when ``Analytics`` or ``Marked`` is imported from here. Its public
path, the one the entry point names, is :mod:`flask_bitmapist.testing`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flask_bitmapist.flask.analytics_kit import Analytics, Marked

__all__ = ["Analytics", "Marked", "analytics"]

_KIT = "flask_bitmapist.flask.analytics_kit"


@pytest.fixture
def analytics(request: pytest.FixtureRequest) -> Iterator[Analytics]:
    """The app's analytics for this test, on a store of their own (see :class:`Analytics`).

    The app is what the test session's ``app`` fixture returns; it must have
    Flask-Bitmapist. At the end of the test the app gets its own storage back.
    """
    try:
        app = request.getfixturevalue("app")
    except pytest.FixtureLookupError:
        raise pytest.UsageError(
            "the analytics fixture needs a fixture named `app` that returns your Flask app "
            "(pytest-flask's convention): add one to your conftest.py"
        ) from None
    from flask_bitmapist.flask.analytics_kit import Analytics

    with Analytics(app) as recorder:
        yield recorder


def __getattr__(name: str) -> Any:
    if name in ("Analytics", "Marked"):
        return getattr(importlib.import_module(_KIT), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
