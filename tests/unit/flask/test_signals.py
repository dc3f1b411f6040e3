"""Flask-Login integration: logins and logouts are marked with no code in the app."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state
from flask_bitmapist.flask.signals import LOGGED_IN_EVENT, LOGGED_OUT_EVENT
from tests.unit.flask.support import (
    NOW,
    DownRepository,
    FixedClock,
    add_login_views,
    make_app,
    users_in,
)


@pytest.fixture
def login_app(app: Flask, ext: FlaskBitmapist) -> Flask:
    """``app`` with Flask-Bitmapist and Flask-Login's views."""
    add_login_views(app)
    return app


def test_the_event_names_are_0_1s() -> None:
    assert (LOGGED_IN_EVENT, LOGGED_OUT_EVENT) == ("user:logged_in", "user:logged_out")


def test_logging_in_through_a_view_marks_user_logged_in(login_app: Flask) -> None:
    client = login_app.test_client()

    assert client.post("/login/42").text == "welcome"
    assert client.get("/me").text == "42"

    with login_app.app_context():
        state = current_state()
        for group in ("month", "week", "day"):
            assert users_in(state, "user:logged_in", group, NOW) == [42]
        assert users_in(state, "user:logged_out", "day", NOW) == []


def test_logging_out_through_a_view_marks_user_logged_out(login_app: Flask) -> None:
    client = login_app.test_client()
    client.post("/login/42")
    client.post("/login/43")  # another login in the same session replaces 42

    assert client.post("/logout").text == "bye"
    assert client.get("/me").status_code == 401

    with login_app.app_context():
        state = current_state()
        assert users_in(state, "user:logged_in", "day", NOW) == [42, 43]
        assert users_in(state, "user:logged_out", "month", NOW) == [43]


def test_logging_out_an_anonymous_visitor_marks_nothing(login_app: Flask) -> None:
    assert login_app.test_client().post("/logout").status_code == 200

    with login_app.app_context():
        assert users_in(current_state(), "user:logged_out", "day", NOW) == []


def test_logins_in_an_app_without_flask_bitmapist_are_ignored(
    login_app: Flask, clock: FixedClock
) -> None:
    plain = make_app("plain")
    add_login_views(plain)

    assert plain.test_client().post("/login/5").status_code == 200

    assert "bitmapist" not in plain.extensions
    with login_app.app_context():
        assert users_in(current_state(), "user:logged_in", "day", NOW) == []


def test_each_app_marks_its_own_logins(clock: FixedClock) -> None:
    bitmapist = FlaskBitmapist(clock=clock)
    shop, blog = make_app("shop"), make_app("blog")
    for app in (shop, blog):
        bitmapist.init_app(app)
        add_login_views(app)

    shop.test_client().post("/login/1")
    blog.test_client().post("/login/2")

    with shop.app_context():
        assert users_in(current_state(), "user:logged_in", "day", NOW) == [1]
    with blog.app_context():
        assert users_in(current_state(), "user:logged_in", "day", NOW) == [2]


def test_login_still_works_with_storage_down(clock: FixedClock) -> None:
    app = make_app()
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: DownRepository())
    add_login_views(app)
    client = app.test_client()

    assert client.post("/login/42").text == "welcome"
    assert client.get("/me").text == "42"
    assert client.post("/logout").text == "bye"
    assert app.extensions["bitmapist"].failed_marks == 2
