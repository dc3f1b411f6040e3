"""The replay buffer and the recorder: marks kept in order while storage is away, written
again once it answers, overflow dropped oldest first, and counters that add up."""

from __future__ import annotations

import copy
import gc
import logging
import os
import threading
from collections.abc import Iterable
from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import (
    BitmapId,
    InvalidUserId,
    Mark,
    Period,
    StorageUnavailable,
    TimeGroup,
)
from flask_bitmapist.infra import InMemoryIdMapper, InMemoryRepository
from flask_bitmapist.services.failures import OutageReport
from flask_bitmapist.services.marking import MarkingPolicy, PendingMark
from flask_bitmapist.services.replay import MarkRecorder, ReplayBuffer

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=timezone.utc)
DAY = BitmapId("e", Period.containing(TimeGroup.DAY, NOW))
POLICY = MarkingPolicy()
LOGGER = logging.getLogger("flask_bitmapist")
# Makes no records: a record captured by pytest would keep the failed write's traceback,
# and with it the recorder, alive.
SILENT = logging.getLogger("tests.replay.silent")
SILENT.disabled = True


class Store(InMemoryRepository):
    """The in-process store; while ``down``, every write raises ``error`` (and is logged
    in ``calls``)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.error: Exception = StorageUnavailable("connection refused (test)")
        self.calls: list[tuple[str, list[int]]] = []

    def _call(self, kind: str, marks: Iterable[Mark]) -> list[Mark]:
        marks = list(marks)
        self.calls.append((kind, [m.user_id for m in marks]))
        if self.down:
            raise copy.copy(self.error)  # a new one each time, as a driver raises
        return marks

    def mark(self, marks: Iterable[Mark]) -> None:
        super().mark(self._call("mark", marks))

    def unmark(self, marks: Iterable[Mark]) -> None:
        super().unmark(self._call("unmark", marks))


class Gate:
    """A breaker stand-in: open or not, as the test says."""

    def __init__(self) -> None:
        self.is_open = False
        self.reserved: list[int] = []

    def retry_in(self) -> float:
        return 0.0

    def reserve_probes(self) -> None:
        self.reserved.append(threading.get_ident())

    def release_probes(self) -> None:
        self.reserved.remove(threading.get_ident())


def marks(*users: int) -> list[PendingMark]:
    return [POLICY.pending("e", user, NOW) for user in users]


def recorder(store: Store, capacity: int = 100, **options: object) -> MarkRecorder:
    report = OutageReport("storage", interval=60.0, logger=options.pop("logger", LOGGER))  # type: ignore[arg-type]
    options.setdefault("background", False)
    return MarkRecorder(store, policy=POLICY, report=report, capacity=capacity, **options)  # type: ignore[arg-type]


def day(store: Store) -> list[int]:
    return list(store.fetch([DAY])[0])


def test_marks_written_at_once_are_counted_written() -> None:
    store = Store()
    rec = recorder(store)
    rec.record(marks(1, 2))
    status = rec.status()
    assert (status.written, status.buffered, status.pending, rec.failed_marks) == (2, 0, 0, 0)
    assert day(store) == [1, 2]


def test_marks_wait_while_storage_is_down_and_are_replayed_in_order() -> None:
    store = Store()
    rec = recorder(store)
    store.down = True
    rec.record(marks(1))
    rec.record(marks(1), unmark=True)
    rec.record(marks(1, 2))
    rec.record(marks(2), unmark=True)
    assert rec.status().pending == 5
    store.down = False
    store.calls.clear()
    assert rec.replay() == 5
    # Runs of one kind, in the order they were made: the bit of 1 ends set, of 2 cleared.
    assert store.calls == [("mark", [1]), ("unmark", [1]), ("mark", [1, 2]), ("unmark", [2])]
    assert day(store) == [1]
    status = rec.status()
    assert (status.written, status.buffered, status.replayed, status.dropped) == (0, 5, 5, 0)


def test_the_next_write_replays_what_waits_first() -> None:
    store = Store()
    rec = recorder(store)
    store.down = True
    rec.record(marks(1))
    store.down = False
    store.calls.clear()
    rec.record(marks(2))
    assert store.calls == [("mark", [1, 2])]  # queued behind, written together
    assert day(store) == [1, 2]
    assert rec.status().replayed == 2


def test_a_full_buffer_drops_the_oldest_marks_and_counts_them() -> None:
    store = Store()
    rec = recorder(store, capacity=5)
    store.down = True
    for user in range(1, 9):
        rec.record(marks(user))
    status = rec.status()
    assert (status.buffered, status.dropped, status.pending) == (8, 3, 5)
    store.down = False
    rec.replay()
    assert day(store) == [4, 5, 6, 7, 8]  # 1, 2 and 3 were the oldest
    status = rec.status()
    assert (status.replayed, status.dropped, status.pending) == (5, 3, 0)
    assert status.written + status.replayed + status.dropped == 8


def test_without_a_buffer_failed_marks_are_dropped() -> None:
    store = Store()
    rec = recorder(store, capacity=0)
    store.down = True
    rec.record(marks(1, 2))
    status = rec.status()
    assert (status.buffered, status.dropped, status.pending, rec.failed_marks) == (0, 2, 0, 2)


def test_timed_out_writes_are_counted_unknown_and_buffered() -> None:
    store = Store()
    rec = recorder(store)
    store.down = True
    store.error = StorageUnavailable("Timeout reading from socket", outcome_unknown=True)
    rec.record(marks(1, 2))
    store.error = StorageUnavailable("connection refused")
    rec.record(marks(3))
    status = rec.status()
    assert (status.unknown, status.buffered, status.dropped) == (2, 3, 0)


def test_marks_storage_refuses_are_dropped_not_buffered_and_do_not_block_the_rest() -> None:
    store = Store()
    rec = recorder(store)
    store.down = True
    store.error = InvalidUserId("cannot map more user ids")
    rec.record(marks(1))
    assert (rec.status().dropped, rec.status().pending) == (1, 0)
    store.error = StorageUnavailable("refused")
    rec.record(marks(2))
    store.error = InvalidUserId("cannot map more user ids")
    rec.replay()  # the head is refused for good: dropped, not retried forever
    status = rec.status()
    assert (status.dropped, status.pending) == (2, 0)


def test_while_the_breaker_is_open_marks_go_straight_to_the_buffer() -> None:
    store = Store()
    gate = Gate()
    rec = recorder(store, gate=gate)
    gate.is_open = True
    rec.record(marks(1, 2))
    assert store.calls == []  # not even tried
    assert (rec.status().pending, rec.status().breaker_open) == (2, True)
    assert rec.retry_once() == 0.0  # due: the background step replays as the probe
    assert day(store) == [1, 2]
    assert rec.retry_once() is None


def test_raise_on_error_raises_and_buffers_nothing() -> None:
    store = Store()
    rec = recorder(store, raise_on_error=True)
    store.down = True
    with pytest.raises(StorageUnavailable):
        rec.record(marks(1))
    assert (rec.status().pending, rec.failed_marks) == (0, 0)


def test_mapped_ids_are_mapped_when_replayed() -> None:
    store = Store()
    policy = MarkingPolicy(map_ids=True)
    rec = MarkRecorder(
        store,
        policy=policy,
        report=OutageReport("storage", interval=60.0),
        id_mapper=InMemoryIdMapper(),
        background=False,
    )
    store.down = True
    rec.record([policy.pending("e", "alice", NOW), policy.pending("e", "bob", NOW)])
    store.down = False
    rec.replay()
    assert day(store) == [0, 1]


def test_the_background_thread_replays_then_stops(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="flask_bitmapist")
    store = Store()
    gate = Gate()
    rec = recorder(store, gate=gate, background=True)
    store.down = True
    rec.record(marks(1))
    thread = rec._thread
    assert thread is not None and thread.daemon and thread.name == "flask-bitmapist-replay"
    store.down = False
    thread.join(10)  # bounded: it replays, then ends with nothing left
    assert not thread.is_alive()
    assert day(store) == [1] and rec.status().replayed == 1
    assert gate.reserved == []  # probes released when it stopped
    assert "answers again" in caplog.records[-1].getMessage()


def test_close_stops_the_background_thread_while_storage_stays_down() -> None:
    store = Store()
    rec = recorder(store, background=True)
    store.down = True
    rec.record(marks(1))
    thread = rec._thread
    assert thread is not None
    rec.close(timeout=5)
    assert not thread.is_alive()
    assert rec.status().pending == 1  # kept for a later replay, or lost with the process


def test_a_dropped_recorder_takes_its_thread_with_it() -> None:
    store = Store()
    rec = recorder(store, background=True, logger=SILENT)
    store.down = True
    rec.record(marks(1))
    thread = rec._thread
    assert thread is not None
    del rec
    gc.collect()
    thread.join(10)  # it wakes within its wait (0.5 s, then up to 5 s) and finds no one
    assert not thread.is_alive()


def test_no_thread_is_started_before_something_waits() -> None:
    before = {t.name for t in threading.enumerate()}
    rec = recorder(Store(), background=True)
    rec.record(marks(1))
    assert "flask-bitmapist-replay" not in {t.name for t in threading.enumerate()} - before
    assert rec._thread is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_starts_empty_with_working_locks() -> None:
    store = Store()
    rec = recorder(store, background=True)
    store.down = True
    rec.record(marks(1))
    held = threading.Event()
    release = threading.Event()

    def hold_the_lock() -> None:
        with rec._lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    held.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: no thread, nothing buffered, locks not held
        code = 1
        try:
            status = rec.status()
            rec.record(marks(2))
            code = 0 if status.pending == 0 and rec._thread is not None else 2
            rec.close(timeout=1)
        finally:
            os._exit(code)
    release.set()
    holder.join()
    _, exit_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(exit_status) == 0
    assert rec.status().pending == 1  # the parent keeps its own
    rec.close()


def test_the_buffer_hands_out_runs_of_one_kind() -> None:
    buffer = ReplayBuffer(10)
    buffer.add(marks(1, 2), unmark=False)
    buffer.add(marks(3), unmark=True)
    head = buffer.head(10)
    assert head is not None
    unmark, taken, last = head
    assert (unmark, [m.user_id for m in taken]) == (False, [1, 2])
    assert buffer.settle(last, done=True) == (2, 0)
    assert buffer.head(10) is not None and len(buffer) == 1


def test_marks_pushed_out_while_in_flight_are_settled_by_how_the_write_went() -> None:
    buffer = ReplayBuffer(2)
    buffer.add(marks(1, 2), unmark=False)
    head = buffer.head(10)
    assert head is not None
    # Both in flight are pushed out; neither is dropped yet.
    assert buffer.add(marks(3, 4), unmark=False) == (2, 0)
    assert buffer.settle(head[2], done=True) == (2, 0)
    head = buffer.head(1)
    assert head is not None and [m.user_id for m in head[1]] == [3]
    assert buffer.add(marks(5), unmark=False) == (1, 0)  # 3 is pushed out, in flight
    assert buffer.settle(head[2], done=False) == (0, 1)  # its write failed: lost
    assert buffer.add(marks(6), unmark=False) == (1, 1)  # nothing in flight: 4 dropped


def test_counters_add_up_under_concurrent_marking() -> None:
    store = Store()
    rec = recorder(store, capacity=10_000)
    flips = threading.Event()

    def mark_many(offset: int) -> None:
        for user in range(offset, offset + 500):
            rec.record(marks(user))
            if user % 50 == 0:
                store.down = not store.down
        flips.set()

    threads = [threading.Thread(target=mark_many, args=(n * 1000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.down = False
    rec.replay()
    status = rec.status()
    assert status.pending == 0 and status.dropped == 0
    assert status.written + status.replayed == 2000
    assert day(store) == sorted(n * 1000 + u for n in range(4) for u in range(500))


def test_status_is_a_plain_dict_for_json() -> None:
    status = recorder(Store()).status().as_dict()
    assert set(status) == {
        "written",
        "buffered",
        "replayed",
        "dropped",
        "unknown",
        "pending",
        "capacity",
        "breaker_open",
        "retry_in",
    }


class MarkingDuringTheWrite(Store):
    """A store whose first write after ``arm`` runs ``during`` before it lands (or fails):
    what another thread does while a replay is on its way, without threads."""

    def __init__(self) -> None:
        super().__init__()
        self.during: list[object] = []
        self.fail_that_write = False

    def mark(self, marks: Iterable[Mark]) -> None:
        if self.during:
            action = self.during.pop()
            action()  # type: ignore[operator]
            if self.fail_that_write:
                self.fail_that_write = False
                raise StorageUnavailable("connection lost (test)")
        super().mark(marks)


@pytest.mark.parametrize("write_works", [True, False], ids=["the write lands", "it fails"])
def test_dropped_counts_exactly_the_marks_never_written(write_works: bool) -> None:
    store = MarkingDuringTheWrite()
    rec = recorder(store, capacity=10)
    store.down = True
    rec.record(marks(*range(10)))  # a full buffer
    store.down = False
    # While the replay of 0..9 is on its way, 15 more marks arrive: 0..9 are pushed out
    # (in flight) and 10..14 too (waiting).
    store.during.append(lambda: rec.record(marks(*range(10, 25))))
    store.fail_that_write = not write_works
    rec.replay()
    rec.replay()  # what is left, once the store answers
    status = rec.status()
    stored = set(day(store))
    assert status.pending == 0
    assert status.dropped == 25 - len(stored)
    assert status.replayed == len(stored)
    assert stored == set(range(15, 25)) | (set(range(10)) if write_works else set())


def test_close_with_discard_drops_what_waits_and_no_thread_starts_again() -> None:
    store = Store()
    rec = recorder(store, background=True, logger=SILENT)
    store.down = True
    rec.record(marks(1, 2))
    thread = rec._thread
    assert thread is not None
    assert rec.close(timeout=5, discard=True) == 2
    assert not thread.is_alive()
    rec.record(marks(3))  # still buffered, but no thread replays it
    assert rec._thread is None
    store.down = False
    rec.replay()  # only an explicit replay (or the next write) does
    status = rec.status()
    assert (status.dropped, status.replayed, status.pending) == (2, 1, 0)
    assert day(store) == [3]
