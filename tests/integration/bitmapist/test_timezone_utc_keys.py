"""A UTC app (BITMAPIST_TIMEZONE's default) writes the keys bitmapist writes and reads:
bitmapist's periods are UTC ones."""

from __future__ import annotations

import bitmapist
import redis

from flask_bitmapist import mark_event
from tests.integration.support import keys, zoned_app


def test_a_utc_app_shares_keys_with_bitmapist(redis_url: str) -> None:
    app = zoned_app(redis_url, "UTC")
    with app.app_context():
        mark_event("song:played", 3)
    assert "trackist_song:played_2027-1-1" in keys(redis_url)
    # bitmapist itself reads the same bits: its calendar is UTC.
    bitmapist.SYSTEMS["timezone-test"] = redis.Redis.from_url(redis_url)
    try:
        day = bitmapist.DayEvents("song:played", 2027, 1, 1, "timezone-test")
        assert 3 in day
    finally:
        del bitmapist.SYSTEMS["timezone-test"]
