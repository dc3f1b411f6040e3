"""A fake Redis on a loopback port, for tests of what a dropped connection or a slow reply
does to the counters: it speaks just enough RESP, and every step waits on a socket or an
event, never on a clock."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import BinaryIO

#: What a client sends on connecting; answered +OK, except HELLO: refused as a Redis
#: before 6 refuses it, so that redis-py 8 (RESP3 by default) falls back to RESP2.
HANDSHAKE = {b"CLIENT", b"SELECT", b"PING", b"AUTH", b"HELLO"}
REFUSED_HELLO = b"-ERR unknown command 'HELLO'\r\n"

#: What the server does with a command that is not the handshake: return the reply to
#: send, or None to close the connection without one.
Handler = Callable[[list[bytes]], bytes | None]


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


class FakeRedis:
    """Accepts one connection and stops listening (a retry's reconnect is refused),
    answers the handshake, and hands every other command to ``handler``. Commands are
    kept in ``received``. Use as a context manager: leaving it joins its thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)  # a test that never connects still ends
        self.port: int = self.listener.getsockname()[1]
        self.received: list[list[bytes]] = []
        self.thread = threading.Thread(target=self._serve, name="fake-redis")
        self.thread.start()

    def _serve(self) -> None:
        try:
            connection, _ = self.listener.accept()
        finally:
            self.listener.close()
        with connection, connection.makefile("rb") as stream:
            while command := read_command(stream):
                if command[0].upper() in HANDSHAKE:
                    hello = command[0].upper() == b"HELLO"
                    connection.sendall(REFUSED_HELLO if hello else b"+OK\r\n")
                    continue
                self.received.append(command)
                reply = self.handler(command)
                if reply is None:
                    return  # the command was read; the connection closes unanswered
                connection.sendall(reply)

    def __enter__(self) -> FakeRedis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(10)
        assert not self.thread.is_alive(), "the fake Redis did not finish"
