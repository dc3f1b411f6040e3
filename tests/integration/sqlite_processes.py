"""Processes for the SQLite store's multi-process tests.

- ``create_app()``: a WSGI app for gunicorn whose storage is ``$SQLITE_STORE_URL``;
  ``POST /mark/<user>`` marks ``load`` for that user and answers the worker's pid.
- ``python -m tests.integration.sqlite_processes PATH``: marks users 0, 1, 2, ... into
  the file at PATH, one transaction per mark, printing each user id once its mark is
  committed, until it is killed.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone

from flask import Flask

from flask_bitmapist import FlaskBitmapist, mark_event
from flask_bitmapist.domain import Mark
from flask_bitmapist.infra.sqlite_repository import SqliteRepository

#: Every mark of these processes is made at this moment.
MOMENT = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)


def create_app() -> Flask:
    """The app each gunicorn worker loads."""
    app = Flask("sqlite-workers")
    app.config.update(
        BITMAPIST_REDIS_URL=os.environ["SQLITE_STORE_URL"],
        # Workers wait for each other's lock rather than buffer.
        BITMAPIST_SOCKET_TIMEOUT=10.0,
        BITMAPIST_DISABLE_BLUEPRINT=True,
    )
    FlaskBitmapist(app, clock=lambda: MOMENT)

    @app.post("/mark/<int:user>")
    def mark(user: int) -> str:
        mark_event("load", user)
        return str(os.getpid())

    return app


def write_until_killed(path: str) -> None:
    """Mark users one by one, printing each id when its transaction has committed."""
    repository = SqliteRepository(path, busy_timeout=10.0)
    user = 0
    while True:
        repository.mark([Mark.create("load", user, MOMENT, hourly=True, unique=True)])
        print(user, flush=True)
        user += 1


if __name__ == "__main__":
    write_until_killed(sys.argv[1])
