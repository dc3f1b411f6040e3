"""The ORM integrations' shared policy: event names, ids, and marks kept until commit."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from flask_bitmapist.domain import InvalidUserId, Mark
from flask_bitmapist.services.marking import MarkingPolicy
from flask_bitmapist.services.model_marks import (
    MarkedModel,
    ModelChange,
    PendingModelMarks,
    model_mark,
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
    pending.add("app-a", marks[0], "t1")
    pending.add("app-b", marks[1], "t1")
    pending.add("app-a", marks[2], "t2")

    assert pending.committed() == [("app-a", [marks[0], marks[2]]), ("app-b", [marks[1]])]
    assert not pending
    assert pending.committed() == []


def test_a_rollback_drops_only_the_marks_of_the_transactions_it_undid() -> None:
    pending: PendingModelMarks[str] = PendingModelMarks()
    kept, dropped = Mark.create("user:created", 1, NOW), Mark.create("user:created", 2, NOW)
    pending.add("app", kept, "outer")
    pending.add("app", dropped, "savepoint")

    pending.rolled_back(lambda transaction: transaction == "savepoint")

    assert pending.committed() == [("app", [kept])]
