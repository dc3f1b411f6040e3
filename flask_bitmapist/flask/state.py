"""What Flask-Bitmapist keeps per app: its settings, its storage, its answers, its clock.

Every function of the package finds these through :func:`current_state`, i.e. through the
current Flask app, so several apps in one process each use their own storage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone, tzinfo
from typing import Any

from flask import current_app, has_app_context

from flask_bitmapist.domain import BitmapRepository, CohortEngine, IdMapper, localize
from flask_bitmapist.flask.config import EXTENSION_KEY, Settings
from flask_bitmapist.services.answers import KINDS, Answers, ReadBudget
from flask_bitmapist.services.failures import OutageReport
from flask_bitmapist.services.marking import MarkingPolicy
from flask_bitmapist.services.replay import MarkingStatus, MarkRecorder

# Settings is defined in config (where the keys and their defaults are) and re-exported.
__all__ = ["BitmapistState", "Clock", "Settings", "current_state"]

#: Returns the current time; the state's only source of "now".
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class BitmapistState:
    """Flask-Bitmapist's state for one app, kept in ``app.extensions["bitmapist"]``.

    ``settings`` (:class:`Settings`), ``repository`` (the storage), ``answers`` (the
    :class:`~flask_bitmapist.services.answers.Answers` every front end asks), ``engine``
    (their bitmap reader), ``id_mapper`` (the map of
    str/UUID user ids to bitmap ints with ``BITMAPIST_MAP_IDS``, else None), ``marking``
    (the :class:`~flask_bitmapist.services.marking.MarkingPolicy` every mark is built
    and mapped with), ``recorder`` (writes marks failing open, with the replay buffer and
    the counters of :meth:`status`), ``read_outages`` (the dashboard's rate-limited
    warnings), and :meth:`now`, the only clock the package reads.
    """

    def __init__(
        self,
        app_name: str,
        settings: Settings,
        repository: BitmapRepository,
        *,
        extension: object = None,
        clock: Clock | None = None,
        id_mapper: IdMapper | None = None,
        replay_in_background: bool = True,
    ) -> None:
        """Build the state; ``init_app`` does this, tests may too (with
        ``replay_in_background=False`` no replay thread is started: call
        ``recorder.retry_once()``)."""
        self.app_name = app_name
        self.settings = settings
        self.repository = repository
        self.id_mapper = id_mapper
        self.marking = MarkingPolicy(
            hourly=settings.track_hourly,
            unique=settings.track_unique,
            max_user_id=settings.max_user_id,
            map_ids=id_mapper is not None,
            zone=settings.timezone,
            retention=settings.retention,
        )
        self._clock = clock or _utc_now
        #: Every answer of the app, through one pipeline: its zone and clock, its bounds,
        #: its read budget, the periods its retention keeps. Reads stop at the app's
        #: largest user id.
        self.answers = Answers(
            repository,
            kinds=KINDS,
            zone=settings.timezone,
            clock=lambda: self._clock(),
            max_user_id=settings.max_user_id,
            max_terms=settings.max_expression_terms,
            max_cells=settings.max_cohort_cells,
            budget=ReadBudget(keys=settings.max_read_keys, bytes=settings.max_read_bytes),
            retention=settings.retention,
            max_breakdown_groups=settings.max_breakdown_groups,
        )
        self.extension = extension
        server = getattr(repository, "server", type(repository).__name__)
        self.recorder = MarkRecorder(
            repository,
            policy=self.marking,
            id_mapper=id_mapper,
            report=OutageReport(
                f"storage of app {app_name!r} ({server})",
                advice=(
                    f"Marks wait in this process's replay buffer (at most "
                    f"{settings.replay_buffer:,}) and are written when it answers; set "
                    "BITMAPIST_RAISE_ON_ERROR = True to raise instead."
                    if settings.replay_buffer
                    else "Marks are dropped (BITMAPIST_REPLAY_BUFFER = 0); set "
                    "BITMAPIST_RAISE_ON_ERROR = True to raise instead."
                ),
                interval=settings.error_log_interval,
            ),
            capacity=settings.replay_buffer,
            gate=getattr(repository, "breaker", None),
            raise_on_error=settings.raise_on_error,
            background=replay_in_background,
        )
        self.read_outages = OutageReport(
            f"storage of the dashboard of app {app_name!r} ({server})",
            advice="Pages answer 503 until it is back.",
            interval=settings.error_log_interval,
        )

    @property
    def engine(self) -> CohortEngine:
        """The bitmap reader of the app's answers (no read past ``BITMAPIST_MAX_USER_ID``'s
        byte): the events page and 0.1's query API read through it."""
        return self.answers.reader

    @property
    def clock(self) -> Clock:
        """The clock :meth:`now` reads (``FlaskBitmapist(clock=...)``)."""
        return self._clock

    @property
    def zone(self) -> tzinfo:
        """The app's time zone (``BITMAPIST_TIMEZONE``): the calendar of its periods."""
        return self.settings.timezone

    def now(self) -> datetime:
        """The current time in the app's zone (aware): it carries the app's calendar."""
        return self.answers.now()

    def moment(self, moment: datetime | None) -> datetime:
        """``moment`` in the app's zone (naive means local time there), or :meth:`now`.

        Raises :class:`~flask_bitmapist.domain.InvalidMoment` for what is not a datetime.
        """
        return self.now() if moment is None else localize(moment, self.zone)

    def original_ids(self, ints: Sequence[int]) -> list[object]:
        """The app's user ids behind bitmap ints: the ints themselves unless ids are mapped.

        With ``BITMAPIST_MAP_IDS`` an int the map never gave out (a bit written around the
        map, e.g. by bitmapist directly) is returned as it is.
        """
        if self.id_mapper is None:
            return list(ints)
        originals = self.id_mapper.originals(ints)
        return [
            n if original is None else original for n, original in zip(ints, originals, strict=True)
        ]

    @property
    def failed_marks(self) -> int:
        """How many marks (and unmarks) were not written when they were made, since start:
        buffered for replay, or dropped. :meth:`status` tells what became of them."""
        return self.recorder.failed_marks

    def status(self) -> MarkingStatus:
        """This process's marking counters (written, buffered, replayed, dropped, unknown),
        the replay buffer (pending, capacity) and the circuit breaker (open, retry in)."""
        return self.recorder.status()

    def close(self, timeout: float = 2.0) -> int:
        """Stop this app's replay thread and close its storage connections: for a process
        (or a test) that is done with the app. Marks still waiting in the replay buffer
        are dropped, counted ``dropped`` and returned; while storage answers there are
        none. Marking afterwards still works (it reconnects), with no background replay.

        Raises ``TimeoutError`` when the replay thread, busy with a write, did not stop
        within ``timeout`` seconds.
        """
        discarded = self.recorder.close(timeout, discard=True)
        if discarded:
            self.recorder.report.logger.warning(
                "Flask-Bitmapist: app %r closed with %s marks still waiting for storage; "
                "they are dropped.",
                self.app_name,
                f"{discarded:,}",
            )
        close = getattr(self.repository, "close", None)
        if callable(close):
            close()
        return discarded

    @property
    def redis_client(self) -> Any:
        """The Redis client behind the storage, or None for the in-process store.

        A Redis Cluster's client is made on first use: until one of its nodes answers,
        this raises :class:`~flask_bitmapist.domain.StorageUnavailable`.
        """
        return getattr(self.repository, "client", None)

    @property
    def systems(self) -> dict[str, Any]:
        """0.1's ``SYSTEMS``: ``{"default": <Redis client>}``.

        With the in-process store (``memory://``) there is no Redis client, and
        ``"default"`` maps to the store itself.
        """
        client = self.redis_client
        return {"default": self.repository if client is None else client}

    # -- 0.1's attributes, read from app.extensions["bitmapist"] by 0.1 code and tests --

    @property
    def redis_url(self) -> str:
        """0.1: the storage URL (``BITMAPIST_REDIS_URL``)."""
        return self.settings.redis_url

    @property
    def TRACK_HOURLY(self) -> bool | tuple[str, ...]:  # 0.1 spelled it in capitals
        """0.1: whether marks also set the hour's bitmap (``BITMAPIST_TRACK_HOURLY``)."""
        return self.settings.track_hourly

    @property
    def SYSTEMS(self) -> dict[str, Any]:  # 0.1 spelled it in capitals
        """0.1: system name -> Redis client (see :attr:`systems`)."""
        return self.systems

    def __repr__(self) -> str:
        return f"<BitmapistState app={self.app_name!r} {self.settings!r}>"


def current_state() -> BitmapistState:
    """The :class:`BitmapistState` of the current Flask app.

    Raises :class:`RuntimeError` outside an application context, or when
    ``FlaskBitmapist.init_app`` was not called for the current app.
    """
    if not has_app_context():
        raise RuntimeError(
            "Flask-Bitmapist needs an application context: call it from a view, a CLI "
            "command, or inside `with app.app_context():`."
        )
    state = current_app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, BitmapistState):
        raise RuntimeError(
            f"Flask-Bitmapist is not initialised on app {current_app.name!r}: "
            "did you forget init_app? (FlaskBitmapist(app) or ext.init_app(app))"
        )
    return state
