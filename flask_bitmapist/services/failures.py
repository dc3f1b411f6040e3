"""How an outage is logged: one line when it starts, a summary at most every interval while
it lasts, one line when it ends.

Marking runs inside the host app's views, and the dashboard's pages keep loading while
storage is down: neither may flood the log with a line per request, and neither may hide
what happened. Measured before this existed: 2,418 marks dropped during a 5 s kill gave
four log lines, each reading "1 failure(s) ... 1 since start", and nothing after them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

__all__ = ["LOGGER", "OutageReport"]

#: The logger outages go to.
LOGGER = logging.getLogger("flask_bitmapist")


def _counts(counts: Mapping[str, int]) -> str:
    shown = [f"{value:,} {name}" for name, value in counts.items() if value]
    return ", ".join(shown) or "nothing"


class OutageReport:
    """Logs one outage after another of ``subject`` (thread-safe).

    - :meth:`failed` with the first error logs "``subject`` is unavailable" (ERROR, with
      the error) and ``advice``;
    - while the outage lasts, :meth:`failed`, :meth:`count` and :meth:`tick` log at most
      one summary every ``interval`` seconds (WARNING), with what was counted since the
      previous line;
    - :meth:`recovered` logs one line (WARNING) with how long it lasted and the totals.

    ``clock`` is monotonic seconds (injectable so tests need not sleep).
    """

    def __init__(
        self,
        subject: str,
        *,
        advice: str = "",
        interval: float,
        logger: logging.Logger = LOGGER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Report on ``subject`` (e.g. "storage of app 'shop' (Redis at ...)")."""
        self.subject = subject
        self.advice = advice
        self.interval = interval
        self.logger = logger
        self._clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self._last_line = 0.0
        self._recent: Counter[str] = Counter()
        self._total: Counter[str] = Counter()
        self._last_error = ""
        #: How many outages were logged (for tests and status pages).
        self.outages = 0

    @property
    def in_outage(self) -> bool:
        """True between a first failure and the recovery."""
        return self._since is not None

    def failed(self, error: BaseException, counts: Mapping[str, int]) -> None:
        """Storage failed; ``counts`` (e.g. ``{"marks buffered": 1}``) are added up."""
        line = ""
        with self._lock:
            self._last_error = str(error)
            self._add(counts)
            if self._since is None:
                now = self._clock()
                self._since = self._last_line = now
                self.outages += 1
                self._recent.clear()  # the first line tells of these
                started = True
            else:
                started = False
                line = self._summary_due()
        if started:
            self.logger.error(
                "Flask-Bitmapist: %s is unavailable: %s.%s",
                self.subject,
                str(error).rstrip("."),
                f" {self.advice}" if self.advice else "",
                exc_info=error,
            )
        elif line:
            self.logger.warning(line)

    def count(self, counts: Mapping[str, int], *, summarize: bool = True) -> None:
        """Add ``counts`` to the outage's (e.g. marks replayed); ignored when none is on.
        ``summarize=False`` logs no summary now (the caller is about to log recovery)."""
        with self._lock:
            if self._since is None:
                return
            self._add(counts)
            line = self._summary_due() if summarize else ""
        if line:
            self.logger.warning(line)

    def tick(self, state: str = "") -> None:
        """Log the summary if one is due (a background thread calls this between tries);
        ``state`` (e.g. "1,200 marks wait in the buffer") ends the line."""
        with self._lock:
            line = self._summary_due(state)
        if line:
            self.logger.warning(line)

    def recovered(self, state: str = "") -> None:
        """Storage answers again: log the outage's length and totals, and close it."""
        with self._lock:
            if self._since is None:
                return
            lasted = self._clock() - self._since
            totals = dict(self._total)
            self._since = None
            self._recent.clear()
            self._total.clear()
        self.logger.warning(
            "Flask-Bitmapist: %s answers again after %.1f s; during the outage: %s.%s",
            self.subject,
            lasted,
            _counts(totals),
            f" {state}" if state else "",
        )

    def after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's may be held) and no outage."""
        self._lock = threading.Lock()
        self._since = None
        self._recent.clear()
        self._total.clear()

    def _add(self, counts: Mapping[str, int]) -> None:
        for name, value in counts.items():
            self._recent[name] += value
            self._total[name] += value

    def _summary_due(self, state: str = "") -> str:
        """The summary line when one is due (resetting the recent counts), else ""."""
        if self._since is None:
            return ""
        now = self._clock()
        if now - self._last_line < self.interval:
            return ""
        line = (
            f"Flask-Bitmapist: {self.subject} still unavailable after {now - self._since:.1f} s; "
            f"since the last report: {_counts(self._recent)}; "
            f"last error: {self._last_error.rstrip('.')}." + (f" {state}" if state else "")
        )
        self._last_line = now
        self._recent.clear()
        return line
