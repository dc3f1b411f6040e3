"""RedisRepository against a real redis-server, and side by side with bitmapist 3.x."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import bitmapist
import bitmapist.cohort
import pytest
import redis

from flask_bitmapist.domain import (
    BitmapId,
    BitmapRepository,
    CohortEngine,
    CohortMode,
    CohortSpec,
    EventRef,
    Mark,
    Period,
    StorageUnavailable,
    TimeGroup,
)
from flask_bitmapist.infra import RedisRepository
from tests.contract.repository_contract import RepositoryContract
from tests.integration.servers import LocalRedisServer, find_free_port

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


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


@pytest.fixture
def bitmapist_on_test_server(redis_url: str) -> Iterator[redis.Redis]:
    """bitmapist's default system pointed at the test server (restored afterwards)."""
    client = redis.Redis.from_url(redis_url)
    saved = bitmapist.SYSTEMS["default"]
    bitmapist.SYSTEMS["default"] = client
    try:
        yield client
    finally:
        bitmapist.SYSTEMS["default"] = saved
        client.close()


def stored(
    repository: RedisRepository, event: str, group: TimeGroup | None, moment: datetime
) -> list[int]:
    period = None if group is None else Period.containing(group, moment)
    [bitmap] = repository.fetch([BitmapId(event, period)])
    return list(bitmap)


# Moments around new year in both directions: ISO year behind and ahead of the calendar.
AROUND_NEW_YEAR = [
    datetime(2026, 12, 28, 9, tzinfo=timezone.utc),  # W2026-53
    datetime(2027, 1, 1, 23, tzinfo=timezone.utc),  # W2026-53, calendar 2027
    datetime(2027, 1, 4, 0, tzinfo=timezone.utc),  # W2027-1
    datetime(2019, 12, 30, 12, tzinfo=timezone.utc),  # W2020-1, calendar 2019
    NOW,
]


# -- bitmapist -> us ---------------------------------------------------------------


@pytest.mark.usefixtures("bitmapist_on_test_server")
@pytest.mark.parametrize("moment", AROUND_NEW_YEAR, ids=lambda m: m.date().isoformat())
def test_we_read_what_bitmapist_marked(repository: RedisRepository, moment: datetime) -> None:
    for uid in (0, 5, 1000):
        bitmapist.mark_event("user:paid", uid, now=moment, track_hourly=True, track_unique=True)
    bitmapist.mark_event("user:paid", 77, now=moment - timedelta(days=40))

    for group in (TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY, TimeGroup.HOUR, None):
        assert stored(repository, "user:paid", group, moment) == [0, 5, 1000], group
    assert stored(repository, "user:paid", TimeGroup.DAY, moment - timedelta(days=40)) == [77]
    assert repository.event_names() == frozenset({"user:paid"})


def test_event_names_agree_with_bitmapist(
    repository: RedisRepository, bitmapist_on_test_server: redis.Redis
) -> None:
    for name in ("active", "user:signed_up", "song_played_2026"):
        bitmapist.mark_event(name, 1, now=NOW, track_hourly=True, track_unique=True)
    # A bitmapist bit operation leaves a temporary trackist_bitop_ key behind.
    bitmapist.BitOpAnd(
        bitmapist.DayEvents("active", 2026, 11, 27),
        bitmapist.DayEvents("user:signed_up", 2026, 11, 27),
    )
    assert any(key.startswith(b"trackist_bitop_") for key in bitmapist_on_test_server.scan_iter())
    expected = frozenset({"active", "user:signed_up", "song_played_2026"})
    assert repository.event_names() == expected
    assert frozenset(bitmapist.get_event_names()) == expected


def test_events_bitmapist_named_with_spaces_are_listed_read_and_queried(
    repository: RedisRepository, bitmapist_on_test_server: redis.Redis
) -> None:
    # bitmapist accepts any event name; ours refuses spaces only when writing.
    for uid in (1, 7):
        bitmapist.mark_event("signed up", uid, now=NOW - timedelta(days=1))
    bitmapist.mark_event("song played", 7, now=NOW, track_hourly=True, track_unique=True)
    bitmapist.mark_event("song played", 9, now=NOW)

    expected = frozenset({"signed up", "song played"})
    assert repository.event_names() == expected
    assert frozenset(bitmapist.get_event_names()) == expected
    for group in (TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY):
        assert stored(repository, "song played", group, NOW) == [7, 9], group
    assert stored(repository, "song played", TimeGroup.HOUR, NOW) == [7]
    assert stored(repository, "song played", None, NOW) == [7]

    spec = CohortSpec.create(
        EventRef("signed up"),
        EventRef("song played"),
        now=NOW,
        time_group="days",
        rows=2,
        cols=2,
        mode=CohortMode.RECURRING,
    )
    cohort = CohortEngine(repository).compute(spec)
    assert cohort.totals == (2, 0)
    assert cohort.cells == ((0, 1), (None, None))


# -- us -> bitmapist ---------------------------------------------------------------


@pytest.mark.usefixtures("bitmapist_on_test_server")
@pytest.mark.parametrize("moment", AROUND_NEW_YEAR, ids=lambda m: m.date().isoformat())
def test_bitmapist_reads_what_we_marked(repository: RedisRepository, moment: datetime) -> None:
    repository.mark(
        Mark.create("user:paid", uid, moment, hourly=True, unique=True) for uid in (0, 5, 1000)
    )
    iso_year, iso_week, _ = moment.isocalendar()
    views: list[Any] = [
        bitmapist.MonthEvents("user:paid", moment.year, moment.month),
        bitmapist.WeekEvents("user:paid", iso_year, iso_week),
        bitmapist.DayEvents("user:paid", moment.year, moment.month, moment.day),
        bitmapist.HourEvents("user:paid", moment.year, moment.month, moment.day, moment.hour),
        bitmapist.UniqueEvents("user:paid"),
    ]
    for view in views:
        assert list(view) == [0, 5, 1000], view.redis_key
        assert len(view) == 3
        assert 5 in view
        assert 6 not in view
    assert bitmapist.WeekEvents.from_date("user:paid", moment).redis_key == views[1].redis_key


@pytest.mark.usefixtures("bitmapist_on_test_server")
def test_bitmapist_sees_our_unmarks(repository: RedisRepository) -> None:
    repository.mark(Mark.create("user:paid", uid, NOW) for uid in (1, 2))
    repository.unmark([Mark.create("user:paid", 1, NOW)])
    assert list(bitmapist.DayEvents("user:paid", 2026, 11, 27)) == [2]
    assert list(bitmapist.MonthEvents("user:paid", 2026, 11)) == [2]


@pytest.mark.usefixtures("bitmapist_on_test_server")
def test_our_recurring_cohort_matches_bitmapists_cohort(repository: RedisRepository) -> None:
    # Signups on each of the last 7 days (ids grow with time), activity thinning with age.
    days = [NOW - timedelta(days=6 - d) for d in range(7)]
    marks = []
    for d, day in enumerate(days):
        signed_up = range(d * 50, d * 50 + 50 - 5 * d)
        marks += [Mark.create("user:signup", uid, day) for uid in signed_up]
        for later in range(d, 7):
            marks += [
                Mark.create("user:active", uid, days[later])
                for uid in signed_up
                if uid % (later - d + 1) == 0
            ]
    repository.mark(marks)

    spec = CohortSpec.create(
        EventRef("user:signup"),
        EventRef("user:active"),
        now=NOW,
        time_group="days",
        rows=7,
        cols=7,
        mode=CohortMode.RECURRING,
    )
    ours = CohortEngine(repository).compute(spec)
    theirs = bitmapist.cohort.get_dates_data(
        "user:signup",
        "user:active",
        time_group="days",
        as_percent=False,
        num_results=7,
        num_of_rows=6,
        start_date=days[0].strftime("%Y-%m-%d"),
    )
    assert [row[1] for row in theirs] == list(ours.totals)
    for our_row, their_row in zip(ours.cells, theirs, strict=True):
        # bitmapist leaves '' where the secondary event has no data (the future included).
        assert [c or 0 for c in our_row] == [int(c or 0) for c in their_row[2:]]
    assert ours.cells[0][:3] == (50, 25, 17)
    assert ours.cells[6][1] is None


# -- a real server's particulars -------------------------------------------------------


def test_a_bulk_mark_spanning_many_chunks_lands_whole(repository: RedisRepository) -> None:
    count = 3 * repository.chunk_size + 17
    repository.mark(Mark.create("user:active", uid, NOW) for uid in range(count))
    assert stored(repository, "user:active", TimeGroup.MONTH, NOW) == list(range(count))


def test_a_write_error_from_the_server_is_raised_after_the_round_trip(
    repository: RedisRepository,
) -> None:
    # A key of another type makes BITFIELD fail; the other keys are written all the same.
    repository.client.lpush("trackist_user:paid_2026-11", "not a bitmap")
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        repository.mark([Mark.create("user:paid", 3, NOW)])
    assert stored(repository, "user:paid", TimeGroup.DAY, NOW) == [3]
    repository.mark([Mark.create("user:paid", 4, NOW - timedelta(days=60))])
    assert stored(repository, "user:paid", TimeGroup.DAY, NOW - timedelta(days=60)) == [4]


def test_a_server_that_goes_away_raises_and_comes_back(tmp_path: Path) -> None:
    server = LocalRedisServer(tmp_path)
    server.start()
    repository = RedisRepository.from_url(server.url)
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
