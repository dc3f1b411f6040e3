"""A circuit breaker: after storage fails, skip it for a short, growing interval.

Without one, every request that marks an event while Redis hangs waits the full socket
timeout (0.5 s by default): measured with SIGSTOP, 4 sync workers served 33 requests in
5 s. With it, the first failure opens the breaker and calls raise
:class:`~flask_bitmapist.domain.StorageUnavailable` at once (``skipped=True``) until the
interval is over; then one call at a time (the probe) is let through. A probe that works
closes the breaker; one that fails opens it again for twice as long, up to
``max_interval``. Marks skipped meanwhile wait in the facade's replay buffer; reads answer
503 at once.

A background prober (the replay thread) may reserve the probes, so that request threads
never pay a timeout while it is there to pay it for them.
"""

from __future__ import annotations

import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Final

import attrs

from flask_bitmapist.domain import InvalidStorageConfig, StorageUnavailable

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_MAX_INTERVAL",
    "BreakerState",
    "CircuitBreaker",
]

#: Seconds the store is skipped after a first failure: one socket timeout's worth.
DEFAULT_INTERVAL: Final = 0.5
#: The interval doubles after each failed probe, up to this: storage that answers again is
#: used again within this many seconds.
DEFAULT_MAX_INTERVAL: Final = 5.0

# Every breaker, for resetting its lock in a forked child (see _reinit_after_fork).
_BREAKERS: weakref.WeakSet[CircuitBreaker] = weakref.WeakSet()


@attrs.frozen
class BreakerState:
    """A snapshot of a breaker, for ``status()`` and log lines."""

    #: True while calls are skipped (or a probe is out).
    open: bool
    #: Seconds until the next probe may go (0 when closed or due).
    retry_in: float
    #: The interval the breaker was last opened for.
    interval: float
    #: Failures since the breaker last closed (each failed call or probe).
    failures: int
    #: The last failure's message ("" when closed).
    last_error: str


class CircuitBreaker:
    """Closed (calls go through), or open until a moment (calls skipped), thread-safe.

    >>> clock = [0.0]
    >>> breaker = CircuitBreaker(interval=0.5, max_interval=2.0, clock=lambda: clock[0])
    >>> breaker.failed(TimeoutError("no answer"))
    >>> breaker.state().retry_in
    0.5
    """

    def __init__(
        self,
        *,
        interval: float = DEFAULT_INTERVAL,
        max_interval: float = DEFAULT_MAX_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Skip the store for ``interval`` seconds after a failure, doubling after each
        failed probe up to ``max_interval``. ``clock`` is monotonic seconds."""
        for name, value in (("interval", interval), ("max_interval", max_interval)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidStorageConfig(f"breaker {name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise InvalidStorageConfig(
                    f"breaker {name} must be 0 or more seconds, got {value!r}"
                )
        if max_interval < interval:
            raise InvalidStorageConfig(
                f"breaker max_interval ({max_interval!r}) must not be below its interval "
                f"({interval!r})"
            )
        self.interval = float(interval)
        self.max_interval = float(max_interval)
        self._clock = clock
        self._lock = threading.Lock()
        self._open = False
        self._retry_at = 0.0
        self._current = self.interval
        self._failures = 0
        self._last_error = ""
        #: The thread whose call is the probe now (None: no probe out).
        self._probe: int | None = None
        #: The only thread allowed to probe (None: any thread).
        self._prober: int | None = None
        _BREAKERS.add(self)

    # -- around each call -------------------------------------------------------------

    def before_call(self, server: str, action: str) -> None:
        """Let a call through, or raise :class:`StorageUnavailable` (``skipped``) while the
        breaker is open. Once the interval is over, one caller at a time becomes the probe
        (the reserved prober's thread only, when there is one)."""
        with self._lock:
            if not self._open:
                return
            now = self._clock()
            me = threading.get_ident()
            if self._probe == me:
                return  # the probe's own follow-up calls (e.g. map ids, then write)
            due = now >= self._retry_at
            allowed = self._prober is None or self._prober == me
            if due and allowed and self._probe is None:
                self._probe = me
                return
            wait = max(0.0, self._retry_at - now)
            error = self._last_error
        raise StorageUnavailable(
            f"{server} is unavailable ({action}): skipped for {wait:.1f} s more after a "
            f"recent failure: {error}",
            skipped=True,
        )

    def succeeded(self) -> bool:
        """The store answered: close the breaker. True when this closed an open one."""
        with self._lock:
            if not self._open and not self._failures:
                return False
            was_open = self._open
            self._open = False
            self._probe = None
            self._current = self.interval
            self._failures = 0
            self._last_error = ""
            return was_open

    def failed(self, error: BaseException) -> None:
        """The store did not answer: open the breaker (again, for longer after a probe)."""
        with self._lock:
            now = self._clock()
            self._failures += 1
            self._last_error = str(error)
            if self._open and self._probe != threading.get_ident():
                # A call that was already on its way when the breaker opened.
                return
            if self._open:
                self._current = min(self._current * 2, self.max_interval)
            else:
                self._current = self.interval
            self._open = True
            self._probe = None
            self._retry_at = now + self._current

    # -- probes -------------------------------------------------------------------------

    def reserve_probes(self) -> None:
        """Let only the calling thread probe from now on (a background retry thread)."""
        with self._lock:
            self._prober = threading.get_ident()

    def release_probes(self) -> None:
        """Any thread may probe again (the background thread is stopping)."""
        with self._lock:
            if self._prober == threading.get_ident():
                self._prober = None

    # -- looking at it ------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True while calls are skipped or a probe is out."""
        return self._open

    def retry_in(self) -> float:
        """Seconds until the next probe may go (0 when closed or already due)."""
        with self._lock:
            return max(0.0, self._retry_at - self._clock()) if self._open else 0.0

    def state(self) -> BreakerState:
        """A snapshot for ``status()`` and logs."""
        with self._lock:
            retry_in = max(0.0, self._retry_at - self._clock()) if self._open else 0.0
            return BreakerState(
                open=self._open,
                retry_in=retry_in,
                interval=self._current,
                failures=self._failures,
                last_error=self._last_error,
            )

    def _reinit_after_fork(self) -> None:
        # A lock held by another thread at fork time would stay held in the child forever;
        # the prober thread does not exist there.
        self._lock = threading.Lock()
        self._prober = None
        self._probe = None

    def __repr__(self) -> str:
        state = self.state()
        return (
            f"CircuitBreaker({'open' if state.open else 'closed'}, "
            f"interval={self.interval}, max_interval={self.max_interval})"
        )


def _reinit_all_after_fork() -> None:
    for breaker in list(_BREAKERS):
        breaker._reinit_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_all_after_fork)
