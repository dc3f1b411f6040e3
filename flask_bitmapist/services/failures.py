"""What happens when storage fails while marking: count it, and log it now and then.

Marking runs inside the host app's views, so a dead Redis must neither break them nor
flood the log with one traceback per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["LOGGER", "MarkFailures"]

#: The logger mark failures go to.
LOGGER = logging.getLogger("flask_bitmapist")


class MarkFailures:
    """Counts failed writes of one app and logs at most one of them per ``interval`` seconds.

    Each log line says how many failures were left unlogged since the previous one, so
    nothing is hidden, only summarised. Thread-safe.
    """

    def __init__(
        self,
        app_name: str,
        *,
        interval: float,
        logger: logging.Logger = LOGGER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` is monotonic seconds (injectable so tests need not sleep)."""
        self.app_name = app_name
        self.interval = interval
        self.logger = logger
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._unlogged = 0
        self._last_logged: float | None = None

    @property
    def count(self) -> int:
        """How many writes have failed since the app started."""
        return self._count

    def record(self, error: BaseException, *, action: str, marks: int) -> None:
        """Count one failed write of ``marks`` marks; log it unless one was logged recently."""
        with self._lock:
            self._count += 1
            now = self._clock()
            if self._last_logged is not None and now - self._last_logged < self.interval:
                self._unlogged += 1
                return
            self._last_logged = now
            unlogged, self._unlogged = self._unlogged, 0
            total = self._count
        self.logger.error(
            "Flask-Bitmapist could not %s %d mark(s) for app %r: %s. The marks are dropped "
            "and the request goes on (set BITMAPIST_RAISE_ON_ERROR = True to raise instead). "
            "%d failure(s) since the last report, %d since start; at most one is logged "
            "every %g s.",
            action,
            marks,
            self.app_name,
            error,
            unlogged + 1,
            total,
            self.interval,
            exc_info=error,
        )
