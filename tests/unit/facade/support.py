"""Support for the facade tests: storage that records or fails, a fixed clock, readers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from flask_login import UserMixin

from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    EventRef,
    Mark,
    Period,
    StorageUnavailable,
    TimeGroup,
)
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.state import BitmapistState


class RecordingRepository(InMemoryRepository):
    """The in-memory store, also remembering every write call (to prove none happened)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, list[Mark]]] = []

    def mark(self, marks: Iterable[Mark]) -> None:
        marks = list(marks)
        self.writes.append(("mark", marks))
        super().mark(marks)

    def unmark(self, marks: Iterable[Mark]) -> None:
        marks = list(marks)
        self.writes.append(("unmark", marks))
        super().unmark(marks)


class DownRepository(InMemoryRepository):
    """Storage that is down: every call raises StorageUnavailable, as a dead Redis would."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def mark(self, marks: Iterable[Mark]) -> None:
        self.attempts += 1
        raise StorageUnavailable("connection refused (test double)")

    def unmark(self, marks: Iterable[Mark]) -> None:
        self.attempts += 1
        raise StorageUnavailable("connection refused (test double)")

    def fetch(self, ids: Sequence[BitmapId]) -> list[Bitmap]:
        raise StorageUnavailable("connection refused (test double)")

    def event_names(self) -> frozenset[str]:
        raise StorageUnavailable("connection refused (test double)")


class FixedClock:
    """A clock that says ``moment`` until told otherwise."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def users_in(state: BitmapistState, event: str, group: str, moment: datetime) -> list[int]:
    """The ids stored for ``event`` in the ``group`` period containing ``moment``."""
    period = Period.containing(TimeGroup.parse(group), moment)
    return list(state.engine.users(EventRef(event), period))


class User(UserMixin):  # type: ignore[misc]  # Flask-Login ships no type hints
    """A Flask-Login user with an int id."""

    def __init__(self, user_id: int) -> None:
        self.id = user_id

    @classmethod
    def load(cls, user_id: str) -> User:
        """Flask-Login's user loader: the id comes back as a str."""
        return cls(int(user_id))
