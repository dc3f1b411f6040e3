"""0.1's README example on a real redis-server, read back by bitmapist (which 0.1 used)."""

from __future__ import annotations

from datetime import datetime, timezone

import bitmapist
import redis

from flask_bitmapist import get_event_data


def test_the_0_1_readme_example_runs_unchanged(redis_url: str) -> None:
    from flask import Flask

    from flask_bitmapist import FlaskBitmapist, mark

    app = Flask(__name__)
    app.config["BITMAPIST_REDIS_URL"] = redis_url  # the test server, not localhost:6379

    flaskbitmapist = FlaskBitmapist()
    flaskbitmapist.init_app(app)

    @app.route("/")
    @mark("index:visited", 1)
    def index() -> str:
        """using the mark decorator, the first argument is the event and the second is the
        id of the current_user"""
        return "hello world"

    before = datetime.now(timezone.utc)
    response = app.test_client().get("/")

    assert (response.status_code, response.text) == (200, "hello world")
    assert flaskbitmapist.redis_url == redis_url
    assert "default" in flaskbitmapist.SYSTEMS
    assert flaskbitmapist.TRACK_HOURLY is False
    with app.app_context():
        assert 1 in get_event_data("index:visited", "months")
    # bitmapist itself (which 0.1 used) reads the same data.
    bitmapist.SYSTEMS["facade-test"] = redis.Redis.from_url(redis_url)
    try:
        month = bitmapist.MonthEvents("index:visited", before.year, before.month, "facade-test")
        assert 1 in month
    finally:
        del bitmapist.SYSTEMS["facade-test"]
