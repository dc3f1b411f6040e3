"""``unknown`` counts exactly the marks whose write reached the server before the
connection dropped, even when the client's retry then finds the server gone.

A fake server on a loopback port answers the client's handshake, reads the write, stops
listening and closes the connection: the client's one retry is refused, and its last
error ("Error 111 connecting") says nothing of the first try, which was sent. No sleeps:
every step waits on the other side's socket.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import BinaryIO

import pytest
import redis

from flask_bitmapist.infra import RedisIdMapper, RedisRepository
from flask_bitmapist.infra._redis_common import LostAfterSending, outcome_unknown
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.urls import transport_from_url
from flask_bitmapist.services.failures import OutageReport
from flask_bitmapist.services.marking import MarkingPolicy
from flask_bitmapist.services.replay import MarkRecorder

NOW = datetime(2026, 11, 27, 13, 5, tzinfo=timezone.utc)
POLICY = MarkingPolicy()
SILENT = logging.getLogger("tests.unknown_outcome.silent")
SILENT.disabled = True
#: What a client sends on connecting; answered +OK. Anything else is the write.
HANDSHAKE = {b"CLIENT", b"SELECT", b"PING", b"AUTH", b"HELLO"}


def read_command(stream: BinaryIO) -> list[bytes]:
    """One RESP command (an array of bulk strings); [] when the client went away."""
    header = stream.readline()
    if not header:
        return []
    assert header.startswith(b"*"), header
    parts = []
    for _ in range(int(header[1:])):
        size = int(stream.readline()[1:])
        parts.append(stream.read(size + 2)[:-2])
    return parts


class ClosingServer:
    """Accepts one connection, stops listening, answers the handshake, reads the first
    other command, then closes the connection (``received`` holds that command)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, name="closing-redis")
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        self.listener.close()  # the client's retry will be refused
        with connection, connection.makefile("rb") as stream:
            while command := read_command(stream):
                if command[0].upper() not in HANDSHAKE:
                    self.received = command
                    return  # closing the connection: the command was read, no reply
                connection.sendall(b"+OK\r\n")


@pytest.fixture
def server() -> Iterator[ClosingServer]:
    fake = ClosingServer()
    yield fake
    fake.thread.join(10)
    assert not fake.thread.is_alive()


def recorder_for(port: int, *, mapped: bool = False) -> tuple[MarkRecorder, RedisRepository]:
    # A breaker that never skips: each test makes exactly one write.
    transport = transport_from_url(
        f"redis://127.0.0.1:{port}/0", breaker=CircuitBreaker(interval=0, max_interval=0)
    )
    repository = RedisRepository(transport)
    recorder = MarkRecorder(
        repository,
        policy=MarkingPolicy(map_ids=True) if mapped else POLICY,
        report=OutageReport("storage", interval=60.0, logger=SILENT),
        id_mapper=RedisIdMapper(transport) if mapped else None,
        background=False,
    )
    return recorder, repository


@pytest.mark.parametrize(
    ("unmark", "mapped"),
    [(False, False), (True, False), (False, True)],
    ids=["mark", "unmark", "mark with mapped ids"],
)
def test_a_write_sent_before_the_connection_dropped_is_unknown(
    server: ClosingServer, unmark: bool, mapped: bool
) -> None:
    recorder, repository = recorder_for(server.port, mapped=mapped)
    user: int | str = "alice" if mapped else 7
    recorder.record([recorder.policy.pending("e", user, NOW)], unmark=unmark)
    repository.transport.close()
    status = recorder.status()
    assert server.received, "the write reached the server"
    assert (status.unknown, status.buffered, status.written) == (1, 1, 0)


def test_a_write_never_sent_is_not_unknown(refused_port: int) -> None:
    recorder, repository = recorder_for(refused_port)
    recorder.record([POLICY.pending("e", 7, NOW)])
    repository.transport.close()
    status = recorder.status()
    assert (status.unknown, status.buffered, status.written) == (0, 1, 0)


def test_the_retrys_connect_error_is_raised_as_lost_after_sending(
    server: ClosingServer,
) -> None:
    transport = transport_from_url(f"redis://127.0.0.1:{server.port}/0")
    with pytest.raises(LostAfterSending) as caught:
        transport.client.set("k", "v")
    transport.close()
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
    assert "connecting" in str(caught.value.__cause__)  # what redis-py alone would raise
    assert outcome_unknown(caught.value)
    assert server.received[0].upper() == b"SET"
