"""The facade under hostile use (issue 11): 0.1's attributes, names, ids, the id map cap."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_bitmapist import FlaskBitmapist, mark_event
from flask_bitmapist.domain import InvalidEventName, InvalidUserId
from flask_bitmapist.flask.state import BitmapistState
from flask_bitmapist.infra import InMemoryRepository
from tests.unit.flask.support import make_app, users_in


def test_01_attributes_are_reachable_from_app_extensions() -> None:
    app = make_app(BITMAPIST_TRACK_HOURLY=True)
    FlaskBitmapist(app)
    state = app.extensions["bitmapist"]
    assert state.redis_url == "memory://"
    assert state.TRACK_HOURLY is True
    assert {"default": state.repository} == state.SYSTEMS


@pytest.mark.parametrize("name", ["user\ud800paid", "user\u202epaid", "user\u200bpaid"], ids=ascii)
def test_a_name_that_cannot_be_stored_or_shown_is_refused_not_counted_as_failure(
    state: BitmapistState, name: str
) -> None:
    with pytest.raises(InvalidEventName):
        mark_event(name, 1)
    assert state.failed_marks == 0


def test_a_user_id_above_the_default_maximum_is_refused_naming_the_settings(
    state: BitmapistState,
) -> None:
    with pytest.raises(InvalidUserId) as caught:
        mark_event("e", 2**32 - 1)
    assert "BITMAPIST_MAX_USER_ID" in str(caught.value)
    assert "BITMAPIST_MAP_IDS" in str(caught.value)
    assert state.failed_marks == 0


def test_raising_the_maximum_is_the_users_choice(clock: object) -> None:
    app = make_app(BITMAPIST_MAX_USER_ID=2**32 - 1)
    FlaskBitmapist(app, clock=clock)  # type: ignore[arg-type]
    with app.app_context():
        mark_event("e", 2**27)
        state = app.extensions["bitmapist"]
        assert users_in(state, "e", "day", clock()) == [2**27]  # type: ignore[operator]


def test_the_id_map_never_hands_out_an_int_above_the_maximum(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app: Flask = make_app(BITMAPIST_MAP_IDS=True, BITMAPIST_MAX_USER_ID=2)
    FlaskBitmapist(app, repository_factory=lambda _settings: InMemoryRepository())
    with app.app_context():
        state = app.extensions["bitmapist"]
        for user in ("a", "b", "c", "d", "e"):
            mark_event("seen", user)
        assert state.id_mapper.count() == 3  # 0, 1, 2: the map stopped growing
        assert state.id_mapper.find(["d", "e"]) == [None, None]
        assert state.failed_marks == 2
    assert "the id map is full: every int up to 2 (BITMAPIST_MAX_USER_ID)" in caplog.text
