"""MongoEngineBitmapistable's ``__bitmapist_properties__``: the SQLAlchemy mixin's
properties on MongoEngine documents, on mongomock: set after the write, checked before it."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from typing import Any

import mongoengine
import mongomock
import pytest

from flask_bitmapist import (
    BitmapistState,
    FlaskBitmapist,
    InvalidSegmentName,
    MongoEngineBitmapistable,
)
from flask_bitmapist.services.segments import get_properties
from tests.unit.flask.support import DownRepository, make_app


class Tier(enum.Enum):
    GOLD = "gold"


# Names no other test module's documents take: MongoEngine keeps one registry of them.
class PlanHolder(MongoEngineBitmapistable, mongoengine.Document):  # type: ignore[misc]
    """Keeps its owner's plan and channel as properties (the plan stored as ``p``)."""

    __bitmapist_id__ = "owner_id"
    __bitmapist_properties__ = ("plan", "channel")
    owner_id = mongoengine.IntField(required=True)
    plan = mongoengine.StringField(db_field="p")
    channel = mongoengine.StringField()
    note = mongoengine.StringField(default="")


class Badge(MongoEngineBitmapistable, mongoengine.Document):  # type: ignore[misc]
    """An enum field kept as its value."""

    __bitmapist_id__ = "number"
    __bitmapist_properties__ = ("tier",)
    number = mongoengine.IntField(required=True)
    tier = mongoengine.EnumField(Tier)


@pytest.fixture
def mongo(state: BitmapistState) -> Iterator[Any]:
    """An in-process MongoDB (mongomock) behind MongoEngine's default connection."""
    connection = mongoengine.connect(
        "flask_bitmapist_properties_test",
        mongo_client_class=mongomock.MongoClient,
        uuidRepresentation="standard",
    )
    yield connection
    mongoengine.disconnect()


def kept(state: BitmapistState) -> dict[str, dict[str, list[int]]]:
    return {
        name: {value: list(users) for value, users in values.items()}
        for name, values in get_properties(state.repository).items()
    }


def test_a_new_document_keeps_the_attributes(mongo: Any, state: BitmapistState) -> None:
    PlanHolder(owner_id=7, plan="pro").save()
    assert kept(state) == {"plan": {"pro": [7]}}


def test_an_update_sets_what_changed_and_a_delete_removes_them(
    mongo: Any, state: BitmapistState
) -> None:
    account = PlanHolder(owner_id=7, plan="free", channel="ads").save()
    account.plan = "pro"  # stored as "p": still the attribute "plan" that changed
    account.save()
    assert kept(state) == {"plan": {"pro": [7]}, "channel": {"ads": [7]}}
    # Changing another field sets no property.
    account.note = "vip"
    account.save()
    assert kept(state) == {"plan": {"pro": [7]}, "channel": {"ads": [7]}}
    account.channel = None
    account.save()
    assert kept(state) == {"plan": {"pro": [7]}}
    account.delete()
    assert kept(state) == {}


def test_an_enum_is_kept_as_its_value(mongo: Any, state: BitmapistState) -> None:
    Badge(number=3, tier=Tier.GOLD).save()
    assert kept(state) == {"tier": {"gold": [3]}}


def test_a_value_breaking_the_rules_raises_before_the_write(
    mongo: Any, state: BitmapistState
) -> None:
    with pytest.raises(InvalidSegmentName, match="property value 'pro plus'"):
        PlanHolder(owner_id=7, plan="pro plus").save()
    assert PlanHolder.objects.count() == 0
    assert kept(state) == {}


def test_storage_down_is_logged_and_the_write_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(BITMAPIST_REPLAY_BUFFER=0)  # marks dropped: no replay to wait for
    FlaskBitmapist(app, repository_factory=lambda _settings: DownRepository())
    mongoengine.connect(
        "flask_bitmapist_properties_down",
        mongo_client_class=mongomock.MongoClient,
        uuidRepresentation="standard",
    )
    try:
        with app.app_context(), caplog.at_level(logging.WARNING):
            PlanHolder(owner_id=7, plan="pro", channel="ads").save()
            assert PlanHolder.objects.count() == 1
    finally:
        mongoengine.disconnect()
    assert "could not set 2 properties after commit" in caplog.text
