"""The testing kit behind the ``analytics`` fixture of :mod:`flask_bitmapist.testing`.

:class:`Analytics` switches an app that has Flask-Bitmapist to a store of its own for the
length of a test (the in-process one, or fakeredis), records every mark written to it, and
answers "was user U marked E (on day D)?" with a message listing what U did get.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import Any, NamedTuple

from flask import Flask

from flask_bitmapist.domain import (
    DEFAULT_MAX_PROPERTY_VALUES,
    BitmapId,
    BitmapRepository,
    EventRef,
    Mark,
    Period,
    PropertyAssignment,
    TimeGroup,
    UserSetId,
    validate_event_name,
    validate_user_id,
)
from flask_bitmapist.domain.bitmap import Bitmap
from flask_bitmapist.flask.config import EXTENSION_KEY
from flask_bitmapist.flask.extras import import_extra
from flask_bitmapist.flask.state import BitmapistState
from flask_bitmapist.infra import InMemoryRepository, RedisRepository, id_mapper_for

__all__ = ["Analytics", "Marked"]


class Marked(NamedTuple):
    """One mark written during a test: ``user_id`` (the app's own id) did ``event`` on
    ``period``, the day it fell on in the app's zone (``BITMAPIST_TIMEZONE``)."""

    event: str
    user_id: object
    period: date


class _RecordingRepository(BitmapRepository):
    """The test's store, telling :class:`Analytics` of every mark and unmark written."""

    def __init__(self, inner: BitmapRepository, kit: Analytics) -> None:
        self.inner = inner
        self._kit = kit

    def mark(self, marks: Iterable[Mark]) -> None:
        written = list(marks)
        self.inner.mark(written)
        self._kit._written(written, unmark=False)

    def unmark(self, marks: Iterable[Mark]) -> None:
        cleared = list(marks)
        self.inner.unmark(cleared)
        self._kit._written(cleared, unmark=True)

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        return self.inner.fetch(ids, max_bytes=max_bytes)

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        return self.inner.sizes(ids)

    def event_names(self) -> frozenset[str]:
        return self.inner.event_names()

    def stored_months(self, events: Iterable[str]) -> dict[str, frozenset[date]]:
        return self.inner.stored_months(events)

    # Properties and saved cohorts: the port defines them (raising), so __getattr__ would
    # never be asked for them.

    def set_properties(
        self,
        assignments: Iterable[PropertyAssignment],
        *,
        max_values: int = DEFAULT_MAX_PROPERTY_VALUES,
    ) -> list[int]:
        return self.inner.set_properties(assignments, max_values=max_values)

    def property_values(self) -> dict[str, frozenset[str]]:
        return self.inner.property_values()

    def save_cohort(self, name: str, users: Bitmap) -> None:
        self.inner.save_cohort(name, users)

    def delete_cohort(self, name: str) -> bool:
        return self.inner.delete_cohort(name)

    def cohort_names(self) -> frozenset[str]:
        return self.inner.cohort_names()

    def fetch_user_sets(
        self, ids: Sequence[UserSetId], *, max_bytes: int | None = None
    ) -> list[Bitmap]:
        return self.inner.fetch_user_sets(ids, max_bytes=max_bytes)

    def count_user_sets(
        self, ids: Sequence[UserSetId], *, max_bytes: int | None = None
    ) -> list[int]:
        return self.inner.count_user_sets(ids, max_bytes=max_bytes)

    def __getattr__(self, name: str) -> Any:
        # Whatever else the store offers (its client, its server name) is the inner one's.
        return getattr(self.inner, name)


class Analytics:
    """An app's analytics during one test: its own empty store, and assertions on it.

    ``Analytics(app)`` switches ``app`` (which must have Flask-Bitmapist) to a new
    in-process store until :meth:`close` (or the end of a ``with`` block) gives it back its
    own. The app's settings, zone and clock are kept. Everything the app marks meanwhile
    (views, ``mark_event``, the ORM mixins, logins) lands in that store.
    """

    def __init__(self, app: Flask) -> None:
        state = app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, BitmapistState):
            raise RuntimeError(
                f"app {app.name!r} has no Flask-Bitmapist: the analytics fixture needs the "
                "app your `app` fixture returns to be set up with FlaskBitmapist(app) or "
                "init_app(app)"
            )
        self.app = app
        self._original = state
        self._marks: list[Marked] = []
        self._fake_redis: types.ModuleType | None = None
        self._client: Any = None
        self.state = self._install(InMemoryRepository())

    # -- switching stores ------------------------------------------------------------------

    def _install(self, repository: BitmapRepository) -> BitmapistState:
        original = self._original
        settings = original.settings
        id_mapper = (
            id_mapper_for(repository, max_int=settings.max_user_id) if settings.map_ids else None
        )
        state = BitmapistState(
            original.app_name,
            settings,
            _RecordingRepository(repository, self),
            extension=original.extension,
            clock=original.clock,
            id_mapper=id_mapper,
            replay_in_background=False,
        )
        self.app.extensions[EXTENSION_KEY] = state
        self._marks.clear()
        return state

    def use_fakeredis(self) -> Any:
        """Switch the app to a new, empty fakeredis (a Redis in the process) and return its
        client, to look at the keys as bitmapist would (``trackist_user:paid_2026-11-27``).

        Needs fakeredis: ``pip install 'flask-bitmapist[testing]'``; without it
        :class:`~flask_bitmapist.exceptions.MissingExtra`. Marks recorded so far are
        forgotten, with the store they were in.
        """
        self._fake_redis = import_extra("fakeredis", "testing", "analytics.use_fakeredis()")
        self.reset()
        return self._client

    def reset(self) -> None:
        """Start again from an empty store (of the same kind) and an empty :meth:`marks`."""
        if self._fake_redis is None:
            self.state = self._install(InMemoryRepository())
            return
        self._client = self._fake_redis.FakeRedis(server=self._fake_redis.FakeServer())
        prefix = self._original.settings.key_prefix
        self.state = self._install(RedisRepository(self._client, prefix=prefix))

    def close(self) -> None:
        """Give the app back its own storage."""
        if self.app.extensions.get(EXTENSION_KEY) is self.state:
            self.app.extensions[EXTENSION_KEY] = self._original

    def __enter__(self) -> Analytics:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what was marked -------------------------------------------------------------------

    def _written(self, marks: Sequence[Mark], *, unmark: bool) -> None:
        ids = self.state.original_ids([mark.user_id for mark in marks])
        records = [
            Marked(mark.event, user_id, mark.moment.date())
            for mark, user_id in zip(marks, ids, strict=True)
        ]
        if not unmark:
            self._marks.extend(records)
            return
        cleared = set(records)
        self._marks[:] = [record for record in self._marks if record not in cleared]

    def marks(self) -> list[Marked]:
        """The ``(event, user_id, period)`` triples written during the test, in order:
        one per mark (a mark made twice is listed twice; an unmark takes its marks out),
        ``period`` being the day in the app's zone."""
        return list(self._marks)

    def assert_marked(self, event: str, user_id: object, at: date | None = None) -> None:
        """Fail unless ``user_id`` was marked ``event``: on the day of ``at`` in the app's
        zone (a date, or a datetime, naive meaning local time there), or without ``at`` at
        any time. The failure says which events the user did get."""
        if not self._has(event, user_id, at):
            raise AssertionError(
                f"user {user_id!r} was not marked {event!r}{self._when(at)}; "
                + self._what_they_got(user_id)
            )

    def assert_not_marked(self, event: str, user_id: object, at: date | None = None) -> None:
        """Fail if ``user_id`` was marked ``event`` (on the day of ``at``, or at any time)."""
        if self._has(event, user_id, at):
            raise AssertionError(
                f"user {user_id!r} was marked {event!r}{self._when(at)}; "
                + self._what_they_got(user_id)
            )

    def _day(self, at: date) -> Period:
        zone = self.state.zone
        if isinstance(at, datetime):
            return Period.containing(TimeGroup.DAY, self.state.moment(at), zone)
        if isinstance(at, date):
            return Period.at(TimeGroup.DAY, datetime.combine(at, time()), zone)
        raise TypeError(f"at must be a date or a datetime, got {at!r}")

    def _number(self, user_id: object) -> int | None:
        """The bitmap int of ``user_id``; None for an id the map never gave out."""
        if self.state.id_mapper is None:
            return validate_user_id(user_id, self.state.settings.max_user_id)
        return self.state.id_mapper.find([user_id])[0]  # type: ignore[list-item]

    def _has(self, event: str, user_id: object, at: date | None) -> bool:
        event = validate_event_name(event)
        number = self._number(user_id)
        if number is None:
            return False
        if at is not None:
            return number in self.state.engine.users(EventRef(event), self._day(at))
        labels = self.state.repository.stored_months([event])[event]
        months = [
            Period.at(TimeGroup.MONTH, datetime.combine(label, time()), self.state.zone)
            for label in sorted(labels)
        ]
        return any(
            number in bitmap
            for bitmap in self.state.repository.fetch([BitmapId(event, m) for m in months])
        )

    def _when(self, at: date | None) -> str:
        if at is None:
            return ""
        return f" on {self._day(at).key_suffix} ({self.state.settings.timezone_name})"

    def _what_they_got(self, user_id: object) -> str:
        days: dict[str, list[str]] = {}
        for record in self._marks:
            if record.user_id == user_id:
                shown = days.setdefault(record.event, [])
                if record.period.isoformat() not in shown:
                    shown.append(record.period.isoformat())
        if not days:
            return f"user {user_id!r} got no mark during this test"
        got = "; ".join(f"{event} on {', '.join(on)}" for event, on in days.items())
        return f"user {user_id!r} got: {got}"

    def __repr__(self) -> str:
        return f"<Analytics app={self.app.name!r} marks={len(self._marks)}>"
