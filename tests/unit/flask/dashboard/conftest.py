"""Fixtures for the dashboard tests: an app on the in-process store, data, a test client."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_bitmapist import FlaskBitmapist, current_state
from flask_bitmapist.domain import BitmapRepository
from flask_bitmapist.infra import InMemoryRepository
from tests.cohort_model import EventLog, generate_log
from tests.unit.flask.dashboard.support import (
    EVENTS,
    NOW,
    AppFactory,
)


@pytest.fixture(scope="session")
def log() -> EventLog:
    """Forty days of generated marks for 120 users."""
    return generate_log(NOW, events=EVENTS)


@pytest.fixture
def make_app(log: EventLog) -> AppFactory:
    """Build a testing app on ``memory://`` holding ``log``; keyword args go to config."""

    def make(
        repository: BitmapRepository | None = None, *, seed: bool = True, **config: object
    ) -> Flask:
        app = Flask("dashboard-test")
        app.config.update(TESTING=True, BITMAPIST_REDIS_URL="memory://")
        app.config.update(config)
        store = repository if repository is not None else InMemoryRepository()
        FlaskBitmapist(app, repository_factory=lambda _settings: store, clock=lambda: NOW)
        if seed:
            with app.app_context():
                current_state().repository.mark(log.marks())
        return app

    return make


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """A testing app holding the generated log."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of ``app``."""
    return app.test_client()
