"""Marks that outlive a storage outage: a bounded per-process replay buffer, in order,
written again as soon as storage answers, with counters that tell the truth.

Before this, a mark that could not be written was dropped: Redis SIGKILLed for 5 s and
restarted lost 5,309 of 14,863 marks sent by 4 threads (``benchmarks/outage.py``). Now:

- a mark (or unmark) that cannot be written is kept, in order, in a buffer of at most
  ``capacity`` marks (``BITMAPIST_REPLAY_BUFFER``); when it is full the oldest are dropped
  and counted;
- while anything waits, new marks queue behind it (so a mark and a later unmark of the
  same bit are applied in that order), and the next write replays up to
  ``REQUEST_REPLAY_LIMIT`` of them first, once the store is not being skipped;
- a background thread (started when something is buffered, never at import; a daemon
  that stops once the buffer is empty, after a fork, or for good on
  :meth:`MarkRecorder.close`)
  replays the rest as soon as the circuit breaker lets a probe through: within its
  interval, at most 5 s by default;
- replaying is safe because marks are idempotent bit writes; a mark that failed part-way
  (on a cluster, some of its keys written) is replayed whole.

Counters: ``written`` (on the first try), ``buffered`` (kept for replay), ``replayed``
(written from the buffer), ``dropped`` (lost: the buffer overflowed, or storage refused
them; a mark that overflow pushes out while its replay is on its way counts as replayed
or dropped by how that write went), ``unknown`` (the write timed out or lost its
connection after sending, even if a retry then found the server gone, so it may or may
not have been applied; those marks are buffered and replayed too).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque
from collections.abc import Sequence
from typing import Final, Protocol

import attrs

from flask_bitmapist.domain import (
    MARK_CHUNK_SIZE,
    BitmapRepository,
    IdMapper,
    StorageUnavailable,
)
from flask_bitmapist.services.failures import OutageReport
from flask_bitmapist.services.marking import MarkingPolicy, PendingMark

__all__ = [
    "DEFAULT_REPLAY_BUFFER",
    "REQUEST_REPLAY_LIMIT",
    "MarkRecorder",
    "MarkingStatus",
    "ReplayBuffer",
    "StorageGate",
]

#: Marks kept per process while storage is away: a minute of a busy process (1,000 marks
#: a second). A buffered mark takes about 265 bytes, so a full buffer holds about 16 MB
#: (``benchmarks/replay_buffer_memory.py``).
DEFAULT_REPLAY_BUFFER: Final = 60_000
#: At most this many buffered marks are replayed by a request's own write (a few ms); the
#: background thread replays the rest.
REQUEST_REPLAY_LIMIT: Final = 1_000
#: Without a circuit breaker to ask, the background thread waits this long after a failed
#: replay, doubling up to MAX_RETRY_WAIT.
RETRY_WAIT: Final = 0.5
MAX_RETRY_WAIT: Final = 5.0

# Every recorder, for resetting its locks and thread in a forked child.
_RECORDERS: weakref.WeakSet[MarkRecorder] = weakref.WeakSet()


class StorageGate(Protocol):
    """What the recorder asks of a circuit breaker (see ``infra.breaker``)."""

    @property
    def is_open(self) -> bool:
        """True while the store is being skipped."""
        ...

    def retry_in(self) -> float:
        """Seconds until the next probe may go."""
        ...

    def reserve_probes(self) -> None:
        """Let only the calling thread probe."""
        ...

    def release_probes(self) -> None:
        """Let any thread probe again."""
        ...


@attrs.frozen
class MarkingStatus:
    """How marking went in this process since the app started (``status()``)."""

    #: Marks written on their first try.
    written: int
    #: Marks kept for replay because storage failed or was being skipped.
    buffered: int
    #: Buffered marks written since.
    replayed: int
    #: Marks lost: the buffer overflowed (oldest first), or storage refused them.
    dropped: int
    #: Writes that timed out or lost their connection after sending: they may or may not
    #: have been applied (they were buffered and are replayed too).
    unknown: int
    #: Marks waiting in the buffer now.
    pending: int
    #: The buffer's bound (``BITMAPIST_REPLAY_BUFFER``).
    capacity: int
    #: True while the store is being skipped (the circuit breaker is open).
    breaker_open: bool
    #: Seconds until the store is tried again (0 when it is not skipped).
    retry_in: float

    def as_dict(self) -> dict[str, int | float | bool]:
        """The status as a plain dict (for JSON)."""
        return attrs.asdict(self)


class ReplayBuffer:
    """A bounded, ordered queue of marks and unmarks waiting to be written (thread-safe).

    >>> from datetime import datetime
    >>> from flask_bitmapist.domain import Mark
    >>> buffer = ReplayBuffer(2)
    >>> marks = [Mark.create("e", n, datetime(2026, 11, 27)) for n in range(3)]
    >>> buffer.add(marks, unmark=False)  # (kept, dropped): the oldest made room
    (3, 1)
    >>> [m.user_id for m in buffer.head(10)[1]]
    [1, 2]

    Marks handed out by :meth:`head` are in flight until :meth:`settle`: one that overflow
    pushes out meanwhile is not dropped yet, since the write on its way may still land.
    :meth:`settle` says what became of it: replayed with the others when the write
    worked, dropped when it did not.
    """

    def __init__(self, capacity: int) -> None:
        """Hold at most ``capacity`` marks (0: hold none, drop every mark added)."""
        self.capacity = capacity
        self._items: deque[tuple[int, bool, PendingMark]] = deque()
        self._seq = 0
        self._lock = threading.Lock()
        #: The last sequence number handed out by head() and not settled (0: none).
        self._in_flight = 0
        #: In-flight marks that overflow pushed out of the buffer.
        self._evicted_in_flight = 0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, marks: Sequence[PendingMark], *, unmark: bool) -> tuple[int, int]:
        """Queue ``marks`` behind what waits; returns (marks kept, marks dropped), where
        the dropped are the oldest in the buffer (the new ones themselves when the
        capacity is 0). In-flight marks pushed out are not counted here (see
        :meth:`settle`)."""
        if self.capacity <= 0:
            return 0, len(marks)
        dropped = 0
        with self._lock:
            for mark in marks:
                self._seq += 1
                self._items.append((self._seq, unmark, mark))
            for _ in range(max(0, len(self._items) - self.capacity)):
                seq = self._items.popleft()[0]
                if seq <= self._in_flight:
                    self._evicted_in_flight += 1
                else:
                    dropped += 1
        return len(marks), dropped

    def head(self, limit: int) -> tuple[bool, list[PendingMark], int] | None:
        """The oldest marks of one kind (marks, or unmarks), at most ``limit``: (unmark,
        marks, the last one's sequence number for :meth:`settle`); None when empty. Marks
        and unmarks are never mixed, so their order holds. The marks are in flight until
        :meth:`settle` is called with that number."""
        with self._lock:
            if not self._items:
                return None
            kind = self._items[0][1]
            taken: list[PendingMark] = []
            last = 0
            for seq, unmark, mark in self._items:
                if unmark is not kind or len(taken) >= limit:
                    break
                taken.append(mark)
                last = seq
            self._in_flight = last
            self._evicted_in_flight = 0
            return kind, taken, last

    def settle(self, seq: int, *, done: bool) -> tuple[int, int]:
        """End the flight of the marks up to ``seq``. ``done``: they were written (or
        refused for good), so they leave the buffer. Returns (marks done, marks lost):
        with ``done``, every in-flight mark, those overflow pushed out meanwhile included;
        without, the ones pushed out are lost (the rest stay, for the next try)."""
        with self._lock:
            evicted, self._evicted_in_flight = self._evicted_in_flight, 0
            self._in_flight = 0
            if not done:
                return 0, evicted
            removed = 0
            while self._items and self._items[0][0] <= seq:
                self._items.popleft()
                removed += 1
            return removed + evicted, 0

    def clear(self) -> int:
        """Empty the buffer; returns how many marks it held."""
        with self._lock:
            count = len(self._items)
            self._items.clear()
            return count

    def _reinit_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._items.clear()
        self._in_flight = 0
        self._evicted_in_flight = 0


@attrs.define
class _Counts:
    written: int = 0
    buffered: int = 0
    replayed: int = 0
    dropped: int = 0
    unknown: int = 0
    #: Marks whose first write did not happen (buffered or dropped then).
    failed: int = 0


class MarkRecorder:
    """Writes marks failing open: what storage cannot take now waits in a replay buffer.

    ``record`` never raises a storage failure (unless ``raise_on_error``): it writes, or
    buffers and counts. ``gate`` is the repository's circuit breaker when it has one: while
    it is open, marks go straight to the buffer; the background thread reserves its
    probes, so requests never wait for a timeout while it is there to wait for them.
    ``background=False`` starts no thread (call :meth:`retry_once` yourself, as tests do).
    """

    def __init__(
        self,
        repository: BitmapRepository,
        *,
        policy: MarkingPolicy,
        report: OutageReport,
        id_mapper: IdMapper | None = None,
        capacity: int = DEFAULT_REPLAY_BUFFER,
        gate: StorageGate | None = None,
        raise_on_error: bool = False,
        background: bool = True,
        chunk_size: int = MARK_CHUNK_SIZE,
    ) -> None:
        """Write to ``repository`` with ``policy`` (and ``id_mapper``), reporting outages
        to ``report``; keep at most ``capacity`` marks for replay."""
        self.repository = repository
        self.policy = policy
        self.report = report
        self.id_mapper = id_mapper
        self.gate = gate
        self.raise_on_error = raise_on_error
        self.background = background
        self.chunk_size = chunk_size
        self.buffer = ReplayBuffer(capacity)
        self._counts = _Counts()
        self._lock = threading.Lock()
        self._replaying = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._closed = False
        self._wait = RETRY_WAIT
        _RECORDERS.add(self)

    # -- marking ------------------------------------------------------------------------

    def record(self, marks: Sequence[PendingMark], *, unmark: bool = False) -> None:
        """Write ``marks`` (or clear their bits with ``unmark``), failing open.

        With ``raise_on_error`` a storage failure is raised and nothing is buffered.
        """
        if not marks:
            return
        if self.raise_on_error:
            self._write(marks, unmark)
            self._add(written=len(marks))
            return
        if len(self.buffer) or self._skipping():
            # Behind what waits, so that order holds; the store is not tried while it is
            # being skipped.
            self._keep(marks, unmark, None)
            if not self._skipping():
                self.replay(limit=REQUEST_REPLAY_LIMIT, wait=False)
            return
        try:
            self._write(marks, unmark)
        except Exception as exc:
            # Anything the storage raises is a storage failure: the marks were validated.
            self._keep(marks, unmark, exc)
        else:
            self._add(written=len(marks))
            if self.report.in_outage and not len(self.buffer):
                self.report.recovered(self._totals_line())

    def replay(self, *, limit: int | None = None, wait: bool = True) -> int:
        """Write buffered marks, oldest first, until the buffer is empty, a write fails, or
        ``limit`` marks were written; returns how many were. With ``wait=False`` it returns
        0 at once while another thread replays."""
        if not self._replaying.acquire(blocking=wait):
            return 0
        done = 0
        failed = False
        try:
            while limit is None or done < limit:
                step = self.chunk_size if limit is None else min(self.chunk_size, limit - done)
                head = self.buffer.head(step)
                if head is None:
                    break
                unmark, marks, last = head
                try:
                    self._write(marks, unmark)
                except StorageUnavailable as exc:
                    # They stay for the next try, but those that overflow pushed out
                    # meanwhile are lost now.
                    _, lost = self.buffer.settle(last, done=False)
                    self._add(dropped=lost)
                    lost_line = {"marks dropped (buffer full)": lost} if lost else {}
                    if not exc.skipped:  # a skip is no news: the failure was reported
                        self.report.failed(exc, lost_line)
                    elif lost:
                        self.report.count(lost_line)
                    failed = True
                    break
                except Exception as exc:
                    # Refused for good (e.g. an id map that is full): drop rather than
                    # block everything behind them.
                    refused, _ = self.buffer.settle(last, done=True)
                    self._add(dropped=refused)
                    self.report.failed(exc, {"marks dropped (refused)": refused})
                    continue
                # Every mark of the write, overflow's meanwhile included: it landed.
                written, _ = self.buffer.settle(last, done=True)
                done += written
                self._add(replayed=written)
                self.report.count({"marks replayed": written}, summarize=bool(len(self.buffer)))
        finally:
            self._replaying.release()
        if not failed and not len(self.buffer):
            self._wait = RETRY_WAIT
            if self.report.in_outage:
                self.report.recovered(self._totals_line())
        return done

    # -- the background retry -----------------------------------------------------------

    def retry_once(self) -> float | None:
        """One step of the background retry: replay if the store may be tried. Returns how
        long to wait before the next step, or None when the buffer is empty."""
        if not len(self.buffer):
            return None
        if self.gate is not None and self.gate.is_open:
            wait = self.gate.retry_in()
            if wait > 0:
                self.report.tick(self._pending_line())
                return wait
        self.replay()
        if not len(self.buffer):
            return 0.0
        self.report.tick(self._pending_line())
        if self.gate is not None:
            return max(self.gate.retry_in(), 0.05)
        wait, self._wait = self._wait, min(self._wait * 2, MAX_RETRY_WAIT)
        return wait

    def _ensure_retrying(self) -> None:
        if not self.background or not len(self.buffer):
            return
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=_retry_loop,
                args=(weakref.ref(self), self._stop),
                name="flask-bitmapist-replay",
                daemon=True,
            )
            self._thread.start()

    def _retry_done(self) -> bool:
        """The thread may end: True (and forgotten) when nothing is left to replay."""
        with self._lock:
            if len(self.buffer) and not self._stop.is_set():
                return False
            if self._thread is threading.current_thread():
                self._thread = None
            return True

    def close(self, timeout: float = 2.0, *, discard: bool = False) -> int:
        """Stop the background thread for good (waiting up to ``timeout`` s for a write it
        has on its way); marks buffered later wait for the next write or :meth:`replay`.

        Marks still buffered stay there, or with ``discard`` are dropped (and counted
        ``dropped``). Returns how many were discarded. Raises ``TimeoutError`` when the
        thread did not stop within ``timeout``.
        """
        with self._lock:
            thread, self._thread = self._thread, None
            self._closed = True
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError(f"the replay thread did not stop within {timeout} s")
        if not discard:
            return 0
        with self._replaying:  # not while a replay is on its way (see ReplayBuffer.settle)
            discarded = self.buffer.clear()
        self._add(dropped=discarded)
        if discarded:
            self.report.count({"marks dropped (closed)": discarded}, summarize=False)
        return discarded

    # -- status -------------------------------------------------------------------------

    @property
    def failed_marks(self) -> int:
        """Marks not written when they were made (buffered, or dropped then)."""
        return self._counts.failed

    def status(self) -> MarkingStatus:
        """The counters, the buffer and the breaker, now."""
        with self._lock:
            counts = attrs.evolve(self._counts)
        gate = self.gate
        return MarkingStatus(
            written=counts.written,
            buffered=counts.buffered,
            replayed=counts.replayed,
            dropped=counts.dropped,
            unknown=counts.unknown,
            pending=len(self.buffer),
            capacity=self.buffer.capacity,
            breaker_open=bool(gate is not None and gate.is_open),
            retry_in=gate.retry_in() if gate is not None else 0.0,
        )

    # -- internals ----------------------------------------------------------------------

    def _skipping(self) -> bool:
        return self.gate is not None and self.gate.is_open

    def _write(self, marks: Sequence[PendingMark], unmark: bool) -> None:
        ready = self.policy.mapped(self.id_mapper, marks, assign=not unmark)
        if unmark:
            self.repository.unmark(ready)
        else:
            self.repository.mark(ready)

    def _keep(self, marks: Sequence[PendingMark], unmark: bool, error: Exception | None) -> None:
        """Buffer marks whose write failed (``error``) or was not tried (None)."""
        count = len(marks)
        if error is not None and not isinstance(error, StorageUnavailable):
            self._add(dropped=count, failed=count)
            self.report.failed(error, {"marks dropped (refused)": count})
            return
        kept, dropped = self.buffer.add(marks, unmark=unmark)
        unknown = count if isinstance(error, StorageUnavailable) and error.outcome_unknown else 0
        self._add(buffered=kept, dropped=dropped, unknown=unknown, failed=count)
        counts = {
            "marks buffered": kept,
            "marks of unknown outcome (timed out)": unknown,
            "marks dropped (buffer full)": dropped,
        }
        if error is not None:
            self.report.failed(error, counts)
        else:
            self.report.count(counts)
        self._ensure_retrying()

    def _add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self._counts, name, getattr(self._counts, name) + value)

    def _pending_line(self) -> str:
        return f"{len(self.buffer):,} marks wait in the replay buffer."

    def _totals_line(self) -> str:
        status = self.status()
        return (
            f"Since start: {status.written:,} marks written, {status.buffered:,} buffered, "
            f"{status.replayed:,} replayed, {status.dropped:,} dropped, {status.unknown:,} "
            f"of unknown outcome; {status.pending:,} wait in the buffer."
        )

    def _reinit_after_fork(self) -> None:
        # The child has no thread and must not wait on locks held by the parent's; the
        # parent keeps (and replays) what it buffered, the child starts empty.
        self._lock = threading.Lock()
        self._replaying = threading.Lock()
        self._thread = None
        self._stop = threading.Event()
        self._closed = False
        self._counts = _Counts()
        self.buffer._reinit_after_fork()
        self.report.after_fork()


def _retry_loop(ref: weakref.ref[MarkRecorder], stop: threading.Event) -> None:
    """The background thread: replay until the buffer is empty. It holds the recorder
    only while it works, so an app that is dropped takes its thread with it."""
    recorder = ref()
    if recorder is None:
        return
    gate = recorder.gate
    if gate is not None:
        gate.reserve_probes()
        first_wait = gate.retry_in()
    else:
        first_wait = RETRY_WAIT  # the write that failed was just tried
    del recorder
    try:
        stop.wait(first_wait)
        while not stop.is_set():
            recorder = ref()
            if recorder is None:
                return
            try:
                wait = recorder.retry_once()
            except Exception as exc:  # never let the thread die with marks waiting
                recorder.report.logger.exception("Flask-Bitmapist replay failed: %s", exc)
                wait = MAX_RETRY_WAIT
            if wait is None and recorder._retry_done():
                return
            del recorder
            stop.wait(wait or 0.0)
    finally:
        if gate is not None:
            gate.release_probes()


def _reinit_all_after_fork() -> None:
    for recorder in list(_RECORDERS):
        recorder._reinit_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_all_after_fork)
