"""User ids as the id map knows them: their text, their stored form, what is refused."""

from __future__ import annotations

import uuid

import pytest

from flask_bitmapist.domain import (
    InvalidUserId,
    InvalidUserIdType,
    decode_external_id,
    encode_external_id,
    external_id_text,
)

AN_UUID = uuid.UUID("6F1C2D9E-8A43-4B1F-9C55-2E7D0B3A9F10")


def test_a_uuid_is_known_by_its_canonical_lower_case_text() -> None:
    assert external_id_text(AN_UUID) == "6f1c2d9e-8a43-4b1f-9c55-2e7d0b3a9f10"


def test_an_int_is_known_by_its_decimal_text_and_a_str_by_itself() -> None:
    assert external_id_text(42) == "42"
    assert external_id_text(-7) == "-7"
    assert external_id_text(" Bob ") == " Bob "


@pytest.mark.parametrize("user_id", [AN_UUID, "alice", "i:1", "", 0, 2**70, "ü" * 3])
def test_the_stored_form_keeps_the_type(user_id: object) -> None:
    if user_id == "":
        with pytest.raises(InvalidUserId):
            encode_external_id(user_id)
        return
    stored = encode_external_id(user_id)  # type: ignore[arg-type]
    back = decode_external_id(stored)
    assert back == user_id
    assert type(back) is type(user_id)


def test_stored_forms_are_tagged() -> None:
    assert encode_external_id("alice") == "s:alice"
    assert encode_external_id(5) == "i:5"
    assert encode_external_id(AN_UUID) == "u:6f1c2d9e-8a43-4b1f-9c55-2e7d0b3a9f10"


def test_a_stored_form_without_a_known_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="not a stored user id: 'x:1'"):
        decode_external_id("x:1")


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (True, InvalidUserIdType, r"got True \(bool\)"),
        (1.0, InvalidUserIdType, r"got 1.0 \(float\)"),
        (b"ab", InvalidUserIdType, r"got b'ab' \(bytes\)"),
        ("", InvalidUserId, "must not be an empty str"),
        ("z" * 257, InvalidUserId, "257 characters long; at most 256"),
    ],
)
def test_what_cannot_be_a_mapped_id_is_refused_naming_it(
    bad: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        external_id_text(bad)
