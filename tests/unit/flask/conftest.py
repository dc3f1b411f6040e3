"""Fixtures for the facade tests: a Flask app on the in-process store with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from flask_bitmapist import BitmapistState, FlaskBitmapist, current_state
from tests.unit.flask.support import NOW, FixedClock, make_app


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
