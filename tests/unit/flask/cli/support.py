"""What the CLI tests share: the app on fakeredis, the ``Cli`` runner, a clean failure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from flask_bitmapist import FlaskBitmapist
from flask_bitmapist.domain import BitmapRepository, EventRef, Mark, Period, TimeGroup
from flask_bitmapist.flask.extension import RepositoryFactory
from flask_bitmapist.flask.state import BitmapistState
from tests.unit.flask.support import FixedClock

#: The clock's "now": Friday 27 November 2026, early afternoon (UTC).
NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


def make_app(repository_factory: RepositoryFactory | None = None, **config: object) -> Flask:
    """A testing app on ``memory://`` (or the given storage) with the fixed clock."""
    app = Flask("cli-test")
    app.config.update({"TESTING": True, "BITMAPIST_REDIS_URL": "memory://", **config})
    FlaskBitmapist(app, clock=FixedClock(NOW), repository_factory=repository_factory)
    return app


class Cli:
    """Runs ``flask bitmapist ...`` against one app and reads its storage."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.runner: FlaskCliRunner = app.test_cli_runner()

    @property
    def state(self) -> BitmapistState:
        state = self.app.extensions["bitmapist"]
        assert isinstance(state, BitmapistState)
        return state

    @property
    def repository(self) -> BitmapRepository:
        return self.state.repository

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        return self.runner.invoke(args=["bitmapist", *args], input=input)

    def mark(self, event: str, user_ids: Iterable[int], day: int, hour: int = 12) -> None:
        """Mark ``event`` for ``user_ids`` on ``day`` November 2026."""
        moment = datetime(2026, 11, day, hour, tzinfo=timezone.utc)
        self.repository.mark(Mark.create(event, uid, moment) for uid in user_ids)

    def users(self, event: str, group: str, moment: datetime = NOW) -> list[int]:
        period = Period.containing(TimeGroup.parse(group), moment)
        return list(self.state.engine.users(EventRef(event), period))


def assert_clean_failure(result: Result, code: int, *fragments: str) -> None:
    """The command failed with ``code``, said each fragment, and showed no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output
