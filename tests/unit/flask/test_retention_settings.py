"""BITMAPIST_RETENTION and BITMAPIST_TRACK_HOURLY lists: checked at init_app, applied to
every mark (in-process store; the real Redis and cluster are in the integration tests)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flask_bitmapist import FlaskBitmapist, InvalidConfiguration, current_state, mark_event
from flask_bitmapist.domain import BitmapId, Period, RetentionPolicy, TimeGroup
from flask_bitmapist.infra import InMemoryRepository
from tests.unit.flask.support import NOW, FixedClock, make_app


@pytest.mark.parametrize(
    ("value", "named", "words"),
    [
        ({"months": 30, "days": 400}, "BITMAPIST_RETENTION['months']", "shorter than days"),
        ({"weeks": 7, "days": 400}, "BITMAPIST_RETENTION['weeks']", "shorter than days"),
        ({"hours": "14"}, "BITMAPIST_RETENTION['hours']", "got '14'"),
        ({"decades": 2}, "BITMAPIST_RETENTION['decades']", "no time group"),
        (14, "BITMAPIST_RETENTION", "got 14"),
    ],
)
def test_a_bad_retention_fails_init_app_naming_the_key(
    value: object, named: str, words: str
) -> None:
    app = make_app(BITMAPIST_RETENTION=value)
    with pytest.raises(InvalidConfiguration) as caught:
        FlaskBitmapist(app)
    assert caught.value.key == "BITMAPIST_RETENTION"
    assert str(caught.value).startswith(named)
    assert words in str(caught.value)


@pytest.mark.parametrize("value", ["yes", 1, [""], ["a b\n"], None])
def test_a_bad_hourly_setting_fails_init_app_naming_the_key(value: object) -> None:
    with pytest.raises(InvalidConfiguration, match="BITMAPIST_TRACK_HOURLY") as caught:
        FlaskBitmapist(make_app(BITMAPIST_TRACK_HOURLY=value))
    assert caught.value.key == "BITMAPIST_TRACK_HOURLY"


def test_hourly_tracking_for_a_list_of_names_and_patterns_only() -> None:
    app = make_app(BITMAPIST_TRACK_HOURLY=["checkout:*", "login"])
    FlaskBitmapist(app, clock=FixedClock(NOW))
    with app.app_context():
        state = current_state()
        assert state.settings.track_hourly == ("checkout:*", "login")
        for event in ("checkout:paid", "login", "logout", "checkout", "Checkout:paid"):
            mark_event(event, 1)
        hour = Period.containing(TimeGroup.HOUR, NOW)
        bitmaps = state.repository.fetch(
            [BitmapId(e, hour) for e in ("checkout:paid", "login", "logout", "checkout")]
        )
        assert [set(b) for b in bitmaps] == [{1}, {1}, set(), set()]


@pytest.mark.parametrize("value", [True, False, []])
def test_hourly_true_and_false_still_work(value: object) -> None:
    app = make_app(BITMAPIST_TRACK_HOURLY=value)
    FlaskBitmapist(app, clock=FixedClock(NOW))
    with app.app_context():
        mark_event("login", 1)
        [bitmap] = current_state().repository.fetch(
            [BitmapId("login", Period.containing(TimeGroup.HOUR, NOW))]
        )
        assert set(bitmap) == ({1} if value is True else set())


def test_marks_give_their_keys_the_policys_expiry_and_the_store_drops_them_on_its_clock() -> None:
    clock = FixedClock(NOW)
    store = InMemoryRepository(clock=clock)
    app = make_app(BITMAPIST_RETENTION={"hours": 14, "days": 400}, BITMAPIST_TRACK_HOURLY=True)
    FlaskBitmapist(app, clock=clock, repository_factory=lambda settings: store)
    policy = RetentionPolicy.create({"hours": 14, "days": 400})
    with app.app_context():
        assert current_state().settings.retention == policy
        mark_event("login", 7)
    hour = BitmapId("login", Period.containing(TimeGroup.HOUR, NOW))
    day = BitmapId("login", Period.containing(TimeGroup.DAY, NOW))
    month = BitmapId("login", Period.containing(TimeGroup.MONTH, NOW))
    assert store.expiry_ms(hour) == policy.expiry_ms(hour.period)
    assert store.expiry_ms(day) == policy.expiry_ms(day.period)
    assert store.expiry_ms(month) is None
    clock.moment = NOW + timedelta(days=15)
    assert [set(b) for b in store.fetch([hour, day, month])] == [set(), {7}, {7}]
    assert store.expiry_ms(hour) is None
