"""RedisRepository against a real redis-server (side by side with bitmapist: bitmapist/)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from flask_bitmapist.domain import (
    BitmapId,
    BitmapRepository,
    Mark,
    StorageUnavailable,
    TimeGroup,
)
from flask_bitmapist.infra import RedisRepository
from tests.contract.repository_contract import RepositoryContract
from tests.integration.outages import never_skipping
from tests.integration.servers import LocalRedisServer, find_free_port
from tests.integration.support import NOW, stored


class TestRedisRepositoryContract(RepositoryContract):
    """Every contract test against the real server."""

    @pytest.fixture
    def repository(self, redis_url: str) -> Iterator[BitmapRepository]:
        with closing(RedisRepository.from_url(redis_url)) as repository:
            yield repository


@pytest.fixture
def repository(redis_url: str) -> Iterator[RedisRepository]:
    with closing(RedisRepository.from_url(redis_url)) as repository:
        yield repository


# -- a real server's particulars -------------------------------------------------------


def test_a_bulk_mark_spanning_many_chunks_lands_whole(repository: RedisRepository) -> None:
    count = 3 * repository.chunk_size + 17
    repository.mark(Mark.create("user:active", uid, NOW) for uid in range(count))
    assert stored(repository, "user:active", TimeGroup.MONTH, NOW) == list(range(count))


def test_a_write_error_from_the_server_is_raised_after_the_round_trip(
    repository: RedisRepository,
) -> None:
    # A key of another type makes BITFIELD fail; the other keys are written all the same.
    # Like every error reply, it is StorageUnavailable (marks fail open on it).
    repository.client.lpush("trackist_user:paid_2026-11", "not a bitmap")
    with pytest.raises(StorageUnavailable, match="WRONGTYPE") as caught:
        repository.mark([Mark.create("user:paid", 3, NOW)])
    assert isinstance(caught.value.__cause__, redis.exceptions.ResponseError)
    assert stored(repository, "user:paid", TimeGroup.DAY, NOW) == [3]
    repository.mark([Mark.create("user:paid", 4, NOW - timedelta(days=60))])
    assert stored(repository, "user:paid", TimeGroup.DAY, NOW - timedelta(days=60)) == [4]


def test_a_server_that_goes_away_raises_and_comes_back(tmp_path: Path) -> None:
    server = LocalRedisServer(tmp_path)
    server.start()
    repository = RedisRepository.from_url(server.url, breaker=never_skipping())
    try:
        repository.mark([Mark.create("user:paid", 1, NOW)])
        server.kill()
        with pytest.raises(StorageUnavailable, match=f"127.0.0.1:{server.port}") as caught:
            repository.mark([Mark.create("user:paid", 2, NOW)])
        assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
        with pytest.raises(StorageUnavailable):
            repository.fetch([BitmapId("user:paid", None)])
        server.restart()
        # The pool's dead connections are replaced without the caller noticing.
        repository.mark([Mark.create("user:paid", 3, NOW)])
        assert stored(repository, "user:paid", TimeGroup.DAY, NOW) == [3]
    finally:
        repository.close()
        server.stop()


# -- connections: unix socket, password, db, TLS -------------------------------------


class SecuredRedisServer(LocalRedisServer):
    """A redis-server that also listens on a unix socket and on a TLS port."""

    def __init__(self, workdir: Path, certificates: Path) -> None:
        super().__init__(workdir)
        self.socket_path = workdir / "redis.sock"
        self.certificates = certificates
        self.tls_port = 0

    def _command(self) -> list[str]:
        if not self.tls_port:
            self.tls_port = find_free_port()
        return [
            *super()._command(),
            *("--unixsocket", str(self.socket_path), "--unixsocketperm", "700"),
            *("--tls-port", str(self.tls_port), "--tls-auth-clients", "no"),
            *("--tls-cert-file", str(self.certificates / "server.crt")),
            *("--tls-key-file", str(self.certificates / "server.key")),
            *("--tls-ca-cert-file", str(self.certificates / "ca.crt")),
        ]


def make_certificates(directory: Path) -> Path:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is needed to make TLS certificates for the rediss:// test")
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.crt")  # fmt: skip
    return directory


PASSWORD = "s3cret-pass"


@pytest.fixture(scope="module")
def secured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredRedisServer]:
    """A password-protected server on TCP, a unix socket and TLS."""
    workdir = tmp_path_factory.mktemp("redis-secured")
    server = SecuredRedisServer(workdir, make_certificates(workdir / "certs"))
    server.start()
    try:
        with server.client() as client:
            client.config_set("requirepass", PASSWORD)
        yield server
    finally:
        server.stop()


@pytest.fixture
def connect(secured_server: SecuredRedisServer) -> Iterator[Callable[[str], RedisRepository]]:
    """Opens repositories on the secured server and closes them after the test."""
    opened: list[RedisRepository] = []

    def open_repository(url: str) -> RedisRepository:
        opened.append(RedisRepository.from_url(url))
        return opened[-1]

    yield open_repository
    for repository in opened:
        repository.close()


def plain_client(server: SecuredRedisServer, db: int) -> redis.Redis:
    return redis.Redis(port=server.port, password=PASSWORD, db=db)


def test_a_unix_socket_url_with_password_and_db(
    secured_server: SecuredRedisServer, connect: Callable[[str], RedisRepository]
) -> None:
    repository = connect(f"unix://:{PASSWORD}@{secured_server.socket_path}?db=3")
    repository.mark([Mark.create("user:paid", 11, NOW)])
    assert stored(repository, "user:paid", TimeGroup.DAY, NOW) == [11]
    with plain_client(secured_server, 3) as db3, plain_client(secured_server, 0) as db0:
        assert db3.getbit("trackist_user:paid_2026-11-27", 11) == 1
        assert db0.dbsize() == 0


def test_a_tcp_url_with_password_and_db(
    secured_server: SecuredRedisServer, connect: Callable[[str], RedisRepository]
) -> None:
    repository = connect(f"redis://:{PASSWORD}@127.0.0.1:{secured_server.port}/5")
    repository.mark([Mark.create("user:paid", 12, NOW)])
    with plain_client(secured_server, 5) as db5:
        assert db5.exists("trackist_user:paid_2026-11-27")


def test_a_wrong_password_is_storage_unavailable(
    secured_server: SecuredRedisServer, connect: Callable[[str], RedisRepository]
) -> None:
    repository = connect(f"redis://:wrong@127.0.0.1:{secured_server.port}/0")
    with pytest.raises(StorageUnavailable, match="invalid username-password") as caught:
        repository.event_names()
    assert "wrong" not in str(caught.value).replace("invalid username-password", "")


def test_a_rediss_url_speaks_tls(
    secured_server: SecuredRedisServer, connect: Callable[[str], RedisRepository]
) -> None:
    ca = secured_server.certificates / "ca.crt"
    port = secured_server.tls_port
    repository = connect(f"rediss://:{PASSWORD}@127.0.0.1:{port}/1?ssl_ca_certs={ca}")
    repository.mark([Mark.create("user:paid", 13, NOW)])
    assert stored(repository, "user:paid", TimeGroup.DAY, NOW) == [13]
    with plain_client(secured_server, 1) as db1:
        assert db1.exists("trackist_user:paid_2026-11-27")
