"""What several integration test modules share: a fixed now, stored bitmaps, a zoned app."""

from __future__ import annotations

from datetime import datetime, timezone

import redis
from flask import Flask

from flask_bitmapist import FlaskBitmapist
from flask_bitmapist.domain import (
    BitmapId,
    Period,
    TimeGroup,
)
from flask_bitmapist.infra import RedisRepository
from tests.unit.flask.support import FixedClock

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


def stored(
    repository: RedisRepository, event: str, group: TimeGroup | None, moment: datetime
) -> list[int]:
    period = None if group is None else Period.containing(group, moment)
    [bitmap] = repository.fetch([BitmapId(event, period)])
    return list(bitmap)


NEW_YEARS_EVE = datetime(2027, 1, 1, 7, 30, tzinfo=timezone.utc)


def zoned_app(url: str, zone: str) -> Flask:
    app = Flask(f"timezone-{zone}")
    app.config.update(
        TESTING=True,
        BITMAPIST_REDIS_URL=url,
        BITMAPIST_TIMEZONE=zone,
        BITMAPIST_TRACK_HOURLY=True,
    )
    FlaskBitmapist(app, clock=FixedClock(NEW_YEARS_EVE))
    return app


def keys(url: str) -> set[str]:
    with redis.Redis.from_url(url, decode_responses=True) as client:
        return {str(key) for key in client.scan_iter()}
