"""Bitmapistable's ``__bitmapist_properties__``: attributes kept as the id's properties,
set after commit, forgotten on rollback."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from flask_bitmapist import Bitmapistable, BitmapistState, FlaskBitmapist, InvalidSegmentName
from flask_bitmapist.services.segments import get_properties
from tests.unit.flask.support import DownRepository, make_app


class Base(DeclarativeBase):
    """Models of this module only."""


class Tier(enum.Enum):
    GOLD = "gold"


class Account(Base, Bitmapistable):
    """Keeps its owner's plan and channel as properties."""

    __tablename__ = "accounts"
    __bitmapist_id__ = "owner_id"
    __bitmapist_properties__ = ("plan", "channel")
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int]
    plan: Mapped[str | None] = mapped_column(String(50))
    channel: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str] = mapped_column(String(50), default="")


class Member(Base, Bitmapistable):
    """An enum attribute kept as its value."""

    __tablename__ = "members"
    __bitmapist_properties__ = ("tier",)
    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[Tier]


@pytest.fixture
def session(state: BitmapistState) -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as db_session:
        yield db_session
    engine.dispose()


def kept(state: BitmapistState) -> dict[str, dict[str, list[int]]]:
    return {
        name: {value: list(users) for value, users in values.items()}
        for name, values in get_properties(state.repository).items()
    }


def test_an_insert_keeps_the_attributes_after_commit(
    state: BitmapistState, session: Session
) -> None:
    session.add(Account(id=1, owner_id=7, plan="pro", channel=None))
    session.flush()
    assert kept(state) == {}
    session.commit()
    assert kept(state) == {"plan": {"pro": [7]}}


def test_an_update_sets_what_changed_and_a_delete_removes_them(
    state: BitmapistState, session: Session
) -> None:
    account = Account(id=1, owner_id=7, plan="free", channel="ads")
    session.add(account)
    session.commit()
    account.plan = "pro"
    session.commit()
    assert kept(state) == {"plan": {"pro": [7]}, "channel": {"ads": [7]}}
    # Changing another attribute sets no property.
    account.note = "vip"
    session.commit()
    assert kept(state) == {"plan": {"pro": [7]}, "channel": {"ads": [7]}}
    session.delete(account)
    session.commit()
    assert kept(state) == {}


def test_a_rollback_sets_nothing(state: BitmapistState, session: Session) -> None:
    session.add(Account(id=1, owner_id=7, plan="pro"))
    session.flush()
    session.rollback()
    session.commit()
    assert kept(state) == {}


def test_an_enum_is_kept_as_its_value(state: BitmapistState, session: Session) -> None:
    session.add(Member(id=3, tier=Tier.GOLD))
    session.commit()
    assert kept(state) == {"tier": {"gold": [3]}}


def test_a_value_breaking_the_rules_fails_the_flush(
    state: BitmapistState, session: Session
) -> None:
    session.add(Account(id=1, owner_id=7, plan="pro plus"))
    with pytest.raises(InvalidSegmentName, match="property value 'pro plus'"):
        session.flush()
    session.rollback()
    assert kept(state) == {}


def test_storage_down_at_commit_is_logged_and_the_commit_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app: Flask = make_app(BITMAPIST_REPLAY_BUFFER=0)  # marks dropped: no replay to wait for
    FlaskBitmapist(app, repository_factory=lambda _settings: DownRepository())
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with app.app_context(), Session(engine) as session, caplog.at_level(logging.WARNING):
        session.add(Account(id=1, owner_id=7, plan="pro"))
        session.commit()
        assert session.get(Account, 1) is not None
    assert "could not set 2 properties after commit" in caplog.text
    engine.dispose()
