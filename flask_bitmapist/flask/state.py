"""What Flask-Bitmapist keeps per app: its settings, its storage, its engine, its clock.

Every function of the package finds these through :func:`current_state`, i.e. through the
current Flask app, so several apps in one process each use their own storage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from flask import current_app, has_app_context

from flask_bitmapist.domain import (
    DEFAULT_MAX_PROPERTY_VALUES,
    NO_RETENTION,
    REDIS_MAX_USER_ID,
    UTC,
    BitmapRepository,
    CohortEngine,
    CohortSpec,
    FunnelSpec,
    IdMapper,
    InvalidRetention,
    LifecycleSpec,
    RetentionPolicy,
    StickinessSpec,
    TrendSpec,
    localize,
    validate_stored_event_name,
    zone_name,
)
from flask_bitmapist.exceptions import InvalidConfiguration
from flask_bitmapist.flask.config import DEFAULTS, EXTENSION_KEY
from flask_bitmapist.infra import redact_url
from flask_bitmapist.services.failures import OutageReport
from flask_bitmapist.services.marking import MarkingPolicy
from flask_bitmapist.services.replay import MarkingStatus, MarkRecorder
from flask_bitmapist.services.retention import check_window_kept

_Spec = TypeVar("_Spec", CohortSpec, TrendSpec, LifecycleSpec, StickinessSpec, FunnelSpec)

__all__ = ["BitmapistState", "Clock", "Settings", "current_state"]

#: The highest BITMAPIST_MAX_EXPRESSION_TERMS accepted: past it one cohort reads hundreds
#: of thousands of bitmaps and holds Redis for seconds.
MAX_EXPRESSION_TERMS_SETTING = 10_000
#: The highest BITMAPIST_MAX_PROPERTY_VALUES accepted: moving a user tests one bit per
#: value of the property in one script run, which holds Redis for it.
MAX_PROPERTY_VALUES_SETTING = 100_000

#: Returns the current time; the state's only source of "now".
Clock = Callable[[], datetime]


def _config_value(config: Mapping[str, Any], key: str) -> Any:
    return config.get(key, DEFAULTS[key])


def _flag(config: Mapping[str, Any], key: str) -> bool:
    value = _config_value(config, key)
    # A string such as "False" would be truthy: refuse it rather than guess.
    if not isinstance(value, bool):
        raise InvalidConfiguration(f"{key} must be True or False, got {value!r}", key=key)
    return value


def _integer(config: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = _config_value(config, key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidConfiguration(
            f"{key} must be an int between {low} and {high}, got {value!r}", key=key
        )
    return value


def _seconds(config: Mapping[str, Any], key: str, *, allow_zero: bool = False) -> float:
    value = _config_value(config, key)
    number_ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not number_ok or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "0 or more" if allow_zero else "more than 0"
        raise InvalidConfiguration(
            f"{key} must be a number of seconds, {bound}, got {value!r}", key=key
        )
    return float(value)


def _zone(config: Mapping[str, Any], key: str) -> tzinfo:
    value = _config_value(config, key)
    if isinstance(value, ZoneInfo):
        return UTC if value.key == "UTC" else value
    if not isinstance(value, str):
        raise InvalidConfiguration(
            f"{key} must be an IANA time zone name such as 'Europe/Paris', got {value!r}",
            key=key,
        )
    if value == "UTC":
        # The same object bitmapist-compatible code uses, so periods compare equal.
        return UTC
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidConfiguration(
            f"{key} must be an IANA time zone name such as 'Europe/Paris', got {value!r} "
            "(no such zone in the time zone database)",
            key=key,
        ) from exc


def _hourly(config: Mapping[str, Any], key: str) -> bool | tuple[str, ...]:
    """True, False, or a list of event names and glob patterns (a tuple of them)."""
    value = _config_value(config, key)
    if isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple, frozenset, set)):
        patterns = []
        for item in value:
            try:
                patterns.append(validate_stored_event_name(item))
            except ValueError as exc:
                raise InvalidConfiguration(
                    f"{key}: {item!r} is no event name or glob pattern ({exc})", key=key
                ) from exc
        return tuple(sorted(patterns)) if patterns else False
    raise InvalidConfiguration(
        f"{key} must be True, False, or a list of event names and glob patterns such as "
        f"['checkout:*'], got {value!r}",
        key=key,
    )


def _retention(config: Mapping[str, Any], key: str) -> RetentionPolicy:
    value = _config_value(config, key)
    try:
        return RetentionPolicy.create(value)
    except InvalidRetention as exc:
        named = f"{key}[{exc.field!r}]" if exc.field else key
        raise InvalidConfiguration(f"{named}: {exc}", key=key) from exc


def _text(config: Mapping[str, Any], key: str) -> str:
    value = _config_value(config, key)
    if not isinstance(value, str):
        raise InvalidConfiguration(f"{key} must be a str, got {value!r}", key=key)
    return value


@attrs.frozen
class Settings:
    """The ``BITMAPIST_*`` configuration of one app, validated once by ``init_app``.

    See :mod:`flask_bitmapist.flask.config` for the keys and defaults. ``repr`` hides the
    password of ``redis_url``.
    """

    redis_url: str = attrs.field(repr=redact_url)
    redis_cluster: bool
    key_prefix: str
    #: True, False, or the event names and glob patterns hourly tracking is on for.
    track_hourly: bool | tuple[str, ...]
    track_unique: bool
    max_user_id: int
    raise_on_error: bool
    disable_blueprint: bool
    dashboard_permission: Callable[..., Any] | None
    max_cohort_cells: int
    max_expression_terms: int
    url_prefix: str
    map_ids: bool
    socket_timeout: float
    connect_timeout: float
    error_log_interval: float
    replay_buffer: int
    breaker_interval: float
    breaker_max_interval: float
    timezone: tzinfo = UTC
    max_property_values: int = DEFAULT_MAX_PROPERTY_VALUES
    retention: RetentionPolicy = NO_RETENTION

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Read and check every ``BITMAPIST_*`` key; a missing key takes its default.

        Raises :class:`~flask_bitmapist.exceptions.InvalidConfiguration` naming the key
        and the value.
        """
        url = _text(config, "BITMAPIST_REDIS_URL")
        if "://" not in url:
            raise InvalidConfiguration(
                f"BITMAPIST_REDIS_URL must be a URL such as redis://localhost:6379 or "
                f"memory://, got {redact_url(url)!r}",
                key="BITMAPIST_REDIS_URL",
            )
        prefix = _text(config, "BITMAPIST_URL_PREFIX")
        if not prefix.startswith("/"):
            raise InvalidConfiguration(
                f"BITMAPIST_URL_PREFIX must start with '/', got {prefix!r}",
                key="BITMAPIST_URL_PREFIX",
            )
        permission = _config_value(config, "BITMAPIST_DASHBOARD_PERMISSION")
        if permission is not None and not callable(permission):
            raise InvalidConfiguration(
                f"BITMAPIST_DASHBOARD_PERMISSION must be a callable or None, got {permission!r}",
                key="BITMAPIST_DASHBOARD_PERMISSION",
            )
        breaker_interval = _seconds(config, "BITMAPIST_BREAKER_INTERVAL", allow_zero=True)
        breaker_max_interval = _seconds(config, "BITMAPIST_BREAKER_MAX_INTERVAL", allow_zero=True)
        if breaker_max_interval < breaker_interval:
            raise InvalidConfiguration(
                f"BITMAPIST_BREAKER_MAX_INTERVAL ({breaker_max_interval!r}) must not be below "
                f"BITMAPIST_BREAKER_INTERVAL ({breaker_interval!r})",
                key="BITMAPIST_BREAKER_MAX_INTERVAL",
            )
        return cls(
            redis_url=url,
            redis_cluster=_flag(config, "BITMAPIST_REDIS_CLUSTER"),
            key_prefix=_text(config, "BITMAPIST_KEY_PREFIX"),
            track_hourly=_hourly(config, "BITMAPIST_TRACK_HOURLY"),
            track_unique=_flag(config, "BITMAPIST_TRACK_UNIQUE"),
            max_user_id=_integer(config, "BITMAPIST_MAX_USER_ID", 0, REDIS_MAX_USER_ID),
            raise_on_error=_flag(config, "BITMAPIST_RAISE_ON_ERROR"),
            disable_blueprint=_flag(config, "BITMAPIST_DISABLE_BLUEPRINT"),
            dashboard_permission=permission,
            max_cohort_cells=_integer(config, "BITMAPIST_MAX_COHORT_CELLS", 1, 10**9),
            max_expression_terms=_integer(
                config, "BITMAPIST_MAX_EXPRESSION_TERMS", 1, MAX_EXPRESSION_TERMS_SETTING
            ),
            url_prefix=prefix,
            map_ids=_flag(config, "BITMAPIST_MAP_IDS"),
            socket_timeout=_seconds(config, "BITMAPIST_SOCKET_TIMEOUT"),
            connect_timeout=_seconds(config, "BITMAPIST_CONNECT_TIMEOUT"),
            error_log_interval=_seconds(config, "BITMAPIST_ERROR_LOG_INTERVAL", allow_zero=True),
            timezone=_zone(config, "BITMAPIST_TIMEZONE"),
            replay_buffer=_integer(config, "BITMAPIST_REPLAY_BUFFER", 0, 10**8),
            breaker_interval=breaker_interval,
            breaker_max_interval=breaker_max_interval,
            max_property_values=_integer(
                config, "BITMAPIST_MAX_PROPERTY_VALUES", 1, MAX_PROPERTY_VALUES_SETTING
            ),
            retention=_retention(config, "BITMAPIST_RETENTION"),
        )

    @property
    def timezone_name(self) -> str:
        """The zone as shown on pages and in the CLI: ``"America/Los_Angeles"``, ``"UTC"``."""
        return zone_name(self.timezone)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class BitmapistState:
    """Flask-Bitmapist's state for one app, kept in ``app.extensions["bitmapist"]``.

    ``settings`` (:class:`Settings`), ``repository`` (the storage), ``engine`` (a
    :class:`~flask_bitmapist.domain.CohortEngine` over it), ``id_mapper`` (the map of
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
        # Reads stop at the app's largest user id: bits another writer set past it are
        # not read (see DESIGN, "Limits"), so one huge id costs no read its 512 MiB.
        self.engine = CohortEngine(repository, max_user_id=settings.max_user_id)
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
        self._clock = clock or _utc_now

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
        return localize(self._clock(), self.zone)

    def kept(self, spec: _Spec) -> _Spec:
        """``spec`` if the periods its answer reads are still kept under
        ``BITMAPIST_RETENTION`` at the clock's time, else
        :class:`~flask_bitmapist.exceptions.PeriodsExpired` naming the field and the days
        kept (see :func:`~flask_bitmapist.services.retention.check_window_kept`)."""
        return check_window_kept(spec, self.settings.retention, self.now())

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
