"""Support for the facade tests: storage that records or fails, a fixed clock, readers."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import date, datetime, timezone

from flask import Flask
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

from flask_bitmapist import BitmapistState, mark_event
from flask_bitmapist.domain import (
    Bitmap,
    BitmapId,
    EventListing,
    EventRef,
    Mark,
    Period,
    StorageUnavailable,
    TimeGroup,
)
from flask_bitmapist.infra import InMemoryRepository


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

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        raise StorageUnavailable("connection refused (test double)")

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        raise StorageUnavailable("connection refused (test double)")

    def count(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[int]:
        raise StorageUnavailable("connection refused (test double)")

    def event_names(self) -> frozenset[str]:
        raise StorageUnavailable("connection refused (test double)")

    def list_events(
        self,
        *,
        containing: str = "",
        max_keys: int | None = None,
        max_seconds: float | None = None,
    ) -> EventListing:
        raise StorageUnavailable("connection refused (test double)")

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        raise StorageUnavailable("connection refused (test double)")

    def set_properties(self, assignments: Iterable[object], *, max_values: int = 0) -> list[int]:
        raise StorageUnavailable("connection refused (test double)")

    def property_values(self) -> dict[str, frozenset[str]]:
        raise StorageUnavailable("connection refused (test double)")

    def save_cohort(self, name: str, users: Bitmap) -> None:
        raise StorageUnavailable("connection refused (test double)")

    def delete_cohort(self, name: str) -> bool:
        raise StorageUnavailable("connection refused (test double)")

    def cohort_names(self) -> frozenset[str]:
        raise StorageUnavailable("connection refused (test double)")

    def fetch_user_sets(
        self, ids: Sequence[object], *, max_bytes: int | None = None
    ) -> list[Bitmap]:
        raise StorageUnavailable("connection refused (test double)")


class FlakyRepository(InMemoryRepository):
    """The in-process store, down (every call raising StorageUnavailable) while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise StorageUnavailable("connection refused (test double)")

    def mark(self, marks: Iterable[Mark]) -> None:
        self._check()
        super().mark(marks)

    def unmark(self, marks: Iterable[Mark]) -> None:
        self._check()
        super().unmark(marks)

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self._check()
        return super().fetch(ids, max_bytes=max_bytes)

    def count(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[int]:
        self._check()
        return super().count(ids, max_bytes=max_bytes)

    def event_names(self) -> frozenset[str]:
        self._check()
        return super().event_names()

    def list_events(
        self,
        *,
        containing: str = "",
        max_keys: int | None = None,
        max_seconds: float | None = None,
    ) -> EventListing:
        self._check()
        return super().list_events(
            containing=containing, max_keys=max_keys, max_seconds=max_seconds
        )


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


class History:
    """Marks events through ``mark_event`` and remembers them, for brute-force answers."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, int, datetime]] = []

    def mark(self, event: str, user_id: int, moment: datetime) -> None:
        """Mark the event (in the current app) and remember it."""
        mark_event(event, user_id, moment)
        self.entries.append((event, user_id, moment))

    def users(
        self, event: str, bucket_of: Callable[[datetime], Hashable], bucket: Hashable
    ) -> set[int]:
        """The users who did ``event`` at a moment whose bucket is ``bucket``."""
        return {u for e, u, m in self.entries if e == event and bucket_of(m) == bucket}


def month_of(moment: datetime) -> tuple[int, int]:
    """(year, month)."""
    return moment.year, moment.month


def iso_week_of(moment: datetime) -> tuple[int, int]:
    """(ISO year, ISO week)."""
    year, week, _ = moment.isocalendar()
    return year, week


def day_of(moment: datetime) -> date:
    """The calendar day."""
    return moment.date()


def brute_force_cohort(
    primary: Sequence[set[int]], secondary: Sequence[set[int]], cols: int, mode: str
) -> tuple[list[list[int | None]], list[int]]:
    """Cells and totals by counting users one by one (``primary[i]``, ``secondary[k]``: the
    sets of row period i and of period k, oldest first; the last one holds ``now``)."""
    rows = len(primary)
    cells: list[list[int | None]] = []
    for i in range(rows):
        if not primary[i]:
            cells.append([None] * cols)
            continue
        row: list[int | None] = []
        for j in range(cols):
            k = i + j
            if k >= rows:
                row.append(None)
            elif mode == "first_return":
                row.append(
                    sum(
                        1
                        for u in primary[i]
                        if u in secondary[k] and not any(u in secondary[m] for m in range(i, k))
                    )
                )
            elif mode == "recurring":
                row.append(sum(1 for u in primary[i] if u in secondary[k]))
            else:
                row.append(
                    sum(1 for u in primary[i] if any(u in secondary[m] for m in range(k, rows)))
                )
        cells.append(row)
    return cells, [len(p) for p in primary]


#: The fixed "now" of the fixtures' clock: a Friday afternoon.
NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


def make_app(name: str = "facade-test", **config: object) -> Flask:
    """A testing Flask app on ``memory://`` with ``config`` applied."""
    app = Flask(name)
    app.config.update(TESTING=True, SECRET_KEY="test", BITMAPIST_REDIS_URL="memory://")
    app.config.update(config)
    return app


def add_login_views(app: Flask) -> None:
    """Flask-Login with ``/login/<id>``, ``/logout`` and a protected ``/me``."""
    LoginManager(app).user_loader(User.load)

    @app.route("/login/<int:user_id>", methods=["POST"])
    def login(user_id: int) -> str:
        login_user(User(user_id))
        return "welcome"

    @app.route("/logout", methods=["POST"])
    def logout() -> str:
        logout_user()
        return "bye"

    def me() -> str:
        return str(current_user.id)

    app.add_url_rule("/me", view_func=login_required(me))
