"""The segment functions of the package top, in an app context, as get_event_data is."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_bitmapist import (
    BitmapistState,
    FlaskBitmapist,
    InvalidConfiguration,
    InvalidRequest,
    InvalidSegment,
    InvalidSegmentName,
    InvalidUserIdType,
    TooManyPropertyValues,
    UserSet,
    delete_cohort,
    get_cohort,
    get_event_data,
    get_properties,
    get_saved_cohorts,
    get_segment,
    mark_event,
    save_cohort,
    set_property,
)
from tests.unit.flask.support import make_app


def test_a_property_moves_its_user_between_values(state: BitmapistState) -> None:
    set_property(1, "plan", "free")
    set_property(2, "plan", "free")
    set_property(1, "plan", "pro")
    properties = get_properties()
    assert {value: list(users) for value, users in properties["plan"].items()} == {
        "free": [2],
        "pro": [1],
    }
    assert isinstance(properties["plan"]["pro"], UserSet)
    set_property(1, "plan", None)
    assert list(get_properties()["plan"]) == ["free"]


def test_a_saved_cohort_takes_ids_or_a_user_set(state: BitmapistState) -> None:
    mark_event("user:paid", 7)
    save_cohort("payers", get_event_data("user:paid"))
    save_cohort("beta_testers", [1, 2, 3])
    assert {name: list(users) for name, users in get_saved_cohorts().items()} == {
        "beta_testers": [1, 2, 3],
        "payers": [7],
    }
    assert delete_cohort("payers") is True
    assert list(get_saved_cohorts()) == ["beta_testers"]


def test_a_segment_gives_its_users(state: BitmapistState) -> None:
    for user_id, plan in [(1, "pro"), (2, "pro"), (3, "free")]:
        set_property(user_id, "plan", plan)
    save_cohort("beta_testers", [2])
    assert list(get_segment("plan=pro & ~beta_testers")) == [1]
    with pytest.raises(InvalidSegment, match="no property named 'tier'") as info:
        get_segment("tier=gold")
    assert info.value.field == "segment"


def test_bad_names_and_ids_raise_before_anything_is_written(state: BitmapistState) -> None:
    with pytest.raises(InvalidSegmentName, match="property name 'my plan'"):
        set_property(1, "my plan", "pro")
    with pytest.raises(InvalidSegmentName, match="saved cohort name 'a=b'"):
        save_cohort("a=b", [1])
    with pytest.raises(InvalidUserIdType):
        save_cohort("beta", [1, "two"])
    with pytest.raises(TypeError, match="user set or user ids"):
        save_cohort("beta", "123")
    assert get_properties() == {} and get_saved_cohorts() == {}


def test_the_value_cap_is_the_apps_setting() -> None:
    app = make_app(BITMAPIST_MAX_PROPERTY_VALUES=2)
    FlaskBitmapist(app)
    with app.app_context():
        set_property(1, "plan", "free")
        set_property(2, "plan", "pro")
        with pytest.raises(TooManyPropertyValues, match="BITMAPIST_MAX_PROPERTY_VALUES"):
            set_property(3, "plan", "team")


@pytest.mark.parametrize("value", [0, 10**6, "10", True])
def test_a_bad_value_cap_is_refused_at_init_app(value: object) -> None:
    with pytest.raises(InvalidConfiguration, match="BITMAPIST_MAX_PROPERTY_VALUES"):
        FlaskBitmapist(make_app(BITMAPIST_MAX_PROPERTY_VALUES=value))


def test_mapped_ids_come_back_as_they_were_given() -> None:
    app = make_app(BITMAPIST_MAP_IDS=True)
    FlaskBitmapist(app)
    with app.app_context():
        set_property("alice", "plan", "pro")
        save_cohort("beta", ["bob", "alice"])
        assert list(get_properties()["plan"]["pro"]) == ["alice"]
        assert list(get_saved_cohorts()["beta"]) == ["alice", "bob"]
        assert list(get_segment("beta & plan=pro")) == ["alice"]


def test_the_functions_need_an_app_context(app: Flask, ext: FlaskBitmapist) -> None:
    with pytest.raises(RuntimeError, match="application context"):
        get_properties()


def test_get_cohort_breaks_down_into_one_cohort_per_value(state: BitmapistState) -> None:
    # Signed up this week: 1-4 (pro 1-2, free 3, no plan 4); users 1 and 3 paid this week.
    for user_id, plan in [(1, "pro"), (2, "pro"), (3, "free")]:
        set_property(user_id, "plan", plan)
    for user_id in (1, 2, 3, 4):
        mark_event("user:signed_up", user_id)
    for user_id in (1, 3):
        mark_event("user:paid", user_id)
    primary, secondary = "user:signed_up", "user:paid"

    by_plan = get_cohort(primary, secondary, time_group="weeks", num_rows=2, breakdown="plan")
    assert list(by_plan) == ["pro", "free", None]  # largest group first, everyone else last
    for value in ("pro", "free"):
        alone = get_cohort(
            primary, secondary, time_group="weeks", num_rows=2, segment=f"plan={value}"
        )
        assert by_plan[value] == alone
    cohort, dates, totals = by_plan[None]
    assert totals == [0, 1] and cohort[1][0] == 0  # user 4: no plan, did not pay
    whole = get_cohort(primary, secondary, time_group="weeks", num_rows=2)
    assert dates == whole[1]
    assert [sum(t) for t in zip(*(g[2] for g in by_plan.values()), strict=True)] == whole[2]

    within = get_cohort(primary, secondary, segment="plan=pro | plan=free", breakdown="plan")
    assert [group[2][-1] for group in within.values()] == [2, 1, 0]
    with pytest.raises(InvalidRequest) as info:
        get_cohort(primary, secondary, breakdown="tier")
    assert info.value.field == "breakdown"
