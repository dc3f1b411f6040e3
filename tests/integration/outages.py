"""Helpers for tests that take storage away: waiting, with a bound, for marks to settle."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask_bitmapist import BitmapistState
from flask_bitmapist.infra.breaker import CircuitBreaker

#: Long enough for the replay thread to probe after the longest breaker interval (5 s),
#: on a loaded machine.
SETTLE_TIMEOUT = 20.0


def never_skipping() -> CircuitBreaker:
    """A breaker that lets every call through (for tests of what one failing call does)."""
    return CircuitBreaker(interval=0, max_interval=0)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = SETTLE_TIMEOUT) -> float:
    """Wait until ``condition()`` holds, polling; fail naming ``what`` after ``timeout``
    seconds. Returns how long it took."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - began


def settle(state: BitmapistState, timeout: float = SETTLE_TIMEOUT) -> float:
    """Wait until every buffered mark is replayed and the store may be tried again."""

    def settled() -> bool:
        status = state.status()
        return status.pending == 0 and (not status.breaker_open or status.retry_in == 0)

    return wait_for(settled, "buffered marks replayed", timeout)
