"""The extension object: setup, app factories, several apps, config, 0.1's attributes."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_bitmapist import (
    BitmapistState,
    FlaskBitmapist,
    InvalidConfiguration,
    Settings,
    current_state,
    mark,
    mark_event,
)
from flask_bitmapist.flask.config import DEFAULTS
from flask_bitmapist.flask.extension import current_state as current_state_from_extension
from flask_bitmapist.infra import InMemoryRepository
from tests.unit.flask.support import NOW, FixedClock, make_app, users_in


def test_three_lines_set_it_up_and_the_0_1_readme_view_marks() -> None:
    app = make_app()

    flaskbitmapist = FlaskBitmapist()
    flaskbitmapist.init_app(app)

    @app.route("/")
    @mark("index:visited", 1)
    def index() -> str:
        return "hello world"

    response = app.test_client().get("/")

    assert response.status_code == 200
    assert response.text == "hello world"
    with app.app_context():
        state = current_state()
        assert users_in(state, "index:visited", "day", state.now()) == [1]


def test_app_extensions_holds_the_apps_state(app: Flask, ext: FlaskBitmapist) -> None:
    state = app.extensions["bitmapist"]

    assert isinstance(state, BitmapistState)
    assert state.extension is ext
    assert isinstance(state.repository, InMemoryRepository)
    assert state.engine.repository is state.repository
    with app.app_context():
        assert current_state() is state
        assert current_state_from_extension() is state


def test_constructor_with_app_is_init_app(clock: FixedClock) -> None:
    app = make_app()

    FlaskBitmapist(app, clock=clock)

    with app.app_context():
        assert current_state().now() == NOW


def test_init_app_twice_on_one_app_is_refused(app: Flask, ext: FlaskBitmapist) -> None:
    with pytest.raises(RuntimeError, match="already initialised on app 'facade-test'"):
        ext.init_app(app)
    with pytest.raises(RuntimeError, match="already initialised"):
        FlaskBitmapist(app)


def test_using_it_on_an_app_without_init_app_says_to_call_init_app() -> None:
    app = make_app("bare")

    with app.app_context():
        with pytest.raises(RuntimeError, match="not initialised on app 'bare': did you forget"):
            current_state()
        with pytest.raises(RuntimeError, match="did you forget init_app"):
            mark_event("user:paid", 1)


def test_using_it_outside_an_app_context_says_so() -> None:
    with pytest.raises(RuntimeError, match="needs an application context"):
        mark_event("user:paid", 1)


def test_0_1_attributes_before_init_app_say_to_call_init_app() -> None:
    with pytest.raises(RuntimeError, match="did you forget init_app"):
        _ = FlaskBitmapist().redis_url


def test_an_app_factory_gives_each_app_its_own_storage(clock: FixedClock) -> None:
    bitmapist = FlaskBitmapist(clock=clock)

    def create_app(name: str) -> Flask:
        app = make_app(name)
        bitmapist.init_app(app)

        @app.route("/pay/<int:user_id>")
        def pay(user_id: int) -> str:
            mark_event("user:paid", user_id)
            return "paid"

        return app

    first, second = create_app("first"), create_app("second")
    assert first.test_client().get("/pay/7").status_code == 200
    assert second.test_client().get("/pay/9").status_code == 200

    with first.app_context():
        assert users_in(current_state(), "user:paid", "month", NOW) == [7]
    with second.app_context():
        assert users_in(current_state(), "user:paid", "month", NOW) == [9]
    assert first.extensions["bitmapist"].repository is not second.extensions["bitmapist"].repository


def test_two_extension_objects_in_one_process_keep_their_apps_apart(clock: FixedClock) -> None:
    hourly, daily = make_app("hourly", BITMAPIST_TRACK_HOURLY=True), make_app("daily")
    FlaskBitmapist(hourly, clock=clock)
    FlaskBitmapist(daily, clock=clock)

    for app in (hourly, daily):
        with app.app_context():
            mark_event("user:active", 3)

    with hourly.app_context():
        assert users_in(current_state(), "user:active", "hour", NOW) == [3]
    with daily.app_context():
        assert users_in(current_state(), "user:active", "hour", NOW) == []
        assert users_in(current_state(), "user:active", "day", NOW) == [3]


def test_0_1_attributes_describe_the_current_app(clock: FixedClock) -> None:
    bitmapist = FlaskBitmapist(clock=clock)
    first = make_app("first", BITMAPIST_TRACK_HOURLY=True)
    second = make_app("second", BITMAPIST_REDIS_URL="memory://second")
    bitmapist.init_app(first)
    bitmapist.init_app(second)

    with first.app_context():
        assert bitmapist.redis_url == "memory://"
        assert bitmapist.TRACK_HOURLY is True
        assert list(bitmapist.SYSTEMS) == ["default"]
        assert bitmapist.SYSTEMS["default"] is first.extensions["bitmapist"].repository
    with second.app_context():
        assert bitmapist.redis_url == "memory://second"
        assert bitmapist.TRACK_HOURLY is False
    # Outside an app context (0.1's tests read them so): the app set up last.
    assert bitmapist.redis_url == "memory://second"
    assert bitmapist.state is second.extensions["bitmapist"]


def test_0_1_attributes_match_the_config(app: Flask, ext: FlaskBitmapist) -> None:
    assert ext.redis_url == app.config["BITMAPIST_REDIS_URL"]
    assert ext.TRACK_HOURLY is False
    assert "default" in ext.SYSTEMS


def test_init_app_fills_the_config_with_defaults_without_overriding_the_apps() -> None:
    app = make_app(BITMAPIST_KEY_PREFIX="shop_")

    FlaskBitmapist(app)

    assert app.config["BITMAPIST_KEY_PREFIX"] == "shop_"
    for key, default in DEFAULTS.items():
        if key not in ("BITMAPIST_KEY_PREFIX", "BITMAPIST_REDIS_URL"):
            assert app.config[key] == default
    assert app.config["BITMAPIST_REDIS_URL"] == "memory://"
    assert DEFAULTS["BITMAPIST_REDIS_URL"] == "redis://localhost:6379"


def test_settings_are_read_from_the_config() -> None:
    def allow() -> bool:
        return True

    settings = Settings.from_config(
        {
            "BITMAPIST_REDIS_URL": "rediss://:pw@cache:6380/2",
            "BITMAPIST_REDIS_CLUSTER": True,
            "BITMAPIST_KEY_PREFIX": "shop_",
            "BITMAPIST_TRACK_HOURLY": True,
            "BITMAPIST_TRACK_UNIQUE": True,
            "BITMAPIST_MAX_USER_ID": 1000,
            "BITMAPIST_RAISE_ON_ERROR": True,
            "BITMAPIST_DISABLE_BLUEPRINT": True,
            "BITMAPIST_DASHBOARD_PERMISSION": allow,
            "BITMAPIST_MAX_COHORT_CELLS": 400,
            "BITMAPIST_MAX_EXPRESSION_TERMS": 500,
            "BITMAPIST_URL_PREFIX": "/analytics",
            "BITMAPIST_MAP_IDS": True,
            "BITMAPIST_SOCKET_TIMEOUT": 2,
            "BITMAPIST_CONNECT_TIMEOUT": 0.25,
            "BITMAPIST_ERROR_LOG_INTERVAL": 0,
            "BITMAPIST_REPLAY_BUFFER": 0,
            "BITMAPIST_BREAKER_INTERVAL": 1,
            "BITMAPIST_BREAKER_MAX_INTERVAL": 30,
        }
    )

    assert settings == Settings(
        redis_url="rediss://:pw@cache:6380/2",
        redis_cluster=True,
        key_prefix="shop_",
        track_hourly=True,
        track_unique=True,
        max_user_id=1000,
        raise_on_error=True,
        disable_blueprint=True,
        dashboard_permission=allow,
        max_cohort_cells=400,
        max_expression_terms=500,
        url_prefix="/analytics",
        map_ids=True,
        socket_timeout=2.0,
        connect_timeout=0.25,
        error_log_interval=0.0,
        replay_buffer=0,
        breaker_interval=1.0,
        breaker_max_interval=30.0,
    )


def test_settings_repr_hides_the_redis_password() -> None:
    settings = Settings.from_config({"BITMAPIST_REDIS_URL": "redis://app:s3cret@cache:6379/1"})

    assert "s3cret" not in repr(settings)
    assert "redis://app:***@cache:6379/1" in repr(settings)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("BITMAPIST_REDIS_URL", "localhost:6379", "must be a URL"),
        ("BITMAPIST_REDIS_URL", None, "must be a str, got None"),
        ("BITMAPIST_TRACK_HOURLY", "False", "must be True, False, or a list .* got 'False'"),
        ("BITMAPIST_RAISE_ON_ERROR", 1, "must be True or False, got 1"),
        ("BITMAPIST_MAX_USER_ID", 2**32, "between 0 and 4294967295, got 4294967296"),
        ("BITMAPIST_MAX_USER_ID", True, "must be an int"),
        ("BITMAPIST_MAX_COHORT_CELLS", 0, "between 1 and"),
        ("BITMAPIST_MAX_EXPRESSION_TERMS", 10_001, "between 1 and 10000, got 10001"),
        ("BITMAPIST_URL_PREFIX", "bitmapist", "must start with '/'"),
        ("BITMAPIST_DASHBOARD_PERMISSION", "admin", "must be a callable or None"),
        ("BITMAPIST_SOCKET_TIMEOUT", 0, "more than 0, got 0"),
        ("BITMAPIST_CONNECT_TIMEOUT", float("nan"), "must be a number of seconds"),
        ("BITMAPIST_ERROR_LOG_INTERVAL", -1, "0 or more, got -1"),
        ("BITMAPIST_REPLAY_BUFFER", -1, "between 0 and"),
        ("BITMAPIST_REPLAY_BUFFER", 1.5, "must be an int"),
        ("BITMAPIST_BREAKER_INTERVAL", "1s", "must be a number of seconds"),
        ("BITMAPIST_BREAKER_MAX_INTERVAL", 0.1, "must not be below BITMAPIST_BREAKER_INTERVAL"),
    ],
)
def test_a_bad_setting_is_refused_at_init_app_naming_key_and_value(
    key: str, value: Any, message: str
) -> None:
    app = make_app(**{key: value})

    with pytest.raises(InvalidConfiguration, match=message) as caught:
        FlaskBitmapist(app)

    assert caught.value.key == key
    assert key in str(caught.value)
    assert "bitmapist" not in app.extensions


def test_a_bad_setting_is_a_value_error() -> None:
    assert issubclass(InvalidConfiguration, ValueError)


def test_repository_factory_builds_each_apps_storage_from_its_settings() -> None:
    built: list[Settings] = []

    def factory(settings: Settings) -> InMemoryRepository:
        built.append(settings)
        return InMemoryRepository()

    bitmapist = FlaskBitmapist(repository_factory=factory)
    first, second = make_app("a", BITMAPIST_KEY_PREFIX="a_"), make_app("b")
    bitmapist.init_app(first)
    bitmapist.init_app(second)

    assert [s.key_prefix for s in built] == ["a_", "trackist_"]


def test_state_now_is_aware_utc_even_from_a_naive_clock(clock: FixedClock) -> None:
    clock.moment = NOW.replace(tzinfo=None)
    app = make_app()
    FlaskBitmapist(app, clock=clock)

    with app.app_context():
        assert current_state().now() == NOW
        assert current_state().now().tzinfo is not None


def test_status_counts_this_processs_marks_for_the_current_app() -> None:
    app = make_app()
    ext = FlaskBitmapist(app, replay_in_background=False)
    with app.app_context():
        mark_event("user:paid", 1)
        mark_event("user:paid", 2)
        status = ext.status()
    assert (status.written, status.buffered, status.dropped, status.pending) == (2, 0, 0, 0)
    assert status.capacity == 60_000 and not status.breaker_open
