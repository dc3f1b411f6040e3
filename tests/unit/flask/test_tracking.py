"""Marking: mark_event, unmark_event, the @mark decorator, bad input, storage faults."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask, g
from flask_login import LoginManager, login_user

from flask_bitmapist import (
    BitmapistState,
    FlaskBitmapist,
    InvalidEventName,
    InvalidUserId,
    InvalidUserIdType,
    StorageUnavailable,
    current_state,
    mark,
    mark_event,
    unmark_event,
)
from flask_bitmapist.services.failures import OutageReport
from tests.unit.flask.support import (
    NOW,
    DownRepository,
    FixedClock,
    FlakyRepository,
    RecordingRepository,
    User,
    make_app,
    users_in,
)

# -- mark_event / unmark_event ------------------------------------------------------------


def test_mark_event_sets_month_week_and_day_but_not_hour(state: BitmapistState) -> None:
    mark_event("user:paid", 125)

    for group in ("month", "week", "day"):
        assert users_in(state, "user:paid", group, NOW) == [125]
    assert users_in(state, "user:paid", "hour", NOW) == []
    assert users_in(state, "user:paid", "day", NOW - timedelta(days=1)) == []


def test_mark_event_with_track_hourly_sets_the_hour(state: BitmapistState) -> None:
    mark_event("user:paid", 5, track_hourly=True)

    assert users_in(state, "user:paid", "hour", NOW) == [5]
    assert users_in(state, "user:paid", "hour", NOW - timedelta(hours=1)) == []


def test_track_hourly_defaults_to_the_apps_setting(clock: FixedClock) -> None:
    app = make_app(BITMAPIST_TRACK_HOURLY=True)
    FlaskBitmapist(app, clock=clock)

    with app.app_context():
        mark_event("user:paid", 5)
        mark_event("user:refunded", 6, track_hourly=False)
        assert users_in(current_state(), "user:paid", "hour", NOW) == [5]
        assert users_in(current_state(), "user:refunded", "hour", NOW) == []


def test_mark_event_at_a_given_moment(state: BitmapistState) -> None:
    when = datetime(2016, 10, 21, 16, 29, tzinfo=timezone.utc)

    mark_event("user:spilled_soda", 88, now=when)

    assert users_in(state, "user:spilled_soda", "day", when) == [88]
    assert users_in(state, "user:spilled_soda", "day", NOW) == []


def test_a_naive_now_is_utc(state: BitmapistState) -> None:
    # 23:30 UTC on the 31st; in UTC+2 it would already be the next month.
    mark_event("user:paid", 1, datetime(2026, 1, 31, 23, 30))

    assert users_in(state, "user:paid", "month", datetime(2026, 1, 15, tzinfo=timezone.utc)) == [1]
    assert users_in(state, "user:paid", "month", datetime(2026, 2, 15, tzinfo=timezone.utc)) == []


def test_an_aware_now_is_converted_to_utc(state: BitmapistState) -> None:
    tokyo = timezone(timedelta(hours=9))

    mark_event("user:paid", 1, datetime(2026, 2, 1, 8, 0, tzinfo=tokyo))

    assert users_in(state, "user:paid", "day", datetime(2026, 1, 31, tzinfo=timezone.utc)) == [1]


def test_track_unique_sets_the_lifetime_flag(clock: FixedClock) -> None:
    store = RecordingRepository()
    app = make_app(BITMAPIST_TRACK_UNIQUE=True)
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: store)

    with app.app_context():
        mark_event("user:paid", 1)
        mark_event("user:paid", 2, track_unique=False)

    assert [mark.unique for _, marks in store.writes for mark in marks] == [True, False]


def test_unmark_event_clears_what_mark_event_set(state: BitmapistState) -> None:
    mark_event("active", 126)
    mark_event("active", 127)

    unmark_event("active", 126)

    for group in ("month", "week", "day"):
        assert users_in(state, "active", group, NOW) == [127]


@pytest.mark.parametrize(
    ("event_name", "user_id", "error", "message"),
    [
        ("user paid", 1, InvalidEventName, "'user paid' contains ' '"),
        ("", 1, InvalidEventName, "must not be empty"),
        ("bitop_and", 1, InvalidEventName, "must not start with 'bitop_'"),
        ("user:paid", -1, InvalidUserId, "user id -1 is out of range"),
        ("user:paid", 2**32, InvalidUserId, "4294967296 is out of range"),
        ("user:paid", "42", InvalidUserIdType, "must be an int, got '42'"),
        ("user:paid", True, InvalidUserIdType, "got True"),
        ("user:paid", None, InvalidUserIdType, "got None"),
    ],
)
def test_bad_input_raises_naming_the_value_and_writes_nothing(
    clock: FixedClock,
    event_name: str,
    user_id: object,
    error: type[Exception],
    message: str,
) -> None:
    store = RecordingRepository()
    # Fail-open mode (the default) is about storage; bad input is a bug and still raises.
    app = make_app()
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: store)

    with app.app_context():
        with pytest.raises(error, match=message):
            mark_event(event_name, user_id)
        with pytest.raises(error, match=message):
            unmark_event(event_name, user_id)

    assert store.writes == []


def test_ids_above_the_configured_maximum_are_refused(clock: FixedClock) -> None:
    app = make_app(BITMAPIST_MAX_USER_ID=1000)
    FlaskBitmapist(app, clock=clock)

    with app.app_context():
        mark_event("user:paid", 1000)
        with pytest.raises(InvalidUserId, match=r"1001 is out of range 0\.\.1000"):
            mark_event("user:paid", 1001)


# -- @mark ----------------------------------------------------------------------------


def test_mark_decorator_marks_the_given_id_on_each_call(app: Flask, ext: FlaskBitmapist) -> None:
    @app.route("/")
    @mark("test", 1)
    def index() -> str:
        return ""

    @app.route("/hourly")
    @mark("test_hourly", 2, track_hourly=True)
    def index_hourly() -> str:
        return ""

    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/hourly").status_code == 200

    with app.app_context():
        state = current_state()
        assert users_in(state, "test", "month", NOW) == [1]
        assert users_in(state, "test", "week", NOW) == [1]
        assert users_in(state, "test", "day", NOW) == [1]
        assert users_in(state, "test", "hour", NOW) == []
        assert users_in(state, "test_hourly", "hour", NOW) == [2]


def test_mark_decorator_keeps_the_functions_name_and_doc() -> None:
    @mark("x", 1)
    def view() -> str:
        """The docstring."""
        return ""

    assert view.__name__ == "view"
    assert view.__doc__ == "The docstring."


def test_mark_decorator_at_a_fixed_moment(app: Flask, ext: FlaskBitmapist) -> None:
    when = datetime(2016, 9, 12, 10, 0)

    @app.route("/")
    @mark("index:visited", 4, now=when)
    def index() -> str:
        return ""

    app.test_client().get("/")

    with app.app_context():
        assert users_in(current_state(), "index:visited", "day", when) == [4]
        assert users_in(current_state(), "index:visited", "day", NOW) == []


def test_mark_decorator_with_a_callable_calls_it_on_each_request(
    app: Flask, ext: FlaskBitmapist
) -> None:
    @app.route("/<int:account>")
    @mark("page:viewed", lambda: g.account)
    def page(account: int) -> str:
        return str(account)

    @app.url_value_preprocessor
    def remember(endpoint: str | None, values: dict[str, object] | None) -> None:
        g.account = (values or {}).get("account")

    client = app.test_client()
    for account in (3, 5, 8):
        client.get(f"/{account}")

    with app.app_context():
        assert users_in(current_state(), "page:viewed", "day", NOW) == [3, 5, 8]


def test_mark_decorator_marks_nothing_when_the_callable_returns_none(
    app: Flask, ext: FlaskBitmapist
) -> None:
    @app.route("/")
    @mark("page:viewed", lambda: None)
    def page() -> str:
        return "ok"

    assert app.test_client().get("/").status_code == 200
    with app.app_context():
        assert users_in(current_state(), "page:viewed", "day", NOW) == []


def test_mark_decorator_refuses_a_bad_event_name_at_decoration_time() -> None:
    with pytest.raises(InvalidEventName, match="'index visited'"):
        mark("index visited", 1)


def test_mark_decorator_refuses_a_bad_id_on_the_call_writing_nothing(clock: FixedClock) -> None:
    store = RecordingRepository()
    app = make_app()
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: store)

    @mark("x", -5)
    def job() -> str:
        return "ran"

    with app.app_context(), pytest.raises(InvalidUserId, match="-5"):
        job()
    assert store.writes == []


def test_mark_decorator_works_on_plain_functions_in_an_app_context(
    state: BitmapistState,
) -> None:
    @mark("report:sent", 12)
    def send_report(recipient: str) -> str:
        return f"sent to {recipient}"

    assert send_report("ops") == "sent to ops"
    assert users_in(state, "report:sent", "day", NOW) == [12]


def test_mark_decorator_on_an_async_view(app: Flask, ext: FlaskBitmapist) -> None:
    @app.route("/async")
    @mark("async:visited", 21)
    async def async_view() -> str:
        return "async ok"

    response = app.test_client().get("/async")

    assert response.status_code == 200
    assert response.text == "async ok"
    with app.app_context():
        assert users_in(current_state(), "async:visited", "day", NOW) == [21]


@pytest.fixture
def login_app(app: Flask, ext: FlaskBitmapist) -> Flask:
    """``app`` with Flask-Login, ``/login/<id>`` and views marked for the current user."""
    login_manager = LoginManager(app)

    login_manager.user_loader(User.load)

    @app.route("/login/<int:user_id>")
    def login(user_id: int) -> str:
        login_user(User(user_id))
        return "logged in"

    @app.route("/default")
    @mark("page:default")
    def default() -> str:
        return "ok"

    from flask_login import current_user

    @app.route("/proxy")
    @mark("page:proxy", current_user)
    def proxy() -> str:
        return "ok"

    @app.route("/getter")
    @mark("page:getter", lambda: current_user.id)
    def getter() -> str:
        return "ok"

    return app


def test_mark_without_uuid_resolves_the_current_user_on_each_request(login_app: Flask) -> None:
    # 0.1.2 took `current_user.id` once, at import; each request must mark its own user.
    for user_id in (11, 22, 33):
        client = login_app.test_client()
        client.get(f"/login/{user_id}")
        for path in ("/default", "/proxy", "/getter"):
            assert client.get(path).status_code == 200

    with login_app.app_context():
        state = current_state()
        for event in ("page:default", "page:proxy", "page:getter"):
            assert users_in(state, event, "day", NOW) == [11, 22, 33]


def test_mark_without_uuid_marks_nothing_for_an_anonymous_visitor(login_app: Flask) -> None:
    response = login_app.test_client().get("/default")

    assert response.status_code == 200
    with login_app.app_context():
        assert users_in(current_state(), "page:default", "day", NOW) == []


def test_mark_without_uuid_needs_flask_login(app: Flask, ext: FlaskBitmapist) -> None:
    @mark("page:viewed")
    def view() -> str:
        return ""

    with app.test_request_context(), pytest.raises(RuntimeError, match="has no LoginManager"):
        view()


# -- storage faults ------------------------------------------------------------------------


@pytest.fixture
def down_app(clock: FixedClock) -> Flask:
    """An app whose storage is down, with a view marked by id (no replay thread: the
    tests decide when to retry)."""
    app = make_app()
    FlaskBitmapist(
        app,
        clock=clock,
        repository_factory=lambda settings: DownRepository(),
        replay_in_background=False,
    )

    @app.route("/")
    @mark("index:visited", 1)
    def index() -> str:
        mark_event("index:rendered", 1)
        return "still here"

    return app


def test_storage_down_the_view_still_answers_and_the_marks_are_buffered(
    down_app: Flask,
) -> None:
    client = down_app.test_client()

    responses = [client.get("/") for _ in range(3)]

    assert [(r.status_code, r.text) for r in responses] == [(200, "still here")] * 3
    state: BitmapistState = down_app.extensions["bitmapist"]
    assert state.failed_marks == 6
    status = state.status()
    assert (status.written, status.buffered, status.pending, status.dropped) == (0, 6, 6, 0)
    # The first write, then each later one replays what waits first (in one call).
    assert state.repository.attempts == 6  # type: ignore[attr-defined]


def test_buffered_marks_are_written_in_order_once_storage_answers(
    clock: FixedClock,
) -> None:
    repository = FlakyRepository()
    app = make_app()
    FlaskBitmapist(
        app, clock=clock, repository_factory=lambda s: repository, replay_in_background=False
    )
    with app.app_context():
        state = current_state()
        repository.down = True
        mark_event("user:paid", 1)
        unmark_event("user:paid", 1)  # queued behind the mark: cleared after it is set
        mark_event("user:paid", 2)
        assert state.status().pending == 3
        repository.down = False
        assert state.recorder.retry_once() == 0.0
        assert state.recorder.retry_once() is None
        assert users_in(state, "user:paid", "day", NOW) == [2]
        status = state.status()
        assert (status.buffered, status.replayed, status.pending, status.written) == (3, 3, 0, 0)
        mark_event("user:paid", 3)
        assert state.status().written == 1


def test_storage_down_unmark_fails_open_too(down_app: Flask) -> None:
    with down_app.app_context():
        unmark_event("index:visited", 1)
        assert current_state().failed_marks == 1


def test_an_outage_is_logged_when_it_starts_then_summarised_then_closed(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="flask_bitmapist")
    repository = FlakyRepository()
    app = make_app(BITMAPIST_ERROR_LOG_INTERVAL=0)
    FlaskBitmapist(
        app, clock=clock, repository_factory=lambda s: repository, replay_in_background=False
    )
    client = app.test_client()

    @app.route("/")
    @mark("index:visited", 1)
    def index() -> str:
        return "still here"

    repository.down = True
    for _ in range(3):
        client.get("/")
    repository.down = False
    client.get("/")

    records = [r for r in caplog.records if r.name == "flask_bitmapist"]
    messages = [r.getMessage() for r in records]
    assert "storage of app 'facade-test' (FlakyRepository) is unavailable" in messages[0]
    assert "connection refused (test double)" in messages[0]
    assert isinstance(records[0].exc_info and records[0].exc_info[1], StorageUnavailable)
    # Interval 0: every later failure is summarised with its own counts.
    assert "since the last report: 1 marks buffered" in messages[1]
    assert "answers again after" in messages[-1]
    assert "during the outage: 4 marks buffered, 4 marks replayed" in messages[-1]


def test_the_log_summarises_an_outage_at_most_once_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="flask_bitmapist")
    seconds = [0.0]
    report = OutageReport("storage", interval=60.0, clock=lambda: seconds[0])
    error = StorageUnavailable("timed out")

    for moment in (0.0, 1.0, 30.0, 59.0, 60.5, 61.0):
        seconds[0] = moment
        report.failed(error, {"marks buffered": 3})
    seconds[0] = 70.0
    report.recovered()

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert "storage is unavailable: timed out" in messages[0]
    # 1.0, 30.0, 59.0 went unlogged; 60.5 is logged and reports them with its own.
    assert "after 60.5 s; since the last report: 12 marks buffered" in messages[1]
    assert "answers again after 70.0 s; during the outage: 18 marks buffered" in messages[2]
    assert report.outages == 1 and not report.in_outage


def test_raise_on_error_raises_the_storage_failure(clock: FixedClock) -> None:
    app = make_app(BITMAPIST_RAISE_ON_ERROR=True)
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: DownRepository())

    with app.app_context():
        with pytest.raises(StorageUnavailable, match="connection refused"):
            mark_event("user:paid", 1)
        with pytest.raises(StorageUnavailable):
            unmark_event("user:paid", 1)
        assert current_state().failed_marks == 0


def test_an_unexpected_storage_error_fails_open_too(clock: FixedClock) -> None:
    class BrokenRepository(RecordingRepository):
        def mark(self, marks: object) -> None:
            raise OSError("disk on fire")

    app = make_app()
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: BrokenRepository())

    @app.route("/")
    @mark("x", 1)
    def index() -> str:
        return "ok"

    assert app.test_client().get("/").status_code == 200
    assert app.extensions["bitmapist"].failed_marks == 1


def _count_calls(counter: list[int]) -> Callable[[], int]:
    def user_id() -> int:
        counter.append(1)
        return 7

    return user_id


def test_the_id_callable_runs_once_per_call(state: BitmapistState) -> None:
    calls: list[int] = []

    @mark("x", _count_calls(calls))
    def job() -> None:
        return None

    job()
    job()

    assert len(calls) == 2
