"""Fixtures for the facade tests: a Flask app on the in-process store with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from flask import Flask

from flask_bitmapist import BitmapistState, FlaskBitmapist, current_state
from tests.unit.flask.support import FixedClock

#: The fixed "now" of the fixtures' clock: a Friday afternoon.
NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


def make_app(name: str = "facade-test", **config: object) -> Flask:
    """A testing Flask app on ``memory://`` with ``config`` applied."""
    app = Flask(name)
    app.config.update(TESTING=True, SECRET_KEY="test", BITMAPIST_REDIS_URL="memory://")
    app.config.update(config)
    return app


@pytest.fixture
def clock() -> FixedClock:
    """The clock the extension reads; tests may move it."""
    return FixedClock(NOW)


@pytest.fixture
def app() -> Flask:
    """A testing app on the in-process store."""
    return make_app()


@pytest.fixture
def ext(app: Flask, clock: FixedClock) -> FlaskBitmapist:
    """Flask-Bitmapist initialised on ``app`` with the fixed clock."""
    return FlaskBitmapist(app, clock=clock)


@pytest.fixture
def state(app: Flask, ext: FlaskBitmapist) -> Iterator[BitmapistState]:
    """``app``'s state, inside a pushed app context."""
    with app.app_context():
        yield current_state()
