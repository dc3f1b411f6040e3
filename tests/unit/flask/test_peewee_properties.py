"""PeeweeBitmapistable's ``__bitmapist_properties__``: the SQLAlchemy mixin's properties on
Peewee models, on SQLite: set after commit, forgotten on rollback."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee
import pytest

from flask_bitmapist import BitmapistState, FlaskBitmapist, InvalidSegmentName, PeeweeBitmapistable
from flask_bitmapist.services.segments import get_properties
from tests.unit.flask.support import DownRepository, make_app

database = peewee.SqliteDatabase(None)


class Tier(enum.Enum):
    GOLD = "gold"


class Account(PeeweeBitmapistable, peewee.Model):
    """Keeps its owner's plan and channel as properties."""

    __bitmapist_id__ = "owner_id"
    __bitmapist_properties__ = ("plan", "channel")
    owner_id = peewee.IntegerField()
    plan = peewee.CharField(null=True)
    channel = peewee.CharField(null=True)
    note = peewee.CharField(default="")

    class Meta:
        database = database


class Member(PeeweeBitmapistable, peewee.Model):
    """An enum attribute (no field: always counted as changed) kept as its value."""

    __bitmapist_properties__ = ("tier",)
    tier_code = peewee.CharField()

    class Meta:
        database = database

    @property
    def tier(self) -> Tier:
        return Tier(self.tier_code)


@pytest.fixture
def db(state: BitmapistState, tmp_path: Path) -> Iterator[peewee.SqliteDatabase]:
    """A SQLite file with the models' tables, in an app context."""
    database.init(str(tmp_path / "app.db"))
    database.connect()
    database.create_tables([Account, Member])
    yield database
    database.close()


def kept(state: BitmapistState) -> dict[str, dict[str, list[int]]]:
    return {
        name: {value: list(users) for value, users in values.items()}
        for name, values in get_properties(state.repository).items()
    }


def test_a_save_keeps_the_attributes_once_committed(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    with db.atomic():
        Account.create(owner_id=7, plan="pro", channel=None)
        assert kept(state) == {}
    assert kept(state) == {"plan": {"pro": [7]}}
    Account.create(owner_id=8, plan="free")  # outside a transaction: at once
    assert kept(state) == {"plan": {"free": [8], "pro": [7]}}


def test_an_update_sets_what_changed_and_a_delete_removes_them(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    account = Account.create(owner_id=7, plan="free", channel="ads")
    account.plan = "pro"
    account.save()
    assert kept(state) == {"plan": {"pro": [7]}, "channel": {"ads": [7]}}
    # Changing another field sets no property.
    account.note = "vip"
    account.save()
    assert kept(state) == {"plan": {"pro": [7]}, "channel": {"ads": [7]}}
    account.delete_instance()
    assert kept(state) == {}


def test_a_save_of_some_fields_keeps_only_those(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    account = Account.create(owner_id=7, plan="free", channel="ads")
    account.plan, account.channel = "pro", "tv"
    account.save(only=[Account.plan])
    assert kept(state) == {"plan": {"pro": [7]}, "channel": {"ads": [7]}}


def test_a_rollback_sets_nothing(db: peewee.SqliteDatabase, state: BitmapistState) -> None:
    with db.atomic() as transaction:
        Account.create(owner_id=7, plan="pro")
        transaction.rollback()
    assert kept(state) == {}


def test_an_enum_is_kept_as_its_value(db: peewee.SqliteDatabase, state: BitmapistState) -> None:
    member: Any = Member.create(tier_code="gold")
    assert kept(state) == {"tier": {"gold": [member.id]}}


def test_a_value_breaking_the_rules_fails_the_transaction(
    db: peewee.SqliteDatabase, state: BitmapistState
) -> None:
    with (
        pytest.raises(InvalidSegmentName, match="property value 'pro plus'"),
        db.atomic(),
    ):
        Account.create(owner_id=7, plan="pro plus")
    assert Account.select().count() == 0
    assert kept(state) == {}


def test_storage_down_at_commit_is_logged_and_the_commit_stands(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    app = make_app(BITMAPIST_REPLAY_BUFFER=0)  # marks dropped: no replay to wait for
    FlaskBitmapist(app, repository_factory=lambda _settings: DownRepository())
    database.init(str(tmp_path / "down.db"))
    with (
        app.app_context(),
        database.connection_context(),
        caplog.at_level(logging.WARNING),
    ):
        database.create_tables([Account])
        with database.atomic():
            Account.create(owner_id=7, plan="pro", channel="ads")
        assert Account.select().count() == 1
    assert "could not set 2 properties after commit" in caplog.text
