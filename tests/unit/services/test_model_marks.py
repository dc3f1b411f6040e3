"""The ORM integrations' shared policy: event names, ids, and marks kept until commit."""

from __future__ import annotations

import enum
from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import InvalidSegmentName, InvalidUserId, Mark
from flask_bitmapist.services.marking import MarkingPolicy
from flask_bitmapist.services.model_marks import (
    MarkedModel,
    ModelChange,
    ModelWrite,
    PendingModelMarks,
    model_mark,
    model_properties,
    model_write,
)

NOW = datetime(2026, 11, 27, 13, tzinfo=timezone.utc)


class Account(MarkedModel):
    def __init__(self, id: object) -> None:
        self.id = id


class Comment(MarkedModel):
    __bitmapist_name__ = "note"
    __bitmapist_id__ = "author_id"

    def __init__(self, author_id: int) -> None:
        self.author_id = author_id


class Orphan(MarkedModel):
    __bitmapist_id__ = "owner_id"


class Tier(enum.Enum):
    GOLD = "gold"


class Subscription(MarkedModel):
    __bitmapist_id__ = "owner_id"
    __bitmapist_properties__ = ("plan", "tier", "channel")

    def __init__(self, owner_id: int, plan: object, tier: Tier, channel: str | None) -> None:
        self.owner_id, self.plan, self.tier, self.channel = owner_id, plan, tier, channel


def test_the_event_is_the_model_name_and_the_change() -> None:
    assert Account.bitmapist_event_name("created") == "account:created"
    assert Comment.bitmapist_event_name("deleted") == "note:deleted"


def test_the_mark_credits_the_id_attribute_of_the_model() -> None:
    mark = model_mark(MarkingPolicy(), Comment(author_id=7), ModelChange.UPDATED, NOW)

    assert mark == Mark.create("note:updated", 7, NOW)


def test_a_bad_id_is_refused_when_the_change_is_made() -> None:
    with pytest.raises(InvalidUserId):
        model_mark(MarkingPolicy(), Account(-1), ModelChange.CREATED, NOW)


def test_a_model_without_its_id_attribute_says_what_to_add() -> None:
    with pytest.raises(NotImplementedError, match="Orphan has no attribute 'owner_id'"):
        model_mark(MarkingPolicy(), Orphan(), ModelChange.CREATED, NOW)


def test_pending_marks_are_grouped_by_owner_and_taken_once() -> None:
    pending: PendingModelMarks[str] = PendingModelMarks()
    marks = [Mark.create("user:created", n, NOW) for n in range(3)]
    writes = [ModelWrite(mark) for mark in marks]
    pending.add("app-a", writes[0], "t1")
    pending.add("app-b", writes[1], "t1")
    pending.add("app-a", writes[2], "t2")

    assert pending.committed() == [("app-a", [writes[0], writes[2]]), ("app-b", [writes[1]])]
    assert not pending
    assert pending.committed() == []


def test_a_rollback_drops_only_the_marks_of_the_transactions_it_undid() -> None:
    pending: PendingModelMarks[str] = PendingModelMarks()
    kept = ModelWrite(Mark.create("user:created", 1, NOW), ((1, "plan", "pro"),))
    dropped = ModelWrite(Mark.create("user:created", 2, NOW), ((2, "plan", "pro"),))
    pending.add("app", kept, "outer")
    pending.add("app", dropped, "savepoint")

    pending.rolled_back(lambda transaction: transaction == "savepoint")

    assert pending.committed() == [("app", [kept])]


# -- properties kept from attributes ------------------------------------------------------


def test_a_model_without_properties_keeps_none() -> None:
    assert model_properties(Comment(author_id=7), ModelChange.CREATED) == ()


def test_a_create_keeps_every_property_as_text_an_enum_as_its_value() -> None:
    subscription = Subscription(7, plan=3, tier=Tier.GOLD, channel=None)

    assert model_properties(subscription, ModelChange.CREATED) == (
        (7, "plan", "3"),
        (7, "tier", "gold"),
        (7, "channel", None),
    )


def test_an_update_keeps_what_the_hook_says_changed() -> None:
    subscription = Subscription(7, plan="pro", tier=Tier.GOLD, channel="ads")

    rows = model_properties(subscription, ModelChange.UPDATED, lambda name: name == "plan")

    assert rows == ((7, "plan", "pro"),)
    assert len(model_properties(subscription, ModelChange.UPDATED)) == 3  # no word: all


def test_a_delete_removes_every_property() -> None:
    subscription = Subscription(7, plan="pro", tier=Tier.GOLD, channel="ads")

    assert model_properties(subscription, ModelChange.DELETED) == (
        (7, "plan", None),
        (7, "tier", None),
        (7, "channel", None),
    )


def test_a_value_breaking_the_rules_is_refused_when_the_change_is_made() -> None:
    subscription = Subscription(7, plan="pro plus", tier=Tier.GOLD, channel=None)

    with pytest.raises(InvalidSegmentName, match="property value 'pro plus'"):
        model_write(MarkingPolicy(), subscription, ModelChange.CREATED, NOW)


def test_a_write_holds_the_mark_and_the_properties() -> None:
    subscription = Subscription(7, plan="pro", tier=Tier.GOLD, channel=None)

    write = model_write(
        MarkingPolicy(), subscription, ModelChange.UPDATED, NOW, lambda name: name == "tier"
    )

    assert write == ModelWrite(Mark.create("subscription:updated", 7, NOW), ((7, "tier", "gold"),))
