"""BITMAPIST_MAP_IDS: str and UUID user ids, mapped to bitmap ints and shown back as they were.

Each test runs on the in-process store and on Redis (fakeredis, with the Lua script).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import fakeredis
import pytest
from flask import Flask
from flask_login import LoginManager, UserMixin, login_user
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from flask_bitmapist import (
    Bitmapistable,
    BitmapistState,
    BitOpAnd,
    FlaskBitmapist,
    InvalidConfiguration,
    InvalidUserId,
    InvalidUserIdType,
    StorageUnavailable,
    chain_events,
    current_state,
    get_cohort,
    get_event_data,
    mark,
    mark_event,
    unmark_event,
)
from flask_bitmapist.domain import BitmapRepository
from flask_bitmapist.flask.state import Settings
from flask_bitmapist.infra import InMemoryIdMapper, RedisIdMapper, RedisRepository
from tests.unit.flask.support import NOW, FixedClock, RecordingRepository, make_app, users_in

ALICE = "alice@example.com"
BOB = uuid.UUID("6f1c2d9e-8a43-4b1f-9c55-2e7d0b3a9f10")
CAROL = "carol"

Factory = Callable[[Settings], BitmapRepository]


def over_fakeredis() -> Factory:
    server = fakeredis.FakeServer()
    return lambda settings: RedisRepository(
        fakeredis.FakeRedis(server=server), prefix=settings.key_prefix
    )


@pytest.fixture(params=["memory", "fakeredis"])
def factory(request: pytest.FixtureRequest) -> Factory | None:
    """The storage: the in-process store (None: from the memory:// URL) or fakeredis."""
    return None if request.param == "memory" else over_fakeredis()


@pytest.fixture
def mapped_app(factory: Factory | None, clock: FixedClock) -> Flask:
    app = make_app("mapped", BITMAPIST_MAP_IDS=True, BITMAPIST_RAISE_ON_ERROR=True)
    FlaskBitmapist(app, clock=clock, repository_factory=factory)
    return app


@pytest.fixture
def mapped(mapped_app: Flask) -> Iterator[BitmapistState]:
    with mapped_app.app_context():
        yield current_state()


# -- without the setting ---------------------------------------------------------------


@pytest.mark.parametrize("user_id", [ALICE, BOB])
def test_without_the_setting_a_str_or_uuid_id_is_refused_with_a_hint(
    user_id: object, clock: FixedClock
) -> None:
    app = make_app("plain")
    repository = RecordingRepository()
    FlaskBitmapist(app, clock=clock, repository_factory=lambda s: repository)
    with app.app_context():
        assert current_state().id_mapper is None
        with pytest.raises(InvalidUserIdType, match="set BITMAPIST_MAP_IDS = True") as caught:
            mark_event("user:paid", user_id)
        assert repr(user_id) in str(caught.value)
        assert isinstance(caught.value, TypeError)
    assert repository.writes == []


def test_without_the_setting_ids_are_the_ints_as_in_0_1(state: BitmapistState) -> None:
    mark_event("user:paid", 7)
    users = get_event_data("user:paid")
    assert list(users) == [7]
    assert 7 in users


# -- marking and reading back ---------------------------------------------------------------


def test_str_and_uuid_ids_are_marked_and_read_back_as_they_were(mapped: BitmapistState) -> None:
    for user_id in (ALICE, BOB, 42):
        mark_event("user:paid", user_id)
    users = get_event_data("user:paid")
    assert list(users) == [ALICE, BOB, 42]  # in the order first seen
    assert len(users) == 3
    assert ALICE in users and BOB in users and str(BOB) in users and 42 in users and "42" in users
    assert CAROL not in users and 3.5 not in users and None not in users
    # Bitmaps hold the dense ints the map gave out.
    assert users_in(mapped, "user:paid", "days", NOW) == [0, 1, 2]
    assert mapped.id_mapper is not None and mapped.id_mapper.count() == 3


def test_an_id_keeps_its_int_across_events_and_days(mapped: BitmapistState) -> None:
    mark_event("user:signed_up", BOB, now=NOW - timedelta(days=3))
    mark_event("user:signed_up", CAROL, now=NOW - timedelta(days=3))
    mark_event("user:paid", BOB)
    assert users_in(mapped, "user:signed_up", "days", NOW - timedelta(days=3)) == [0, 1]
    assert users_in(mapped, "user:paid", "days", NOW) == [0]
    assert list(get_event_data("user:paid", "months")) == [BOB]


def test_set_operations_and_chains_give_original_ids(mapped: BitmapistState) -> None:
    for user_id in (ALICE, BOB, CAROL):
        mark_event("user:active", user_id)
    mark_event("user:paid", BOB)
    mark_event("user:refunded", CAROL)
    active, paid = get_event_data("user:active"), get_event_data("user:paid")
    assert list(active - paid) == [ALICE, CAROL]
    assert list(active & paid) == [BOB]
    assert list(BitOpAnd(active, paid)) == [BOB]
    assert list(chain_events("user:paid", [{"name": "user:refunded", "op": "or"}], None)) == [
        BOB,
        CAROL,
    ]
    assert list(get_event_data("user:active").get_uuids()) == [ALICE, BOB, CAROL]


def test_cohorts_count_mapped_users(mapped: BitmapistState) -> None:
    yesterday = NOW - timedelta(days=1)
    for user_id in (ALICE, BOB):
        mark_event("user:signed_up", user_id, now=yesterday)
    mark_event("user:signed_up", CAROL)
    mark_event("user:active", BOB)
    cohort, _, totals = get_cohort("user:signed_up", "user:active", num_rows=2, num_cols=2, now=NOW)
    assert totals == [2, 1]
    assert cohort == [[0, 1], [0, None]]


def test_unmarking_clears_the_users_bit_and_maps_no_new_id(mapped: BitmapistState) -> None:
    mark_event("user:paid", ALICE)
    mark_event("user:paid", BOB)
    unmark_event("user:paid", ALICE)
    unmark_event("user:paid", "never-seen")
    assert list(get_event_data("user:paid")) == [BOB]
    assert mapped.id_mapper is not None and mapped.id_mapper.count() == 2


def test_the_mark_decorator_takes_a_callable_returning_a_str(mapped_app: Flask) -> None:
    @mapped_app.route("/")
    @mark("page:seen", lambda: ALICE)
    def index() -> str:
        return "ok"

    assert mapped_app.test_client().get("/").status_code == 200
    with mapped_app.app_context():
        assert list(get_event_data("page:seen")) == [ALICE]


def test_flask_login_users_with_uuid_ids_are_marked(mapped_app: Flask) -> None:
    class Account(UserMixin):  # type: ignore[misc]  # Flask-Login ships no type hints
        def __init__(self, account_id: uuid.UUID) -> None:
            self.id = account_id

    LoginManager(mapped_app).user_loader(lambda text: Account(uuid.UUID(text)))

    @mapped_app.route("/login", methods=["POST"])
    def login() -> str:
        login_user(Account(BOB))
        return "welcome"

    assert mapped_app.test_client().post("/login").status_code == 200
    with mapped_app.app_context():
        assert list(get_event_data("user:logged_in")) == [BOB]


def test_the_mixin_marks_models_with_str_primary_keys(mapped_app: Flask) -> None:
    class Base(DeclarativeBase):
        pass

    class Customer(Bitmapistable, Base):
        __tablename__ = "customer"
        id: Mapped[str] = mapped_column(String(40), primary_key=True)

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with mapped_app.app_context():
        with Session(engine) as session:
            session.add_all([Customer(id="cus_9"), Customer(id="cus_1")])
            session.commit()
        assert sorted(get_event_data("customer:created")) == ["cus_1", "cus_9"]


@pytest.mark.parametrize(
    ("bad", "error"), [(3.5, InvalidUserIdType), ("", InvalidUserId), (b"x", InvalidUserIdType)]
)
def test_a_bad_id_is_refused_before_anything_is_mapped(
    mapped: BitmapistState, bad: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        mark_event("user:paid", bad)
    assert mapped.id_mapper is not None and mapped.id_mapper.count() == 0
    assert get_event_data("user:paid").get_count() == 0


# -- the dashboard's drill-down ---------------------------------------------------------------


def test_the_drill_down_lists_original_ids(mapped_app: Flask) -> None:
    with mapped_app.app_context():
        for user_id in (CAROL, BOB, ALICE):
            mark_event("user:signed_up", user_id)
            mark_event("user:paid", user_id)
    query = "primary=user:signed_up&secondary=user:paid&time_group=day&rows=1&cols=1"
    response = mapped_app.test_client().get(f"/bitmapist/api/cohort/cell?{query}&row=0&col=0")
    assert response.status_code == 200
    data = response.get_json()
    assert data["user_ids"] == [CAROL, str(BOB), ALICE]
    assert data["ids_mapped"] is True
    assert data["count"] == 3


# -- where the map lives, and when it fails -------------------------------------------------------


def test_the_map_lives_beside_the_bitmaps(clock: FixedClock) -> None:
    memory_app = make_app("memory-map", BITMAPIST_MAP_IDS=True)
    FlaskBitmapist(memory_app, clock=clock)
    redis_app = make_app("redis-map", BITMAPIST_MAP_IDS=True, BITMAPIST_KEY_PREFIX="shop_")
    FlaskBitmapist(redis_app, clock=clock, repository_factory=over_fakeredis())
    with memory_app.app_context():
        assert isinstance(current_state().id_mapper, InMemoryIdMapper)
    with redis_app.app_context():
        mapper = current_state().id_mapper
        assert isinstance(mapper, RedisIdMapper)
        assert mapper.forward_key == "{shop_ids}:int"


def test_a_storage_without_a_place_for_the_map_is_a_configuration_error(
    clock: FixedClock,
) -> None:
    class Elsewhere(BitmapRepository):
        def mark(self, marks: Any) -> None: ...
        def unmark(self, marks: Any) -> None: ...
        def fetch(self, ids: Any, *, max_bytes: Any = None) -> Any: ...
        def event_names(self) -> frozenset[str]:
            return frozenset()

    app = make_app("elsewhere", BITMAPIST_MAP_IDS=True)
    with pytest.raises(InvalidConfiguration, match="BITMAPIST_MAP_IDS") as caught:
        FlaskBitmapist(app, clock=clock, repository_factory=lambda s: Elsewhere())
    assert caught.value.key == "BITMAPIST_MAP_IDS"


def app_with_unreachable_map(clock: FixedClock, **config: object) -> Flask:
    server = fakeredis.FakeServer()
    server.connected = False
    app = make_app("down-map", BITMAPIST_MAP_IDS=True, **config)
    FlaskBitmapist(
        app,
        clock=clock,
        repository_factory=lambda s: RedisRepository(fakeredis.FakeRedis(server=server)),
    )
    return app


def test_a_map_that_cannot_be_reached_fails_marking_open(clock: FixedClock) -> None:
    app = app_with_unreachable_map(clock)

    @app.route("/")
    @mark("page:seen", lambda: ALICE)
    def index() -> str:
        return "still here"

    response = app.test_client().get("/")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "still here")
    with app.app_context():
        assert current_state().failed_marks == 1


def test_a_map_that_cannot_be_reached_raises_when_asked_to(clock: FixedClock) -> None:
    app = app_with_unreachable_map(clock, BITMAPIST_RAISE_ON_ERROR=True)
    with app.app_context(), pytest.raises(StorageUnavailable, match="mapping ids"):
        mark_event("page:seen", ALICE)
