"""A shop that uses Flask-Bitmapist: the app under test of this project's own tests."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, request

from flask_bitmapist import FlaskBitmapist, mark, mark_event

#: The shop's clock in its tests: the extension reads time through it.
NOW = datetime(2026, 11, 27, 23, 30, tzinfo=timezone.utc)


def create_app(clock=None) -> Flask:
    app = Flask("shop")
    # Production settings: a Redis that the tests never reach, and a zone of its own.
    app.config.update(
        TESTING=True,
        BITMAPIST_REDIS_URL="redis://analytics.invalid:6379/0",
        BITMAPIST_TIMEZONE="Europe/Paris",
    )
    FlaskBitmapist(app, clock=clock)

    @app.post("/signup")
    def signup():
        mark_event("user:signed_up", int(request.form["user_id"]))
        return "welcome", 201

    @app.get("/")
    @mark("home:visited", lambda: int(request.args["user"]))
    def home():
        return "home"

    return app
