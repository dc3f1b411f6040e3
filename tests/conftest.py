"""What every test gets: nothing it started that writes in the background outlives it.

An app's replay thread writes the marks its buffer holds as soon as storage answers: left
running, it wrote a mark buffered by one test into the database of a later one (a test
that found 3 keys where it expected none). So after each test, every mark recorder made
during it is closed (its thread stopped, its buffer dropped, its storage connections
closed, as ``BitmapistState.close()`` does), and the test fails if any replay thread is
still alive.

``refused_port`` is a port where connecting is refused, for tests of storage that is down.

Sockets left to the garbage collector until the session ends (seen twice in many runs,
under redis-py 8.1 only: a socket of a client some test dropped in a reference cycle) are
finalised by ``sockets_left_at_session_end`` and listed in the summary, with where they
were made when run under ``python -X tracemalloc``, instead of failing a green run at
exit. A socket left unclosed during a test still fails it (``filterwarnings = error``).
"""

from __future__ import annotations

import gc
import socket
import threading
import tracemalloc
import warnings
import weakref
from collections.abc import Iterator

import pytest

from flask_bitmapist.services import replay

REPLAY_THREAD = "flask-bitmapist-replay"
#: The sockets finalised at session end, for the terminal summary.
LEFT_SOCKETS = pytest.StashKey[list[str]]()


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
    before = weakref.WeakSet(replay._RECORDERS)  # weak: a test may drop its recorders
    yield
    for recorder in [r for r in list(replay._RECORDERS) if r not in before]:
        recorder.close(timeout=10, discard=True)
        close = getattr(recorder.repository, "close", None)
        if callable(close):
            close()
    survivors = replay_threads()
    assert not survivors, f"replay threads outlived the test: {survivors}"


@pytest.fixture(scope="session", autouse=True)
def sockets_left_at_session_end(request: pytest.FixtureRequest) -> Iterator[None]:
    """Finalise what the tests left to the garbage collector before pytest does (which
    turns each ResourceWarning into an error after the last test): unclosed sockets are
    listed in the summary; any other ResourceWarning is raised again."""
    yield
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    left = []
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, ResourceWarning) and text.startswith("unclosed <socket"):
            where = tracemalloc.get_object_traceback(warning.source) if warning.source else None
            left.append(text + ("\n" + "\n".join(where.format()) if where else ""))
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    request.config.stash[LEFT_SOCKETS] = left


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    left = terminalreporter.config.stash.get(LEFT_SOCKETS, [])
    if left:
        terminalreporter.section("sockets left unclosed until the session ended")
        for line in left:
            terminalreporter.write_line(line)
