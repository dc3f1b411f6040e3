"""What every test gets: nothing it started that writes in the background outlives it.

An app's replay thread writes the marks its buffer holds as soon as storage answers: left
running, it wrote a mark buffered by one test into the database of a later one (a test
that found 3 keys where it expected none). So after each test, every mark recorder made
during it is closed (its thread stopped, its buffer dropped, its storage connections
closed, as ``BitmapistState.close()`` does), and the test fails if any replay thread is
still alive.

``refused_port`` is a port where connecting is refused, for tests of storage that is down.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from flask_bitmapist.services import replay

REPLAY_THREAD = "flask-bitmapist-replay"


@pytest.fixture(scope="session")
def refused_port() -> Iterator[int]:
    """A loopback port where connecting is refused: bound for the whole session but never
    listening, so no other process (another test run's redis-server) can take it."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def replay_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == REPLAY_THREAD and t.is_alive()]


@pytest.fixture(autouse=True)
def no_replay_outlives_its_test() -> Iterator[None]:
    """Close the recorders this test made; fail if a replay thread survives it."""
    before = set(replay._RECORDERS)
    yield
    for recorder in set(replay._RECORDERS) - before:
        recorder.close(timeout=10, discard=True)
        close = getattr(recorder.repository, "close", None)
        if callable(close):
            close()
    survivors = replay_threads()
    assert not survivors, f"replay threads outlived the test: {survivors}"
