"""``BitmapistState.close()``: an app that is done leaves no replay thread behind, and no
buffered mark that a later writer (or a later test's database) would receive."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pytest
from flask import Flask

from flask_bitmapist import FlaskBitmapist, current_state, get_event_data, mark_event
from flask_bitmapist.domain import Mark, StorageUnavailable
from flask_bitmapist.infra import InMemoryRepository
from tests.unit.flask.support import NOW, FixedClock, make_app


class FailingStore(InMemoryRepository):
    """The in-process store, refusing writes while ``down``; counts its closes."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.closed = 0

    def mark(self, marks: Iterable[Mark]) -> None:
        if self.down:
            raise StorageUnavailable("connection refused (test)")
        super().mark(marks)

    def close(self) -> None:
        self.closed += 1


def app_on(store: FailingStore) -> Flask:
    app = make_app()
    FlaskBitmapist(app, repository_factory=lambda _settings: store, clock=FixedClock(NOW))
    return app


def test_close_stops_the_replay_thread_and_drops_what_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="flask_bitmapist")
    store = FailingStore()
    app = app_on(store)
    with app.app_context():
        state = current_state()
        mark_event("paid", 1)
        thread = state.recorder._thread
        assert thread is not None and thread.is_alive()
        assert state.close() == 1
        assert not thread.is_alive()
        store.down = False
        mark_event("paid", 2)  # marking still works after close, without the thread
        status = state.status()
        assert sorted(get_event_data("paid", "days")) == [2]
    assert (status.written, status.dropped, status.pending) == (1, 1, 0)
    assert store.closed == 1
    assert "closed with 1 marks still waiting for storage; they are dropped" in caplog.text


def test_closing_an_app_that_wrote_everything_drops_nothing() -> None:
    store = FailingStore()
    store.down = False
    app = app_on(store)
    with app.app_context():
        mark_event("paid", 1)
        assert current_state().close() == 0
        assert current_state().status().dropped == 0
