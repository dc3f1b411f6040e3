"""The counters are exact under the faults that used to skew them, shown on a fake Redis
(``tests/unit/infra/fake_redis.py``) that reads each command and then answers, waits, or
closes the connection. No sleeps: every step waits on the other side's socket or an event.

- ``unknown``: a write that reached the server before the connection dropped may have
  been applied, even when the client's retry then finds the server gone and its last
  error ("Error 111 connecting") says nothing was sent.
- ``dropped``: marks that overflow pushes out of a full buffer while their replay is on
  its way are written by that replay, so they are not dropped.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

import pytest
import redis

from flask_bitmapist.infra import RedisIdMapper, RedisRepository
from flask_bitmapist.infra._redis_common import LostAfterSending, outcome_unknown
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.urls import transport_from_url
from flask_bitmapist.services.failures import OutageReport
from flask_bitmapist.services.marking import MarkingPolicy, PendingMark
from flask_bitmapist.services.replay import MarkRecorder
from tests.unit.infra.fake_redis import FakeRedis

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=timezone.utc)
POLICY = MarkingPolicy()
SILENT = logging.getLogger("tests.fake_server.silent")
SILENT.disabled = True


def close_unanswered(command: list[bytes]) -> None:
    return None


def recorder_for(
    port: int, *, mapped: bool = False, capacity: int = 100
) -> tuple[MarkRecorder, RedisRepository]:
    # A breaker that never skips: every write goes to the server.
    transport = transport_from_url(
        f"redis://127.0.0.1:{port}/0", breaker=CircuitBreaker(interval=0, max_interval=0)
    )
    repository = RedisRepository(transport)
    recorder = MarkRecorder(
        repository,
        policy=MarkingPolicy(map_ids=True) if mapped else POLICY,
        report=OutageReport("storage", interval=60.0, logger=SILENT),
        id_mapper=RedisIdMapper(transport) if mapped else None,
        capacity=capacity,
        background=False,
    )
    return recorder, repository


def marks(*users: int) -> list[PendingMark]:
    return [POLICY.pending("e", user, NOW) for user in users]


# -- unknown ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unmark", "mapped"),
    [(False, False), (True, False), (False, True)],
    ids=["mark", "unmark", "mark with mapped ids"],
)
def test_a_write_sent_before_the_connection_dropped_is_unknown(unmark: bool, mapped: bool) -> None:
    with FakeRedis(close_unanswered) as server:
        recorder, repository = recorder_for(server.port, mapped=mapped)
        user: int | str = "alice" if mapped else 7
        recorder.record([recorder.policy.pending("e", user, NOW)], unmark=unmark)
        repository.transport.close()
    status = recorder.status()
    assert server.received, "the write reached the server"
    assert (status.unknown, status.buffered, status.written) == (1, 1, 0)


def test_a_write_never_sent_is_not_unknown(refused_port: int) -> None:
    recorder, repository = recorder_for(refused_port)
    recorder.record(marks(7))
    repository.transport.close()
    status = recorder.status()
    assert (status.unknown, status.buffered, status.written) == (0, 1, 0)


def test_the_retrys_connect_error_is_raised_as_lost_after_sending() -> None:
    with FakeRedis(close_unanswered) as server:
        transport = transport_from_url(f"redis://127.0.0.1:{server.port}/0")
        with pytest.raises(LostAfterSending) as caught:
            transport.client.set("k", "v")
        transport.close()
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
    assert "connecting" in str(caught.value.__cause__)  # what redis-py alone would raise
    assert outcome_unknown(caught.value)
    assert server.received[0][0].upper() == b"SET"


# -- dropped ---------------------------------------------------------------------------


class HeldReplies:
    """Answers BITFIELD as Redis does (one 0 per SET), holding the first reply until
    ``go`` is set; ``users`` collects the day key's offsets that were set."""

    def __init__(self, day_key: bytes) -> None:
        self.day_key = day_key
        self.first_read = threading.Event()
        self.go = threading.Event()
        self.users: set[int] = set()

    def __call__(self, command: list[bytes]) -> bytes:
        assert command[0].upper() == b"BITFIELD", command
        offsets = [int(offset) for offset in command[4::4]]  # SET u1 <offset> 1
        if command[1] == self.day_key:
            self.users.update(offsets)
        if not self.first_read.is_set():
            self.first_read.set()
            assert self.go.wait(10)
        return b"*%d\r\n" % len(offsets) + b":0\r\n" * len(offsets)


def test_marks_pushed_out_while_their_replay_lands_are_replayed_not_dropped() -> None:
    day_key = b"trackist_e_2026-11-27"
    replies = HeldReplies(day_key)
    with FakeRedis(replies) as server:
        recorder, repository = recorder_for(server.port, capacity=10)
        # Ten marks wait (as after an outage): a full buffer.
        recorder.buffer.add(marks(*range(10)), unmark=False)
        replay = threading.Thread(target=recorder.replay)
        replay.start()
        assert replies.first_read.wait(10)  # their replay is on its way...
        recorder.record(marks(*range(10, 25)))  # ...when 15 more push out 0..14
        replies.go.set()
        replay.join(10)
        recorder.replay()  # what is left
        repository.transport.close()
    status = recorder.status()
    assert status.pending == 0
    assert replies.users == set(range(10)) | set(range(15, 25))  # 10..14: lost waiting
    assert status.dropped == 5
    assert status.replayed == len(replies.users) == 20
