"""The Flask facade on a real redis-server: the four ways to mark,
cohorts equal to the in-process store's, URLs with user/password/db, a server that dies."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask_login import LoginManager, UserMixin, login_user, logout_user
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from flask_bitmapist import (
    Bitmapistable,
    FlaskBitmapist,
    StorageUnavailable,
    current_state,
    get_cohort,
    get_event_data,
    get_lifecycle,
    get_trend,
    mark,
    mark_event,
)
from flask_bitmapist.infra import RedisRepository
from tests.integration.outages import settle
from tests.integration.servers import LocalRedisServer

FIXED_NOW = datetime(2027, 1, 13, 9, 30, tzinfo=timezone.utc)


def app_on(url: str, name: str = "facade-redis", **config: object) -> Flask:
    """A testing app whose storage is ``url``."""
    app = Flask(name)
    app.config.update(TESTING=True, SECRET_KEY="test", BITMAPIST_REDIS_URL=url)
    app.config.update(config)
    return app


def all_keys(url: str) -> list[str]:
    """Every key in the database ``url`` names, sorted."""
    with redis.Redis.from_url(url, decode_responses=True) as client:
        return sorted(str(key) for key in client.scan_iter())


class User(UserMixin):  # type: ignore[misc]  # Flask-Login ships no type hints
    """A Flask-Login user."""

    def __init__(self, user_id: int) -> None:
        self.id = user_id


def test_flask_login_logins_and_logouts_are_marked(redis_url: str) -> None:
    app = app_on(redis_url)
    FlaskBitmapist(app, clock=lambda: FIXED_NOW)
    LoginManager(app).user_loader(lambda user_id: User(int(user_id)))

    @app.post("/login/<int:user_id>")
    def login(user_id: int) -> str:
        login_user(User(user_id))
        return "welcome"

    @app.post("/logout")
    def logout() -> str:
        logout_user()
        return "bye"

    @app.get("/home")
    @mark("page:home")
    def home() -> str:
        return "home"

    client = app.test_client()
    client.post("/login/7")
    client.get("/home")
    client.post("/logout")
    client.get("/home")  # anonymous now: not marked

    with app.app_context():
        assert list(get_event_data("user:logged_in", "days")) == [7]
        assert list(get_event_data("user:logged_out", "weeks")) == [7]
        assert list(get_event_data("page:home", "months")) == [7]
    assert "trackist_user:logged_in_W2027-2" in all_keys(redis_url)


class Base(DeclarativeBase):
    """Models of the mixin test."""


class Customer(Base, Bitmapistable):
    """Marks customer:created|updated|deleted."""

    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


def test_the_mixin_marks_committed_changes_only(redis_url: str) -> None:
    app = app_on(redis_url)
    FlaskBitmapist(app, clock=lambda: FIXED_NOW)
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)

    with app.app_context(), Session(engine) as session:
        kept = Customer(id=1, name="kept")
        session.add(kept)
        session.commit()
        session.add(Customer(id=2, name="ghost"))
        session.flush()
        session.rollback()
        kept.name = "renamed"
        session.commit()
        session.delete(kept)
        session.commit()

        assert list(get_event_data("customer:created")) == [1]
        assert list(get_event_data("customer:updated")) == [1]
        assert list(get_event_data("customer:deleted")) == [1]
    engine.dispose()


def test_cohorts_on_redis_equal_the_in_process_stores(redis_url: str) -> None:
    rng = random.Random(7)
    on_redis = app_on(redis_url, "redis", BITMAPIST_MAX_COHORT_CELLS=40 * 40)
    in_memory = app_on("memory://", "memory", BITMAPIST_MAX_COHORT_CELLS=40 * 40)
    marks = [
        (event, user_id, FIXED_NOW - timedelta(days=rng.randrange(60), hours=rng.randrange(24)))
        for event in ("signup", "active", "paid", "refunded")
        for user_id in range(200)
        if rng.random() < 0.6
    ]
    chain = [{"name": "paid", "op": "and"}, {"name": "refunded", "op": "or"}]
    answers = []
    for app in (on_redis, in_memory):
        FlaskBitmapist(app, clock=lambda: FIXED_NOW)
        with app.app_context():
            for event, user_id, moment in marks:
                mark_event(event, user_id, moment)
            before = all_keys(redis_url)
            answers.append(
                [
                    get_cohort("signup", "active", chain, "weeks", 8, 8),
                    get_cohort("signup", "active", None, "days", 40, 40),
                    get_cohort("signup", "paid", None, "months", 3, 3, mode="cumulative"),
                ]
            )
            # No temporary keys, however wide the cohort (0.1.2 leaked bitop_ keys).
            assert all_keys(redis_url) == before

    assert answers[0] == answers[1]
    assert any(cell for row in answers[0][1][0] for cell in row)


@pytest.fixture
def analytics_user(redis_server: LocalRedisServer, redis_url: str) -> Iterator[str]:
    """A URL with a user, a password and database 5 (an ACL user made for the test)."""
    with redis_server.client() as admin:
        admin.execute_command("ACL", "SETUSER", "analytics", "on", ">s3cret", "~*", "+@all")
        admin.select(5)
        admin.flushdb()
    try:
        yield f"redis://analytics:s3cret@{redis_server.host}:{redis_server.port}/5"
    finally:
        with redis_server.client() as admin:
            admin.execute_command("ACL", "DELUSER", "analytics")
            admin.select(5)
            admin.flushdb()


def test_user_password_and_database_in_the_url_are_used(
    analytics_user: str, redis_url: str
) -> None:
    # 0.1.2 kept only host and port: the password and the database number were lost.
    app = app_on(analytics_user, BITMAPIST_RAISE_ON_ERROR=True)
    FlaskBitmapist(app, clock=lambda: FIXED_NOW)

    with app.app_context():
        mark_event("user:paid", 42)
        assert list(get_event_data("user:paid")) == [42]

    assert all_keys(analytics_user) == [
        "trackist_user:paid_2027-1",
        "trackist_user:paid_2027-1-13",
        "trackist_user:paid_W2027-2",
    ]
    assert all_keys(redis_url) == []  # nothing in database 0


def test_a_wrong_password_fails_open_for_marks_and_raises_for_reads(analytics_user: str) -> None:
    app = app_on(analytics_user.replace("s3cret", "wrong"))
    FlaskBitmapist(app, clock=lambda: FIXED_NOW)

    @app.route("/")
    @mark("index:visited", 1)
    def index() -> str:
        return "still here"

    assert app.test_client().get("/").text == "still here"
    with app.app_context():
        assert current_state().failed_marks == 1
        with pytest.raises(StorageUnavailable):
            get_event_data("index:visited")


def test_a_server_that_dies_and_comes_back(tmp_path: Path) -> None:
    server = LocalRedisServer(tmp_path)
    server.start()
    try:
        app = app_on(server.url, BITMAPIST_SOCKET_TIMEOUT=0.3, BITMAPIST_CONNECT_TIMEOUT=0.3)
        FlaskBitmapist(app, clock=lambda: FIXED_NOW)

        @app.route("/<int:user_id>")
        def visit(user_id: int) -> str:
            mark_event("page:visited", user_id)
            return "ok"

        client = app.test_client()
        assert client.get("/1").text == "ok"
        server.kill()
        assert client.get("/2").text == "ok"
        with app.app_context(), pytest.raises(StorageUnavailable):
            get_event_data("page:visited")
        server.restart()
        assert client.get("/3").text == "ok"

        with app.app_context():
            state = current_state()
            settle(state)
            # Nothing persisted across the crash, yet the mark made while the server was
            # dead waited in the replay buffer and was written once it was back.
            assert list(get_event_data("page:visited")) == [2, 3]
            status = state.status()
            assert status.dropped == 0 and status.pending == 0
            assert status.written + status.replayed == 3
    finally:
        server.stop()


@pytest.mark.parametrize("storage", ["redis", "cluster"])
def test_trends_and_lifecycles_on_redis_equal_the_in_process_stores(
    request: pytest.FixtureRequest, storage: str
) -> None:
    # Half a year of history: "new" must find users months before the window, through
    # the month keys the storage lists (SCAN on the server, or on every cluster primary).
    if storage == "cluster":
        url = request.getfixturevalue("redis_cluster_url")
        remote = app_on(url, "cluster", BITMAPIST_REDIS_CLUSTER=True)
    else:
        remote = app_on(request.getfixturevalue("redis_url"), "redis")
    in_memory = app_on("memory://", "memory")
    rng = random.Random(12)
    marks = [
        (event, user_id, FIXED_NOW - timedelta(days=rng.randrange(200), hours=rng.randrange(24)))
        for event in ("active", "paid")
        for user_id in range(150)
        for _ in range(rng.randrange(4))
    ]
    answers = []
    for app in (remote, in_memory):
        FlaskBitmapist(app, clock=lambda: FIXED_NOW)
        with app.app_context():
            try:
                for event, user_id, moment in marks:
                    mark_event(event, user_id, moment)
                trend = get_trend(["active", "active & ~paid"], periods=60, rolling=7)
                weekly = get_lifecycle("active | paid", "weeks", periods=12)
                daily = get_lifecycle("active", periods=30)
                answers.append((trend.series, weekly, daily))
            finally:
                # A cluster client keeps a socket per node: closed here, not by the GC.
                repository = current_state().repository
                if isinstance(repository, RedisRepository):
                    repository.close()

    assert answers[0] == answers[1]
    trend_series, weekly, daily = answers[0]
    assert any(trend_series[1].counts)
    assert any(weekly.resurrecting) and any(weekly.new) and any(weekly.dormant)
    # Users seen before the window are not new in it.
    assert sum(daily.new) < len({u for e, u, _ in marks if e == "active"})
