"""MongoEngineBitmapistable: the SQLAlchemy mixin's marks on MongoEngine documents, through
its signals, on mongomock (no MongoDB server runs on these machines)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mongoengine
import mongomock
import pytest

from flask_bitmapist import (
    BitmapistState,
    FlaskBitmapist,
    MongoEngineBitmapistable,
    current_state,
)
from tests.unit.flask.support import NOW, DownRepository, FixedClock, make_app, users_in


class Member(MongoEngineBitmapistable, mongoengine.Document):  # type: ignore[misc]
    """Marks member:created, member:updated, member:deleted for its number."""

    __bitmapist_id__ = "number"
    number = mongoengine.IntField(required=True)
    name = mongoengine.StringField(unique=True)


class Comment(MongoEngineBitmapistable, mongoengine.Document):  # type: ignore[misc]
    """Any document works: marks note:* for the comment's author."""

    __bitmapist_name__ = "note"
    __bitmapist_id__ = "author_id"
    author_id = mongoengine.IntField(required=True)
    text = mongoengine.StringField()


class Plain(mongoengine.Document):  # type: ignore[misc]
    """Not marked."""

    number = mongoengine.IntField()


def marked(state: BitmapistState, event: str) -> list[int]:
    """Who has ``event`` today."""
    return users_in(state, event, "day", NOW)


@pytest.fixture
def mongo() -> Iterator[Any]:
    """An in-process MongoDB (mongomock) behind MongoEngine's default connection."""
    connection = mongoengine.connect(
        "flask_bitmapist_test",
        mongo_client_class=mongomock.MongoClient,
        uuidRepresentation="standard",
    )
    yield connection
    mongoengine.disconnect()


def test_the_event_names_default_to_the_lower_cased_class_name() -> None:
    assert Member.bitmapist_event_name("created") == "member:created"
    assert Comment.bitmapist_event_name("deleted") == "note:deleted"


def test_saving_a_new_document_marks_created(mongo: Any, state: BitmapistState) -> None:
    Member(number=7, name="ada").save()

    assert marked(state, "member:created") == [7]
    for group in ("month", "week"):
        assert users_in(state, "member:created", group, NOW) == [7]


def test_saving_a_change_marks_updated_and_deleting_marks_deleted(
    mongo: Any, state: BitmapistState
) -> None:
    member = Member(number=7, name="ada").save()
    member.name = "ada lovelace"
    member.save()
    Member.objects.get(number=7).delete()

    assert marked(state, "member:created") == [7]
    assert marked(state, "member:updated") == [7]
    assert marked(state, "member:deleted") == [7]
    assert Member.objects.count() == 0


def test_a_save_that_changes_nothing_marks_nothing(mongo: Any, state: BitmapistState) -> None:
    Member(number=7, name="ada").save()

    Member.objects.get(number=7).save()

    assert marked(state, "member:updated") == []


def test_each_document_configures_its_event_prefix_and_id_attribute(
    mongo: Any, state: BitmapistState
) -> None:
    Comment(author_id=3, text="first!").save()
    Plain(number=4).save()

    assert marked(state, "note:created") == [3]
    assert state.repository.event_names() == frozenset({"note:created"})


def test_a_failed_write_marks_nothing(mongo: Any, state: BitmapistState) -> None:
    Member(number=1, name="ada").save()

    with pytest.raises(mongoengine.NotUniqueError):
        Member(number=2, name="ada").save()

    assert marked(state, "member:created") == [1]


def test_a_bad_id_is_refused_before_anything_is_written(mongo: Any, state: BitmapistState) -> None:
    with pytest.raises(ValueError, match="-1"):
        Member(number=-1, name="ghost").save()

    assert Member.objects.count() == 0
    assert state.repository.event_names() == frozenset()


def test_storage_down_the_save_still_succeeds(mongo: Any, clock: FixedClock) -> None:
    app = make_app()
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: DownRepository())

    with app.app_context():
        Member(number=7, name="ada").save()

        assert Member.objects.count() == 1
        assert current_state().failed_marks == 1


def test_saving_outside_an_app_context_says_what_is_missing(mongo: Any) -> None:
    with pytest.raises(RuntimeError, match="needs an application context"):
        Member(number=7, name="ada").save()


class Visitor(MongoEngineBitmapistable, mongoengine.DynamicDocument):  # type: ignore[misc]
    """A dynamic document: any attribute set on it becomes a field."""

    __bitmapist_id__ = "number"
    number = mongoengine.IntField(required=True)


def test_a_dynamic_document_stores_no_field_of_ours(mongo: Any, state: BitmapistState) -> None:
    Visitor(number=5).save()

    stored = Visitor._get_collection().find_one({"number": 5})
    assert sorted(stored) == ["_id", "number"]
    assert marked(state, "visitor:created") == [5]
