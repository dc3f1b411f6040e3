"""The Flask extension object: ``FlaskBitmapist(app)`` or ``FlaskBitmapist()`` + ``init_app``.

>>> from flask import Flask
>>> from flask_bitmapist import FlaskBitmapist
>>> app = Flask(__name__)
>>> app.config["BITMAPIST_REDIS_URL"] = "memory://"
>>> flaskbitmapist = FlaskBitmapist()
>>> flaskbitmapist.init_app(app)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from flask import Flask, current_app, has_app_context

from flask_bitmapist.domain import BitmapRepository, IdMapper, InvalidStorageConfig
from flask_bitmapist.exceptions import InvalidConfiguration
from flask_bitmapist.flask import signals
from flask_bitmapist.flask.cli import bitmapist_cli
from flask_bitmapist.flask.config import DEFAULTS, EXTENSION_KEY
from flask_bitmapist.flask.dashboard import create_blueprint
from flask_bitmapist.flask.state import BitmapistState, Clock, Settings, current_state
from flask_bitmapist.infra import id_mapper_for, repository_from_url
from flask_bitmapist.infra.breaker import CircuitBreaker
from flask_bitmapist.infra.sqlite_file import absolute_sqlite_url
from flask_bitmapist.services.replay import MarkingStatus

__all__ = [
    "BitmapistState",
    "FlaskBitmapist",
    "RepositoryFactory",
    "Settings",
    "current_state",
    "repository_for",
]

#: Builds an app's storage from its settings (``FlaskBitmapist(repository_factory=...)``).
RepositoryFactory = Callable[[Settings], BitmapRepository]


def repository_for(settings: Settings) -> BitmapRepository:
    """The storage ``settings.redis_url`` names, with the configured prefix and timeouts.

    ``memory://`` is a new in-process store; ``sqlite:///name.db`` the embedded store in a
    file of the app's instance folder; ``redis://``, ``rediss://`` and ``unix://`` keep
    their password, user, database number and TLS (see
    :func:`~flask_bitmapist.infra.repository_from_url`).
    """
    return repository_from_url(
        settings.redis_url,
        prefix=settings.key_prefix,
        cluster=settings.redis_cluster,
        socket_timeout=settings.socket_timeout,
        connect_timeout=settings.connect_timeout,
        breaker=CircuitBreaker(
            interval=settings.breaker_interval, max_interval=settings.breaker_max_interval
        ),
    )


def _id_mapper(settings: Settings, repository: BitmapRepository) -> IdMapper | None:
    """With ``BITMAPIST_MAP_IDS``, the id map kept beside the bitmaps (same Redis, prefix);
    it hands out no int above ``BITMAPIST_MAX_USER_ID``."""
    if not settings.map_ids:
        return None
    try:
        return id_mapper_for(repository, max_int=settings.max_user_id)
    except InvalidStorageConfig as exc:
        raise InvalidConfiguration(f"BITMAPIST_MAP_IDS: {exc}", key="BITMAPIST_MAP_IDS") from exc


def _in_instance_folder(settings: Settings, app: Flask) -> Settings:
    """A relative ``sqlite:///name.db`` made absolute in the app's instance folder (created
    if missing), as Flask-SQLAlchemy does for its SQLite URLs; other settings unchanged."""
    url = absolute_sqlite_url(settings.redis_url, app.instance_path)
    if url == settings.redis_url:
        return settings
    try:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidConfiguration(
            f"BITMAPIST_REDIS_URL {settings.redis_url!r} is in the instance folder "
            f"{app.instance_path}, which cannot be created: {exc}",
            key="BITMAPIST_REDIS_URL",
        ) from exc
    return attrs.evolve(settings, redis_url=url)


class FlaskBitmapist:
    """The Flask-Bitmapist extension; one object may serve several apps.

    Options are keyword-only and apply to every app the object is initialised on:

    - ``repository_factory``: builds each app's storage from its :class:`Settings`
      (default: from ``BITMAPIST_REDIS_URL``); for tests, e.g. over fakeredis.
    - ``clock``: returns the current time (default: the system clock, UTC).
    - ``replay_in_background``: replay buffered marks from a background thread (default
      True); with False only the next write replays them, or a test calling
      ``state.recorder.retry_once()``.

    The 0.1 attributes ``redis_url``, ``TRACK_HOURLY`` and ``SYSTEMS`` describe the
    current app, or outside an app context the app initialised last.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        repository_factory: RepositoryFactory | None = None,
        clock: Clock | None = None,
        replay_in_background: bool = True,
    ) -> None:
        """Create the extension, and initialise it on ``app`` when one is given."""
        self._repository_factory = repository_factory or repository_for
        self._clock = clock
        self._replay_in_background = replay_in_background
        self._last_state: BitmapistState | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set Flask-Bitmapist up on ``app``: config defaults, storage, Flask-Login hooks.

        Raises :class:`RuntimeError` when ``app`` already has Flask-Bitmapist, and
        :class:`~flask_bitmapist.exceptions.InvalidConfiguration` for a bad setting.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                f"Flask-Bitmapist is already initialised on app {app.name!r}; "
                "call init_app once per app."
            )
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        settings = _in_instance_folder(Settings.from_config(app.config), app)
        repository = self._repository_factory(settings)
        state = BitmapistState(
            app.name,
            settings,
            repository,
            extension=self,
            clock=self._clock,
            id_mapper=_id_mapper(settings, repository),
            replay_in_background=self._replay_in_background,
        )
        app.extensions[EXTENSION_KEY] = state
        signals.connect_login_signals()
        if not settings.disable_blueprint:
            app.register_blueprint(create_blueprint(settings))
        app.cli.add_command(bitmapist_cli)
        self._last_state = state

    @property
    def state(self) -> BitmapistState:
        """The current app's state; outside an app context, that of the app set up last."""
        if has_app_context():
            state = current_app.extensions.get(EXTENSION_KEY)
            if isinstance(state, BitmapistState) and state.extension is self:
                return state
        if self._last_state is None:
            raise RuntimeError(
                "Flask-Bitmapist is not initialised on any app: did you forget init_app?"
            )
        return self._last_state

    def status(self) -> MarkingStatus:
        """How marking went in this process for the current app (see
        :meth:`BitmapistState.status`): written, buffered, replayed, dropped and unknown
        marks, what waits in the replay buffer, and whether storage is being skipped.

        >>> flaskbitmapist.status().dropped  # doctest: +SKIP
        0
        """
        return self.state.status()

    @property
    def redis_url(self) -> str:
        """0.1: the storage URL (``BITMAPIST_REDIS_URL``)."""
        return self.state.redis_url

    @property
    def TRACK_HOURLY(self) -> bool | tuple[str, ...]:  # 0.1 spelled it in capitals
        """0.1: whether marks also set the hour's bitmap (``BITMAPIST_TRACK_HOURLY``)."""
        return self.state.TRACK_HOURLY

    @property
    def SYSTEMS(self) -> dict[str, Any]:  # 0.1 spelled it in capitals
        """0.1: system name -> Redis client, with ``"default"`` (see ``BitmapistState.systems``)."""
        return self.state.SYSTEMS

    def __repr__(self) -> str:
        return f"<FlaskBitmapist {self._last_state!r}>"
