"""Event names, user ids and marks: bad input is refused with an error naming the value."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from flask_bitmapist.domain import (
    DEFAULT_MAX_USER_ID,
    REDIS_MAX_USER_ID,
    BitmapId,
    BitmapistError,
    InvalidEventName,
    InvalidUserId,
    InvalidUserIdType,
    Mark,
    Period,
    TimeGroup,
    validate_event_name,
    validate_stored_event_name,
    validate_user_id,
)

UTC = timezone.utc


# -- event names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["a", "user:logged_in", "song:played", "café", "a" * 200, "bitop", "x_bitop_y", "a&b"],
)
def test_valid_event_names_are_returned_unchanged(name: str) -> None:
    assert validate_event_name(name) == name


def test_an_empty_event_name_is_refused() -> None:
    with pytest.raises(InvalidEventName, match="empty"):
        validate_event_name("")


def test_an_event_name_of_201_characters_is_refused_showing_its_start_and_length() -> None:
    name = "signup" + "x" * 195
    with pytest.raises(InvalidEventName) as caught:
        validate_event_name(name)
    message = str(caught.value)
    assert "201" in message
    assert "200" in message
    assert repr(name[:40]) in message


@pytest.mark.parametrize(
    ("name", "culprit"),
    [
        ("user logged in", " "),
        ("user\tlogin", "\t"),
        ("user\nlogin", "\n"),
        ("trailing ", " "),
        ("no\u00a0break", "\u00a0"),
        ("nul\x00byte", "\x00"),
        ("bell\x07", "\x07"),
        ("delete\x7f", "\x7f"),
        ("c1\x85control", "\x85"),
    ],
)
def test_whitespace_and_control_characters_are_refused_naming_them(name: str, culprit: str) -> None:
    with pytest.raises(InvalidEventName) as caught:
        validate_event_name(name)
    message = str(caught.value)
    assert repr(name) in message
    assert repr(culprit) in message
    assert f"position {name.index(culprit)}" in message


def test_the_bitop_prefix_of_bitmapists_temporary_keys_is_reserved() -> None:
    with pytest.raises(InvalidEventName) as caught:
        validate_event_name("bitop_and")
    assert "'bitop_and'" in str(caught.value)
    assert "'bitop_'" in str(caught.value)


@pytest.mark.parametrize("bad", [None, 5, b"signup", ["signup"]])
def test_an_event_name_must_be_a_str(bad: object) -> None:
    with pytest.raises(InvalidEventName) as caught:
        validate_event_name(bad)
    assert repr(bad) in str(caught.value)


# -- names read from existing data ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "song played",
        "<img src=x onerror=alert(1)>",
        " leading and trailing ",
        "two  spaces",
        "user:logged_in",
        "x" * 5000,
    ],
)
def test_names_read_from_bitmapist_data_may_hold_spaces_and_be_any_length(name: str) -> None:
    assert validate_stored_event_name(name) == name


@pytest.mark.parametrize(
    ("name", "culprit"),
    [
        ("song\tplayed", "\t"),
        ("song\nplayed", "\n"),
        ("song\rplayed", "\r"),
        ("no\u00a0break", "\u00a0"),
        ("ideographic\u3000space", "\u3000"),
        ("nul\x00byte", "\x00"),
        ("delete\x7f", "\x7f"),
        ("c1\x85control", "\x85"),
    ],
)
def test_reading_still_refuses_other_whitespace_and_control_characters(
    name: str, culprit: str
) -> None:
    with pytest.raises(InvalidEventName) as caught:
        validate_stored_event_name(name)
    message = str(caught.value)
    assert repr(name) in message
    assert repr(culprit) in message
    assert f"position {name.index(culprit)}" in message


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [("", "empty"), (None, "None"), (b"song played", "b'song played'"), ("bitop_x y", "bitop_")],
)
def test_reading_refuses_empty_names_non_strings_and_bitmapists_temporary_keys(
    bad: object, fragment: str
) -> None:
    with pytest.raises(InvalidEventName, match=re.escape(fragment)):
        validate_stored_event_name(bad)


def test_a_long_stored_name_is_cut_short_in_the_error() -> None:
    name = "x" * 5000 + "\t"
    with pytest.raises(InvalidEventName) as caught:
        validate_stored_event_name(name)
    message = str(caught.value)
    assert "5001 characters" in message
    assert "position 5000" in message
    assert len(message) < 300


def test_marking_still_refuses_a_name_that_reading_accepts() -> None:
    with pytest.raises(InvalidEventName, match="'song played' contains ' ' at position 4"):
        Mark.create("song played", 1, datetime(2026, 11, 27, tzinfo=UTC))
    with pytest.raises(InvalidEventName, match="201"):
        validate_event_name("x" * 201)


def test_invalid_event_name_is_a_value_error_of_the_package() -> None:
    assert issubclass(InvalidEventName, BitmapistError)
    assert issubclass(InvalidEventName, ValueError)


# -- user ids -------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", [0, 1, 12345, 2**26 - 1])
def test_ints_up_to_the_default_maximum_are_valid_user_ids(user_id: int) -> None:
    assert validate_user_id(user_id) == user_id


def test_ints_up_to_the_redis_limit_are_valid_when_the_maximum_is_raised() -> None:
    assert validate_user_id(2**32 - 1, max_user_id=REDIS_MAX_USER_ID) == 2**32 - 1


def test_the_default_maximum_keeps_one_mark_under_64_mb_across_five_keys() -> None:
    # Month, week, day, hour and the lifetime flag: a key is (id // 8 + 1) bytes long.
    bytes_per_key = DEFAULT_MAX_USER_ID // 8 + 1
    assert 5 * bytes_per_key <= 64 * 2**20
    assert DEFAULT_MAX_USER_ID == 2**26 - 1
    assert REDIS_MAX_USER_ID == 2**32 - 1


def test_an_id_above_the_maximum_names_the_setting_and_the_id_map() -> None:
    with pytest.raises(InvalidUserId) as caught:
        validate_user_id(2**32 - 1)
    message = str(caught.value)
    assert "4294967295" in message
    assert "BITMAPIST_MAX_USER_ID" in message
    assert "BITMAPIST_MAP_IDS" in message
    assert "512.0 MiB" in message


@pytest.mark.parametrize("bad", [True, False, 1.0, 3.5, "7", None, b"7"])
def test_a_user_id_that_is_not_an_int_is_a_type_error_naming_it(bad: object) -> None:
    with pytest.raises(InvalidUserIdType) as caught:
        validate_user_id(bad)
    assert repr(bad) in str(caught.value)
    assert type(bad).__name__ in str(caught.value)


@pytest.mark.parametrize("bad", [-1, -(2**40), 2**32, 2**64])
def test_a_user_id_out_of_range_is_a_value_error_naming_it(bad: int) -> None:
    with pytest.raises(InvalidUserId) as caught:
        validate_user_id(bad)
    assert repr(bad) in str(caught.value)
    assert f"0..{DEFAULT_MAX_USER_ID}" in str(caught.value)


def test_a_lower_maximum_is_honoured() -> None:
    assert validate_user_id(1000, max_user_id=1000) == 1000
    with pytest.raises(InvalidUserId, match="1001"):
        validate_user_id(1001, max_user_id=1000)


def test_user_id_errors_are_value_and_type_errors_of_the_package() -> None:
    assert issubclass(InvalidUserId, BitmapistError)
    assert issubclass(InvalidUserId, ValueError)
    assert issubclass(InvalidUserIdType, BitmapistError)
    assert issubclass(InvalidUserIdType, TypeError)


# -- marks ----------------------------------------------------------------------------

MOMENT = datetime(2027, 1, 1, 13, 45)  # naive: UTC; ISO week 2026-53


def test_a_mark_targets_month_week_and_day() -> None:
    mark = Mark.create("signup", 7, MOMENT)
    assert [t.key_suffix for t in mark.targets()] == ["2027-1", "W2026-53", "2027-1-1"]
    assert {t.event for t in mark.targets()} == {"signup"}


def test_an_hourly_mark_also_targets_the_hour() -> None:
    mark = Mark.create("signup", 7, MOMENT, hourly=True)
    assert [t.key_suffix for t in mark.targets()] == [
        "2027-1",
        "W2026-53",
        "2027-1-1",
        "2027-1-1-13",
    ]


def test_a_unique_mark_also_targets_the_lifetime_flag() -> None:
    mark = Mark.create("signup", 7, MOMENT, unique=True)
    assert mark.targets()[-1] == BitmapId("signup", None)
    assert mark.targets()[-1].key_suffix == "u"
    assert len(mark.targets()) == 4


def test_a_mark_keeps_its_moment_in_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    mark = Mark.create("signup", 7, datetime(2027, 1, 1, 8, tzinfo=tokyo))
    assert mark.moment == datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert mark.targets()[2] == BitmapId(
        "signup", Period(TimeGroup.DAY, datetime(2026, 12, 31, tzinfo=UTC))
    )


def test_creating_a_mark_validates_the_event_and_the_user_id() -> None:
    with pytest.raises(InvalidEventName, match="'bad name'"):
        Mark.create("bad name", 7, MOMENT)
    with pytest.raises(InvalidUserIdType, match="'7'"):
        Mark.create("signup", "7", MOMENT)
    with pytest.raises(InvalidUserId, match="-3"):
        Mark.create("signup", -3, MOMENT)
    with pytest.raises(InvalidUserId, match="11"):
        Mark.create("signup", 11, MOMENT, max_user_id=10)


def test_creating_a_mark_refuses_a_moment_that_is_not_a_datetime() -> None:
    with pytest.raises(TypeError) as caught:
        Mark.create("signup", 7, "2027-01-01")  # type: ignore[arg-type]
    assert isinstance(caught.value, BitmapistError)
    assert "'2027-01-01'" in str(caught.value)
