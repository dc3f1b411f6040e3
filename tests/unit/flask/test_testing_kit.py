"""The testing kit: the pytest plugin's ``analytics`` fixture (active in this suite too,
through its entry point) on an app of the test's own."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timezone

import pytest
from flask import Flask, request

from flask_bitmapist import (
    FlaskBitmapist,
    get_properties,
    get_saved_cohorts,
    get_segment,
    mark,
    mark_event,
    save_cohort,
    set_property,
    unmark_event,
)
from flask_bitmapist.testing import Analytics, Marked
from tests.unit.flask.support import NOW, FixedClock, make_app

TODAY = NOW.date()


@pytest.fixture
def app(clock: FixedClock) -> Flask:
    """The app under test, as an app's own conftest would make it."""
    app = make_app()
    FlaskBitmapist(app, clock=clock)

    @app.post("/signup/<int:user_id>")
    @mark("user:signed_up", lambda: request.view_args and request.view_args["user_id"])
    def signup(user_id: int) -> str:
        return "welcome"

    return app


def test_a_view_mark_is_asserted(app: Flask, analytics: Analytics) -> None:
    assert app.test_client().post("/signup/7").text == "welcome"

    analytics.assert_marked("user:signed_up", 7)
    analytics.assert_marked("user:signed_up", 7, at=TODAY)
    analytics.assert_not_marked("user:signed_up", 8)
    analytics.assert_not_marked("user:signed_up", 7, at=date(2026, 11, 26))
    assert analytics.marks() == [Marked("user:signed_up", 7, TODAY)]


def test_the_store_is_empty_at_the_start_of_each_test(app: Flask, analytics: Analytics) -> None:
    with app.app_context():
        mark_event("user:paid", 3)

    assert analytics.marks() == [("user:paid", 3, TODAY)]
    assert analytics.state.repository.event_names() == frozenset({"user:paid"})


def test_a_failed_assertion_says_what_the_user_did_get(app: Flask, analytics: Analytics) -> None:
    with app.app_context():
        mark_event("user:signed_up", 7)
        mark_event("user:logged_in", 7, now=datetime(2026, 11, 20, 9, tzinfo=timezone.utc))
        mark_event("user:logged_in", 7)

    with pytest.raises(AssertionError) as failure:
        analytics.assert_marked("user:paid", 7)
    assert str(failure.value) == (
        "user 7 was not marked 'user:paid'; user 7 got: user:signed_up on 2026-11-27; "
        "user:logged_in on 2026-11-20, 2026-11-27"
    )

    with pytest.raises(AssertionError, match="user 9 got no mark during this test"):
        analytics.assert_marked("user:signed_up", 9, at=TODAY)

    with pytest.raises(AssertionError, match=r"was marked 'user:signed_up' on 2026-11-27 \(UTC\)"):
        analytics.assert_not_marked("user:signed_up", 7, at=TODAY)


def test_at_is_a_day_in_the_apps_zone(clock: FixedClock) -> None:
    app = make_app(BITMAPIST_TIMEZONE="Asia/Tokyo")  # 13:45 UTC is 22:45 in Tokyo
    FlaskBitmapist(app, clock=clock)
    with Analytics(app) as analytics, app.app_context():
        mark_event("user:paid", 1, now=datetime(2026, 11, 27, 16, tzinfo=timezone.utc))

        analytics.assert_marked("user:paid", 1, at=date(2026, 11, 28))
        analytics.assert_not_marked("user:paid", 1, at=date(2026, 11, 27))
        analytics.assert_marked("user:paid", 1, at=datetime(2026, 11, 28, 0, 30))  # Tokyo time
        analytics.assert_marked("user:paid", 1, at=datetime(2026, 11, 27, 15, tzinfo=timezone.utc))
        assert analytics.marks() == [("user:paid", 1, date(2026, 11, 28))]


def test_unmarking_takes_the_marks_out(app: Flask, analytics: Analytics) -> None:
    with app.app_context():
        mark_event("user:paid", 1)
        mark_event("user:paid", 2)
        unmark_event("user:paid", 1)

    analytics.assert_not_marked("user:paid", 1)
    assert analytics.marks() == [("user:paid", 2, TODAY)]


def test_reset_empties_the_store_and_the_marks(app: Flask, analytics: Analytics) -> None:
    with app.app_context():
        mark_event("user:paid", 1)

    analytics.reset()

    assert analytics.marks() == []
    analytics.assert_not_marked("user:paid", 1)
    with app.app_context():
        mark_event("user:paid", 2)
    assert analytics.marks() == [("user:paid", 2, TODAY)]


@pytest.mark.parametrize("store", ["memory", "fakeredis"])
def test_properties_and_saved_cohorts_live_in_the_tests_store(
    app: Flask, analytics: Analytics, store: str
) -> None:
    if store == "fakeredis":
        analytics.use_fakeredis()
    with app.app_context():
        set_property(1, "plan", "pro")
        set_property(2, "plan", "free")
        save_cohort("beta_testers", [2])

        assert list(get_properties()["plan"]["pro"]) == [1]
        assert list(get_saved_cohorts()) == ["beta_testers"]
        assert list(get_segment("plan=free & beta_testers")) == [2]

    analytics.reset()
    with app.app_context():
        assert get_properties() == {} and get_saved_cohorts() == {}


def test_fakeredis_holds_the_keys_as_bitmapist_writes_them(
    app: Flask, analytics: Analytics
) -> None:
    with app.app_context():
        mark_event("user:paid", 1)

    redis = analytics.use_fakeredis()

    assert analytics.marks() == []
    assert app.test_client().post("/signup/7").status_code == 200
    analytics.assert_marked("user:signed_up", 7, at=TODAY)
    assert sorted(redis.keys()) == [
        b"trackist_user:signed_up_2026-11",
        b"trackist_user:signed_up_2026-11-27",
        b"trackist_user:signed_up_W2026-48",
    ]
    assert redis.getbit("trackist_user:signed_up_2026-11-27", 7) == 1

    analytics.reset()  # a new, empty fakeredis
    assert analytics.marks() == []
    assert analytics.state.repository.event_names() == frozenset()


def test_mapped_ids_are_asserted_as_the_app_gives_them(clock: FixedClock) -> None:
    app = make_app(BITMAPIST_MAP_IDS=True)
    FlaskBitmapist(app, clock=clock)
    with Analytics(app) as analytics, app.app_context():
        mark_event("user:paid", "ada@example.com")

        analytics.assert_marked("user:paid", "ada@example.com", at=TODAY)
        analytics.assert_not_marked("user:paid", "bob@example.com")
        assert analytics.marks() == [("user:paid", "ada@example.com", TODAY)]


def test_bad_arguments_are_refused_with_their_value(app: Flask, analytics: Analytics) -> None:
    with pytest.raises(ValueError, match="bad name"):
        analytics.assert_marked("bad name", 1)
    with pytest.raises(TypeError, match="'1'"):
        analytics.assert_marked("user:paid", "1")
    with pytest.raises(TypeError, match="at must be a date or a datetime, got '2026-11-27'"):
        analytics.assert_marked("user:paid", 1, at="2026-11-27")  # type: ignore[arg-type]


def test_the_app_gets_its_own_storage_back(app: Flask) -> None:
    own = app.extensions["bitmapist"]
    with Analytics(app) as analytics:
        assert app.extensions["bitmapist"] is analytics.state
        assert analytics.state.settings is own.settings
    assert app.extensions["bitmapist"] is own


def test_an_app_without_the_extension_is_refused() -> None:
    with pytest.raises(RuntimeError, match="app 'facade-test' has no Flask-Bitmapist"):
        Analytics(make_app())


def test_loading_the_plugin_loads_nothing_heavy() -> None:
    script = (
        "import sys, flask_bitmapist.testing; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'flask', 'numpy', 'redis', 'attrs', 'fakeredis', 'werkzeug'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
