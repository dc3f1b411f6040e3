"""The keys of properties and saved cohorts never collide with event keys, nor with each
other, and Redis Cluster keeps each property (and the saved cohorts) in one hash slot."""

from __future__ import annotations

from datetime import datetime, timezone

import fakeredis
from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from flask_bitmapist.domain import BitmapId, Period, TimeGroup
from flask_bitmapist.domain.errors import InvalidEventName, InvalidSegmentName
from flask_bitmapist.domain.events import validate_event_name
from flask_bitmapist.domain.segments import (
    PropertyValue,
    SavedCohort,
    UserSetId,
    validate_cohort_name,
    validate_property_name,
    validate_property_value,
)
from flask_bitmapist.infra import RedisRepository

# Names made of what keys are made of: suffix characters, separators, braces, brackets.
_ALPHABET = "ab_u-W0129:{}[]=*?\\é"
_RAW = st.text(_ALPHABET, min_size=1, max_size=12)


def _valid(check: object) -> st.SearchStrategy[str]:
    def ok(text: str) -> bool:
        try:
            check(text)  # type: ignore[operator]
        except (InvalidSegmentName, InvalidEventName):
            return False
        return True

    return _RAW.filter(ok)


EVENTS = _valid(validate_event_name)
PROPERTY_NAMES = _valid(validate_property_name)
VALUES = _valid(validate_property_value)
COHORT_NAMES = _valid(validate_cohort_name)
PREFIXES = st.sampled_from(["trackist_", "app:", "{app}", "t{", "x}_"])
MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(timezone.utc)
)
GROUPS = st.sampled_from([TimeGroup.MONTH, TimeGroup.WEEK, TimeGroup.DAY, TimeGroup.HOUR, None])


def repository(prefix: str) -> RedisRepository:
    return RedisRepository(fakeredis.FakeRedis(server=fakeredis.FakeServer()), prefix=prefix)


def event_key(repo: RedisRepository, event: str, group: TimeGroup | None, moment: datetime) -> str:
    period = None if group is None else Period.containing(group, moment)
    return repo.key(BitmapId(event, period))


@given(PREFIXES, EVENTS, GROUPS, MOMENTS, PROPERTY_NAMES, VALUES, COHORT_NAMES)
def test_no_property_or_cohort_key_is_an_event_key_or_read_as_one(
    prefix: str,
    event: str,
    group: TimeGroup | None,
    moment: datetime,
    name: str,
    value: str,
    cohort: str,
) -> None:
    repo = repository(prefix)
    segment_keys = {
        repo.properties_key,
        repo.property_key(name),
        repo.user_set_key(PropertyValue(name, value)),
        repo.cohorts_key,
        repo.user_set_key(SavedCohort(cohort)),
    }
    assert event_key(repo, event, group, moment) not in segment_keys
    # Neither the event listing nor the month listing takes them for an event's keys.
    for key in segment_keys:
        assert repo._event_of(key) is None
        # An event key ends with a period's suffix or the flag 'u'; these never do.
        assert key.startswith("{") and key.endswith(("}", "]"))


@given(PREFIXES, PROPERTY_NAMES, VALUES, PROPERTY_NAMES, VALUES, COHORT_NAMES, COHORT_NAMES)
def test_different_user_sets_have_different_keys(
    prefix: str, name: str, value: str, name2: str, value2: str, cohort: str, cohort2: str
) -> None:
    repo = repository(prefix)
    ids: list[UserSetId] = [
        PropertyValue(name, value),
        PropertyValue(name2, value2),
        SavedCohort(cohort),
        SavedCohort(cohort2),
    ]
    keys = {repo.user_set_key(item): item for item in ids}
    assert len(keys) == len(set(ids))
    sets = {
        repo.properties_key,
        repo.cohorts_key,
        repo.property_key(name),
        repo.property_key(name2),
    }
    assert not sets & set(keys)


@given(PREFIXES, PROPERTY_NAMES, st.lists(VALUES, min_size=1, max_size=5), COHORT_NAMES)
def test_a_property_and_the_saved_cohorts_each_live_in_one_cluster_slot(
    prefix: str, name: str, values: list[str], cohort: str
) -> None:
    repo = repository(prefix)
    property_slots = {key_slot(repo.property_key(name).encode())} | {
        key_slot(repo.user_set_key(PropertyValue(name, value)).encode()) for value in values
    }
    assert len(property_slots) == 1
    cohort_slots = {
        key_slot(repo.cohorts_key.encode()),
        key_slot(repo.user_set_key(SavedCohort(cohort)).encode()),
    }
    assert len(cohort_slots) == 1


def test_the_documented_key_format() -> None:
    repo = repository("trackist_")
    assert repo.properties_key == "{trackist_properties}"
    assert repo.property_key("plan") == "{trackist_property:plan}"
    assert repo.user_set_key(PropertyValue("plan", "pro")) == "{trackist_property:plan}[pro]"
    assert repo.cohorts_key == "{trackist_cohorts}"
    assert repo.user_set_key(SavedCohort("beta")) == "{trackist_cohorts}[beta]"
