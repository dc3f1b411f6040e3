"""Configuration keys and their defaults.

``init_app`` fills ``app.config`` with these defaults (``setdefault``: values the app set
win), then reads them once into a frozen :class:`~flask_bitmapist.flask.extension.Settings`.

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
``BITMAPIST_RETENTION``                 days kept per time group after a period   ``None``
                                        ends (``{"hours": 14, "days": 400}``);
                                        groups not named are kept forever
======================================  ========================================  ==============
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from flask_bitmapist.domain import (
    DEFAULT_MAX_COHORT_CELLS,
    DEFAULT_MAX_EXPRESSION_TERMS,
    DEFAULT_MAX_PROPERTY_VALUES,
    DEFAULT_MAX_USER_ID,
)
from flask_bitmapist.infra import DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT
from flask_bitmapist.infra.breaker import DEFAULT_INTERVAL, DEFAULT_MAX_INTERVAL
from flask_bitmapist.services.replay import DEFAULT_REPLAY_BUFFER

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
    "DEFAULT_MAX_COHORT_CELLS",
    "DEFAULT_MAX_EXPRESSION_TERMS",
    "DEFAULT_MAX_PROPERTY_VALUES",
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
    "BITMAPIST_RETENTION": DEFAULT_RETENTION,
}
