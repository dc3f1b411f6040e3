"""PeeweeBitmapistable: the SQLAlchemy mixin's marks on Peewee models, on SQLite, after
commit only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest

from flask_bitmapist import BitmapistState, FlaskBitmapist, PeeweeBitmapistable, current_state
from tests.unit.flask.support import NOW, DownRepository, FixedClock, make_app, users_in

database = peewee.SqliteDatabase(None)


class BaseModel(peewee.Model):
    class Meta:
        database = database


class User(PeeweeBitmapistable, BaseModel):
    """Marks user:created, user:updated, user:deleted for its id."""

    id = peewee.AutoField()
    name = peewee.CharField(unique=True)


class Comment(PeeweeBitmapistable, BaseModel):
    """Any model works: marks note:* for the comment's author."""

    __bitmapist_name__ = "note"
    __bitmapist_id__ = "author_id"
    author_id = peewee.IntegerField()
    text = peewee.CharField()


class Orphan(PeeweeBitmapistable, BaseModel):
    """Names an id attribute it does not have."""

    __bitmapist_id__ = "owner_id"


MODELS: list[type[peewee.Model]] = [User, Comment, Orphan]


def marked(state: BitmapistState, event: str) -> list[int]:
    """Who has ``event`` today."""
    return users_in(state, event, "day", NOW)


@pytest.fixture
def db(state: BitmapistState, tmp_path: Path) -> Iterator[peewee.SqliteDatabase]:
    """A SQLite file with the models' tables, in an app context."""
    database.init(str(tmp_path / "app.db"))
    database.connect()
    database.create_tables(MODELS)
    yield database
    database.close()


def test_the_event_names_default_to_the_lower_cased_class_name() -> None:
    assert User.bitmapist_event_name("created") == "user:created"
    assert Comment.bitmapist_event_name("deleted") == "note:deleted"


def test_outside_a_transaction_a_save_marks_once_it_is_done(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    user = User.create(name="ada")

    assert marked(state, "user:created") == [user.id]
    for group in ("month", "week"):
        assert users_in(state, "user:created", group, NOW) == [user.id]


def test_saving_again_marks_updated_and_deleting_marks_deleted(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    user = User.create(name="ada")
    user.name = "ada lovelace"
    user.save()
    user_id = user.id
    user.delete_instance()

    assert marked(state, "user:created") == [user_id]
    assert marked(state, "user:updated") == [user_id]
    assert marked(state, "user:deleted") == [user_id]
    assert User.select().count() == 0


def test_inside_atomic_the_marks_wait_for_the_commit(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    with db.atomic():
        user = User.create(name="ada")
        with db.atomic():  # a savepoint, released
            comment = Comment.create(author_id=user.id, text="first!")
        assert marked(state, "user:created") == []

    assert marked(state, "user:created") == [user.id]
    assert marked(state, "note:created") == [comment.author_id]
    assert marked(state, "comment:created") == []


def test_a_rolled_back_atomic_marks_nothing(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    keeper = User.create(name="kept")

    with pytest.raises(RuntimeError, match="changed my mind"), db.atomic():
        User.create(name="ghost")
        keeper.name = "changed"
        keeper.save()
        raise RuntimeError("changed my mind")

    with db.atomic() as transaction:
        User.get_by_id(keeper.id).delete_instance()
        transaction.rollback()

    assert [u.name for u in User.select()] == ["kept"]
    assert marked(state, "user:created") == [keeper.id]
    assert marked(state, "user:updated") == []
    assert marked(state, "user:deleted") == []


def test_a_failed_commit_marks_nothing(db: peewee.SqliteDatabase, state: BitmapistState) -> None:
    User.create(name="ada")

    with pytest.raises(peewee.IntegrityError), db.atomic():
        User.create(name="bob")
        User.create(name="ada")  # violates the unique name

    assert [u.name for u in User.select()] == ["ada"]
    assert marked(state, "user:created") == [1]


def test_nested_transactions_mark_when_the_outermost_commits(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    with db.transaction():
        with db.transaction():
            user = User.create(name="ada")
        assert marked(state, "user:created") == []

    assert marked(state, "user:created") == [user.id]


def test_a_transaction_committed_midway_marks_what_it_committed(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    with db.atomic() as transaction:
        first = User.create(name="ada")
        transaction.commit()
        assert marked(state, "user:created") == [first.id]
        User.create(name="ghost")
        transaction.rollback()
        last = User.create(name="bob")

    assert marked(state, "user:created") == [first.id, last.id]


def test_in_manual_commit_mode_a_save_marks_at_once(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    # Peewee has no hook for a manual commit: the save is marked as outside a transaction.
    with db.manual_commit():
        db.begin()
        user = User.create(name="ada")
        db.commit()

    assert marked(state, "user:created") == [user.id]


def test_a_save_without_rows_written_marks_nothing(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    user = User.create(name="ada")
    User.delete().where(User.id == user.id).execute()  # class-level queries are not marked

    assert user.delete_instance() == 0
    assert marked(state, "user:deleted") == []


def test_a_model_without_its_id_attribute_says_what_to_add(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    with pytest.raises(NotImplementedError, match="Orphan has no attribute 'owner_id'"):
        Orphan.create()
    assert state.repository.event_names() == frozenset()


def test_the_mixin_must_come_before_the_model() -> None:
    with pytest.raises(TypeError, match="put PeeweeBitmapistable before the Peewee model"):

        class Misplaced(BaseModel, PeeweeBitmapistable):
            pass


def test_with_database_the_block_is_one_transaction(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    db.close()
    with db:  # Peewee: a connection and a transaction around the block
        user = User.create(name="ada")
        assert marked(state, "user:created") == []

    assert marked(state, "user:created") == [user.id]
    db.connect()


def test_storage_down_the_save_still_succeeds(clock: FixedClock, tmp_path: Path) -> None:
    app = make_app()
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: DownRepository())
    database.init(str(tmp_path / "down.db"))
    with app.app_context(), database.connection_context():
        database.create_tables(MODELS)
        with database.atomic():
            User.create(name="ada")

        assert [u.name for u in User.select()] == ["ada"]
        assert current_state().failed_marks == 1


def test_saving_outside_an_app_context_says_what_is_missing(tmp_path: Path) -> None:
    database.init(str(tmp_path / "no-app.db"))
    with database.connection_context():
        database.create_tables(MODELS)
        with pytest.raises(RuntimeError, match="needs an application context"):
            User.create(name="ada")
