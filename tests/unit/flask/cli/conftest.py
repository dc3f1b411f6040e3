"""Fixtures for the CLI tests: an app on the in-process store, a fixed clock, a runner."""

from __future__ import annotations

import fakeredis
import pytest

from flask_bitmapist.infra import RedisRepository
from tests.spaced_events import write_spaced_events
from tests.unit.flask.cli.support import Cli, make_app


@pytest.fixture
def cli() -> Cli:
    """The CLI of a fresh app on an empty in-process store."""
    return Cli(make_app())


@pytest.fixture
def spaced_cli() -> Cli:
    """The CLI of an app over Redis holding events bitmapist named with spaces, set as its
    ``mark_event`` sets them: users 1-3 signed up on the 25th, 1 played a song and 2
    skipped one on the 27th (now)."""
    server = fakeredis.FakeServer()
    cli = Cli(make_app(lambda _settings: RedisRepository(fakeredis.FakeRedis(server=server))))
    write_spaced_events(fakeredis.FakeRedis(server=server))
    return cli
