"""SQLAlchemy 2 models marked through ``Bitmapistable``, shared by the mixin and time-zone tests."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_bitmapist import Bitmapistable


class Base(DeclarativeBase):
    """Plain SQLAlchemy 2 models."""


class User(Base, Bitmapistable):
    """Marks user:created, user:updated, user:deleted for its id."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Comment(Base, Bitmapistable):
    """Any model works: marks note:* for the comment's author."""

    __tablename__ = "comments"
    __bitmapist_name__ = "note"
    __bitmapist_id__ = "author_id"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(String(200))


class Orphan(Base, Bitmapistable):
    """Names an id attribute it does not have."""

    __tablename__ = "orphans"
    __bitmapist_id__ = "owner_id"
    id: Mapped[int] = mapped_column(primary_key=True)
