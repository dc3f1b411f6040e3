"""The Bitmapistable mixin: marks after commit only, on plain SQLAlchemy 2 and Flask-SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import create_engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flask_bitmapist import Bitmapistable, BitmapistState, FlaskBitmapist, current_state
from flask_bitmapist.flask import mixins as mixins_module
from tests.unit.flask.models import Base, Comment, Orphan, User
from tests.unit.flask.support import NOW, DownRepository, FixedClock, make_app, users_in


def marked(state: BitmapistState, event: str) -> list[int]:
    """Who has ``event`` today."""
    return users_in(state, event, "day", NOW)


@pytest.fixture
def session(state: BitmapistState) -> Iterator[Session]:
    """A plain SQLAlchemy session on an in-memory SQLite database, in an app context."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as db_session:
        yield db_session
    engine.dispose()


def test_the_event_names_default_to_the_lower_cased_class_name() -> None:
    assert User.bitmapist_event_name("created") == "user:created"
    assert Comment.bitmapist_event_name("deleted") == "note:deleted"


def test_creating_marks_created_only_once_committed(
    session: Session, state: BitmapistState
) -> None:
    user = User(name="ada")
    session.add(user)
    session.flush()

    assert user.id is not None
    assert marked(state, "user:created") == []

    session.commit()

    assert marked(state, "user:created") == [user.id]
    for group in ("month", "week"):
        assert users_in(state, "user:created", group, NOW) == [user.id]


def test_updating_marks_updated(session: Session, state: BitmapistState) -> None:
    user = User(name="ada")
    session.add(user)
    session.commit()

    user.name = "ada lovelace"
    session.commit()

    assert marked(state, "user:updated") == [user.id]


def test_an_update_without_a_net_change_marks_nothing(
    session: Session, state: BitmapistState
) -> None:
    user = User(name="ada")
    session.add(user)
    session.commit()

    assert user.name == "ada"  # loaded again after the commit expired it
    user.name = "ada"
    assert user in session.dirty
    session.commit()

    assert marked(state, "user:updated") == []


def test_deleting_marks_deleted(session: Session, state: BitmapistState) -> None:
    user = User(name="ada")
    session.add(user)
    session.commit()
    user_id = user.id

    session.delete(user)
    session.commit()

    assert session.scalars(select(User)).all() == []
    assert marked(state, "user:deleted") == [user_id]


def test_a_rollback_leaves_no_trace(session: Session, state: BitmapistState) -> None:
    keeper = User(name="kept")
    session.add(keeper)
    session.commit()

    session.add(User(id=100, name="ghost"))
    keeper.name = "changed"
    session.flush()
    session.rollback()
    session.commit()

    assert marked(state, "user:created") == [keeper.id]
    assert marked(state, "user:updated") == []
    assert [u.name for u in session.scalars(select(User))] == ["kept"]


def test_a_failed_flush_then_rollback_leaves_no_trace(
    session: Session, state: BitmapistState
) -> None:
    session.add(User(name="ada"))
    session.commit()

    session.add(User(id=100, name="bob"))
    session.flush()
    session.add(User(id=101, name="ada"))  # violates the unique name
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()

    assert marked(state, "user:created") == [1]


def test_closing_without_commit_leaves_no_trace(session: Session, state: BitmapistState) -> None:
    session.add(User(id=100, name="ghost"))
    session.flush()
    session.close()

    session.add(User(name="real"))
    session.commit()

    real = session.scalars(select(User)).one()
    assert marked(state, "user:created") == [real.id]


def test_a_rolled_back_savepoint_drops_only_its_own_changes(
    session: Session, state: BitmapistState
) -> None:
    outer = User(name="outer")
    session.add(outer)
    session.flush()
    savepoint = session.begin_nested()
    session.add(User(id=100, name="inner"))
    session.flush()
    savepoint.rollback()
    released = session.begin_nested()
    kept = User(name="kept")
    session.add(kept)
    released.commit()

    assert marked(state, "user:created") == []  # nothing is committed yet

    session.commit()

    assert marked(state, "user:created") == sorted([outer.id, kept.id])


def test_a_released_savepoint_is_dropped_with_its_rolled_back_transaction(
    session: Session, state: BitmapistState
) -> None:
    with session.begin_nested():
        session.add(User(id=100, name="inner"))
    session.rollback()

    assert marked(state, "user:created") == []


def test_each_model_configures_its_event_prefix_and_id_attribute(
    session: Session, state: BitmapistState
) -> None:
    author = User(name="ada")
    session.add(author)
    session.commit()

    session.add(Comment(author_id=author.id, text="first!"))
    session.commit()

    assert marked(state, "note:created") == [author.id]
    assert marked(state, "comment:created") == []


def test_a_model_without_its_id_attribute_says_what_to_add(
    session: Session, state: BitmapistState
) -> None:
    session.add(Orphan())

    with pytest.raises(NotImplementedError, match="Orphan has no attribute 'owner_id'"):
        session.flush()
    session.rollback()
    assert state.repository.event_names() == frozenset()


def test_storage_down_at_commit_the_commit_still_succeeds(clock: FixedClock) -> None:
    app = make_app()
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: DownRepository())
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)

    with app.app_context(), Session(engine) as db_session:
        db_session.add(User(name="ada"))
        db_session.commit()

        assert db_session.scalars(select(User.name)).all() == ["ada"]
        assert current_state().failed_marks == 1
    engine.dispose()


def test_flushing_outside_an_app_context_says_what_is_missing() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)

    with Session(engine) as db_session:
        db_session.add(User(name="ada"))
        with pytest.raises(RuntimeError, match="needs an application context"):
            db_session.flush()
    engine.dispose()


def test_sessions_without_pending_marks_are_left_alone(session: Session) -> None:
    session.commit()

    assert mixins_module.PENDING_KEY not in session.info


# -- Flask-SQLAlchemy 3 ---------------------------------------------------------------------


@pytest.fixture
def flask_sqlalchemy_app(clock: FixedClock) -> Iterator[tuple[Flask, SQLAlchemy]]:
    """An app with Flask-SQLAlchemy, Flask-Bitmapist, a Member model and views."""
    app = make_app(SQLALCHEMY_DATABASE_URI="sqlite://")
    db = SQLAlchemy(app)
    FlaskBitmapist(app, clock=clock)

    class Member(db.Model, Bitmapistable):  # type: ignore[name-defined,misc]
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(50))

    @app.post("/members/<name>")
    def create(name: str) -> str:
        member = Member(name=name)
        db.session.add(member)
        db.session.commit()
        return str(member.id)

    @app.post("/members/<int:member_id>/rename/<name>")
    def rename(member_id: int, name: str) -> str:
        db.get_or_404(Member, member_id).name = name
        db.session.commit()
        return "renamed"

    @app.delete("/members/<int:member_id>")
    def delete(member_id: int) -> str:
        db.session.delete(db.get_or_404(Member, member_id))
        db.session.commit()
        return "deleted"

    @app.post("/members/<name>/abandon")
    def abandon(name: str) -> str:
        db.session.add(Member(name=name))
        db.session.flush()
        db.session.rollback()
        return "abandoned"

    with app.app_context():
        db.create_all()
    yield app, db
    with app.app_context():
        db.drop_all()


def test_flask_sqlalchemy_models_mark_after_commit(
    flask_sqlalchemy_app: tuple[Flask, SQLAlchemy],
) -> None:
    app, _ = flask_sqlalchemy_app
    client = app.test_client()

    first = int(client.post("/members/ada").text)
    second = int(client.post("/members/bob").text)
    assert client.post(f"/members/{first}/rename/ada-l").text == "renamed"
    assert client.delete(f"/members/{second}").text == "deleted"
    assert client.post("/members/ghost/abandon").text == "abandoned"

    with app.app_context():
        state = current_state()
        assert marked(state, "member:created") == [first, second]
        assert marked(state, "member:updated") == [first]
        assert marked(state, "member:deleted") == [second]


def test_flask_sqlalchemy_rollback_leaves_no_trace(
    flask_sqlalchemy_app: tuple[Flask, SQLAlchemy],
) -> None:
    app, _ = flask_sqlalchemy_app

    assert app.test_client().post("/members/ghost/abandon").status_code == 200

    with app.app_context():
        assert marked(current_state(), "member:created") == []
