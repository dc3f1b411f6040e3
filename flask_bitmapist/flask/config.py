"""Configuration keys and their defaults.

``init_app`` fills ``app.config`` with these defaults (``setdefault``: values the app set
win), then reads them once into a frozen :class:`Settings`
(:meth:`Settings.from_config` checks every key, its error naming the key and the value).

======================================  ========================================  ==============
Key                                     Meaning                                   Default
======================================  ========================================  ==============
``BITMAPIST_REDIS_URL``                 where bitmaps live: ``redis://``,         ``redis://localhost:6379``
                                        ``rediss://`` (TLS), ``unix://``,
                                        ``sqlite:///name.db`` (the embedded
                                        store, in the instance folder), or
                                        ``memory://`` (in-process, for tests)
``BITMAPIST_REDIS_CLUSTER``             the URL names a Redis Cluster node        ``False``
``BITMAPIST_KEY_PREFIX``                prefix of every key (bitmapist's)         ``"trackist_"``
``BITMAPIST_TRACK_HOURLY``              marks also set the hour's bitmap: True,   ``False``
                                        or a list of event names and glob
                                        patterns (``["checkout:*"]``)
``BITMAPIST_TRACK_UNIQUE``              marks also set the lifetime flag          ``False``
``BITMAPIST_MAX_USER_ID``               largest user id accepted (one mark of     ``2**26 - 1``
                                        id N allocates N/8 bytes per key; at
                                        most ``2**32 - 1``)
``BITMAPIST_RAISE_ON_ERROR``            storage failures while marking raise      ``False``
                                        instead of being buffered for replay,
                                        logged and counted
``BITMAPIST_DISABLE_BLUEPRINT``         do not register the dashboard             ``False``
``BITMAPIST_DASHBOARD_PERMISSION``      callable deciding who sees the dashboard  ``None``
``BITMAPIST_MAX_COHORT_CELLS``          largest cohort (rows x columns)           ``20000``
``BITMAPIST_MAX_EXPRESSION_TERMS``      most event names in one expression        ``100``
                                        (at most 10000)
``BITMAPIST_MAX_READ_KEYS``             most bitmaps one answer may read          ``20000``
                                        (series x terms x periods, rolling and
                                        history included; more is a 400)
``BITMAPIST_MAX_READ_BYTES``            most bytes one answer may read, from the  ``64 MiB``
                                        stored lengths, before reading
``BITMAPIST_URL_PREFIX``                where the dashboard is mounted            ``"/bitmapist"``
``BITMAPIST_MAP_IDS``                   map str/UUID ids to ints                  ``False``
``BITMAPIST_SOCKET_TIMEOUT``            seconds to wait for a Redis answer        ``0.5``
                                        (SQLite: for another writer's lock)
``BITMAPIST_CONNECT_TIMEOUT``           seconds to wait for a Redis connection    ``0.5``
``BITMAPIST_ERROR_LOG_INTERVAL``        seconds between two summaries of an       ``60.0``
                                        outage in the log
``BITMAPIST_TIMEZONE``                  the app's calendar: an IANA zone name     ``"UTC"``
                                        (periods, naive times, ``now``)
``BITMAPIST_REPLAY_BUFFER``             marks kept per process for replay while   ``60000``
                                        storage is down (0: drop them)
``BITMAPIST_BREAKER_INTERVAL``          seconds storage is skipped after a        ``0.5``
                                        failure (doubling while it lasts)
``BITMAPIST_BREAKER_MAX_INTERVAL``      the longest it is skipped at a time       ``5.0``
``BITMAPIST_MAX_PROPERTY_VALUES``       most values one property may hold         ``1000``
``BITMAPIST_MAX_BREAKDOWN_GROUPS``      most groups of a breakdown, before the    ``20``
                                        group of everyone else
``BITMAPIST_RETENTION``                 days kept per time group after a period   ``None``
                                        ends (``{"hours": 14, "days": 400}``);
                                        groups not named are kept forever
======================================  ========================================  ==============
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from flask_bitmapist.domain import (
    DEFAULT_MAX_COHORT_CELLS,
    DEFAULT_MAX_EXPRESSION_TERMS,
    DEFAULT_MAX_PROPERTY_VALUES,
    DEFAULT_MAX_USER_ID,
    NO_RETENTION,
    REDIS_MAX_USER_ID,
    UTC,
    InvalidRetention,
    RetentionPolicy,
    validate_stored_event_name,
    zone_name,
)
from flask_bitmapist.exceptions import InvalidConfiguration
from flask_bitmapist.infra import DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT, redact_url
from flask_bitmapist.infra.breaker import DEFAULT_INTERVAL, DEFAULT_MAX_INTERVAL
from flask_bitmapist.services.answers import DEFAULT_MAX_READ_BYTES, DEFAULT_MAX_READ_KEYS
from flask_bitmapist.services.replay import DEFAULT_REPLAY_BUFFER
from flask_bitmapist.services.segments import DEFAULT_MAX_BREAKDOWN_GROUPS

__all__ = [
    "DEFAULTS",
    "DEFAULT_BREAKER_INTERVAL",
    "DEFAULT_BREAKER_MAX_INTERVAL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DASHBOARD_PERMISSION",
    "DEFAULT_DISABLE_BLUEPRINT",
    "DEFAULT_ERROR_LOG_INTERVAL",
    "DEFAULT_KEY_PREFIX",
    "DEFAULT_MAP_IDS",
    "DEFAULT_MAX_BREAKDOWN_GROUPS",
    "DEFAULT_MAX_COHORT_CELLS",
    "DEFAULT_MAX_EXPRESSION_TERMS",
    "DEFAULT_MAX_PROPERTY_VALUES",
    "DEFAULT_MAX_READ_BYTES",
    "DEFAULT_MAX_READ_KEYS",
    "DEFAULT_MAX_USER_ID",
    "DEFAULT_RAISE_ON_ERROR",
    "DEFAULT_REDIS_CLUSTER",
    "DEFAULT_REDIS_URL",
    "DEFAULT_REPLAY_BUFFER",
    "DEFAULT_RETENTION",
    "DEFAULT_SOCKET_TIMEOUT",
    "DEFAULT_TIMEZONE",
    "DEFAULT_TRACK_HOURLY",
    "DEFAULT_TRACK_UNIQUE",
    "DEFAULT_URL_PREFIX",
    "EXTENSION_KEY",
    "MAX_BREAKDOWN_GROUPS_SETTING",
    "MAX_EXPRESSION_TERMS_SETTING",
    "MAX_PROPERTY_VALUES_SETTING",
    "Settings",
]

#: The key of the per-app state in ``app.extensions``.
EXTENSION_KEY: Final = "bitmapist"

#: 0.1's default: a Redis on this machine.
DEFAULT_REDIS_URL: Final = "redis://localhost:6379"
DEFAULT_REDIS_CLUSTER: Final = False
DEFAULT_TRACK_HOURLY: Final = False
DEFAULT_TRACK_UNIQUE: Final = False
DEFAULT_RAISE_ON_ERROR: Final = False
DEFAULT_DISABLE_BLUEPRINT: Final = False
#: None: the dashboard is served only while ``app.debug`` or ``app.testing`` is on.
DEFAULT_DASHBOARD_PERMISSION: Final = None
DEFAULT_URL_PREFIX: Final = "/bitmapist"
DEFAULT_MAP_IDS: Final = False
#: Short on purpose: a slow or dead Redis must not hold up the host app's views.
DEFAULT_SOCKET_TIMEOUT: Final = DEFAULT_TIMEOUT
DEFAULT_CONNECT_TIMEOUT: Final = DEFAULT_TIMEOUT
#: A dead Redis fails every request; one log line a minute (with a count) is enough.
DEFAULT_ERROR_LOG_INTERVAL: Final = 60.0
#: bitmapist's calendar: apps sharing keys with bitmapist writers must keep it.
DEFAULT_TIMEZONE: Final = "UTC"
#: The store is skipped 0.5 s after a failure, then 1, 2, 4 and at most 5 s while it fails:
#: requests stop paying timeouts, and storage that is back is used within 5 s.
DEFAULT_BREAKER_INTERVAL: Final = DEFAULT_INTERVAL
DEFAULT_BREAKER_MAX_INTERVAL: Final = DEFAULT_MAX_INTERVAL
#: bitmapist's behaviour: no key expires.
DEFAULT_RETENTION: Final = None

#: Every configuration key and its default, in the order of the table above.
DEFAULTS: Final[Mapping[str, object]] = {
    "BITMAPIST_REDIS_URL": DEFAULT_REDIS_URL,
    "BITMAPIST_REDIS_CLUSTER": DEFAULT_REDIS_CLUSTER,
    "BITMAPIST_KEY_PREFIX": DEFAULT_KEY_PREFIX,
    "BITMAPIST_TRACK_HOURLY": DEFAULT_TRACK_HOURLY,
    "BITMAPIST_TRACK_UNIQUE": DEFAULT_TRACK_UNIQUE,
    "BITMAPIST_MAX_USER_ID": DEFAULT_MAX_USER_ID,
    "BITMAPIST_RAISE_ON_ERROR": DEFAULT_RAISE_ON_ERROR,
    "BITMAPIST_DISABLE_BLUEPRINT": DEFAULT_DISABLE_BLUEPRINT,
    "BITMAPIST_DASHBOARD_PERMISSION": DEFAULT_DASHBOARD_PERMISSION,
    "BITMAPIST_MAX_COHORT_CELLS": DEFAULT_MAX_COHORT_CELLS,
    "BITMAPIST_MAX_EXPRESSION_TERMS": DEFAULT_MAX_EXPRESSION_TERMS,
    "BITMAPIST_MAX_READ_KEYS": DEFAULT_MAX_READ_KEYS,
    "BITMAPIST_MAX_READ_BYTES": DEFAULT_MAX_READ_BYTES,
    "BITMAPIST_URL_PREFIX": DEFAULT_URL_PREFIX,
    "BITMAPIST_MAP_IDS": DEFAULT_MAP_IDS,
    "BITMAPIST_SOCKET_TIMEOUT": DEFAULT_SOCKET_TIMEOUT,
    "BITMAPIST_CONNECT_TIMEOUT": DEFAULT_CONNECT_TIMEOUT,
    "BITMAPIST_ERROR_LOG_INTERVAL": DEFAULT_ERROR_LOG_INTERVAL,
    "BITMAPIST_TIMEZONE": DEFAULT_TIMEZONE,
    "BITMAPIST_REPLAY_BUFFER": DEFAULT_REPLAY_BUFFER,
    "BITMAPIST_BREAKER_INTERVAL": DEFAULT_BREAKER_INTERVAL,
    "BITMAPIST_BREAKER_MAX_INTERVAL": DEFAULT_BREAKER_MAX_INTERVAL,
    "BITMAPIST_MAX_PROPERTY_VALUES": DEFAULT_MAX_PROPERTY_VALUES,
    "BITMAPIST_MAX_BREAKDOWN_GROUPS": DEFAULT_MAX_BREAKDOWN_GROUPS,
    "BITMAPIST_RETENTION": DEFAULT_RETENTION,
}


#: The highest BITMAPIST_MAX_EXPRESSION_TERMS accepted: past it one cohort reads hundreds
#: of thousands of bitmaps and holds Redis for seconds.
MAX_EXPRESSION_TERMS_SETTING = 10_000
#: The highest BITMAPIST_MAX_BREAKDOWN_GROUPS accepted: each group is one more answer.
MAX_BREAKDOWN_GROUPS_SETTING = 1_000
#: The highest BITMAPIST_MAX_PROPERTY_VALUES accepted: moving a user tests one bit per
#: value of the property in one script run, which holds Redis for it.
MAX_PROPERTY_VALUES_SETTING = 100_000


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
    max_read_keys: int = DEFAULT_MAX_READ_KEYS
    max_read_bytes: int = DEFAULT_MAX_READ_BYTES
    max_property_values: int = DEFAULT_MAX_PROPERTY_VALUES
    max_breakdown_groups: int = DEFAULT_MAX_BREAKDOWN_GROUPS
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
            max_read_keys=_integer(config, "BITMAPIST_MAX_READ_KEYS", 1, 10**9),
            max_read_bytes=_integer(config, "BITMAPIST_MAX_READ_BYTES", 1, 2**50),
            max_property_values=_integer(
                config, "BITMAPIST_MAX_PROPERTY_VALUES", 1, MAX_PROPERTY_VALUES_SETTING
            ),
            max_breakdown_groups=_integer(
                config, "BITMAPIST_MAX_BREAKDOWN_GROUPS", 1, MAX_BREAKDOWN_GROUPS_SETTING
            ),
            retention=_retention(config, "BITMAPIST_RETENTION"),
        )

    @property
    def timezone_name(self) -> str:
        """The zone as shown on pages and in the CLI: ``"America/Los_Angeles"``, ``"UTC"``."""
        return zone_name(self.timezone)
