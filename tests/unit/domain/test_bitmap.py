"""Bitmap: an immutable user set in Redis's bit order."""

from __future__ import annotations

import operator
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_bitmapist.domain import Bitmap
from flask_bitmapist.domain import bitmap as bitmap_module
from flask_bitmapist.domain.bitmap import popcount

# Redis SETBIT order: user N is bit N; bit 0 is the high bit of byte 0.
# Ids 0 and 7 are the first and last bit of byte 0, 8 and 9 the first two of byte 1.
IDS_0_7_8_9 = bytes([0b1000_0001, 0b1100_0000])

user_sets = st.frozensets(st.integers(min_value=0, max_value=2000), max_size=60)


def test_ids_are_laid_out_as_redis_setbit_lays_them_out() -> None:
    assert Bitmap.from_ids([0, 7, 8, 9]).to_redis_bytes() == IDS_0_7_8_9
    assert Bitmap.from_ids([9, 0, 8, 7, 8]).to_redis_bytes() == IDS_0_7_8_9


def test_redis_bytes_are_read_in_redis_order() -> None:
    bitmap = Bitmap.from_redis_bytes(IDS_0_7_8_9)
    assert list(bitmap) == [0, 7, 8, 9]
    assert len(bitmap) == 4


def test_a_high_id_lands_in_the_high_bit_of_its_byte() -> None:
    assert Bitmap.from_ids([1000]).to_redis_bytes() == bytes(125) + b"\x80"
    assert Bitmap.from_ids([1007]).to_redis_bytes() == bytes(125) + b"\x01"


def test_a_missing_key_is_the_empty_set() -> None:
    for raw in (None, b"", b"\x00\x00"):
        empty = Bitmap.from_redis_bytes(raw)
        assert len(empty) == 0
        assert not empty
        assert list(empty) == []
        assert empty == Bitmap()
        assert empty.to_redis_bytes() == b""


def test_bytes_read_are_copied_so_later_writes_to_the_source_do_not_leak_in() -> None:
    source = bytearray(IDS_0_7_8_9)
    bitmap = Bitmap.from_redis_bytes(bytes(source))
    source[0] = 0xFF
    view = bytearray(IDS_0_7_8_9)
    from_view = Bitmap.from_redis_bytes(view)  # type: ignore[arg-type]
    view[0] = 0xFF
    assert list(bitmap) == [0, 7, 8, 9]
    assert list(from_view) == [0, 7, 8, 9]


@given(user_sets)
def test_redis_bytes_round_trip(ids: frozenset[int]) -> None:
    bitmap = Bitmap.from_ids(ids)
    data = bitmap.to_redis_bytes()
    assert Bitmap.from_redis_bytes(data) == bitmap
    assert list(Bitmap.from_redis_bytes(data)) == sorted(ids)
    # The bytes are exactly what SETBIT on each id would leave (trailing zeros trimmed).
    expected = bytearray((max(ids) // 8 + 1) if ids else 0)
    for user_id in ids:
        expected[user_id // 8] |= 0x80 >> (user_id % 8)
    assert data == bytes(expected).rstrip(b"\x00")


def test_negative_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        Bitmap.from_ids([3, -1])


def test_the_constructor_wants_a_uint64_vector() -> None:
    with pytest.raises(TypeError, match="uint8"):
        Bitmap(np.zeros(4, dtype=np.uint8))


# -- set algebra ----------------------------------------------------------------------

OPERATIONS: dict[str, tuple[Callable[[Bitmap, Bitmap], Bitmap], Callable[..., frozenset[int]]]] = {
    "&": (operator.and_, frozenset.__and__),
    "|": (operator.or_, frozenset.__or__),
    "^": (operator.xor, frozenset.__xor__),
    "-": (operator.sub, frozenset.__sub__),
}


@pytest.mark.parametrize("symbol", sorted(OPERATIONS))
def test_operations_on_bitmaps_of_different_lengths(symbol: str) -> None:
    short, long = frozenset({1, 8, 9}), frozenset({1, 9, 700, 4000})
    bitmap_op, set_op = OPERATIONS[symbol]
    for a, b in ((short, long), (long, short)):
        result = bitmap_op(Bitmap.from_ids(a), Bitmap.from_ids(b))
        assert list(result) == sorted(set_op(a, b))


def test_hand_computed_operations() -> None:
    a, b = Bitmap.from_ids([1, 5, 9, 64, 200]), Bitmap.from_ids([5, 7, 200])
    assert list(a & b) == [5, 200]
    assert list(a | b) == [1, 5, 7, 9, 64, 200]
    assert list(a ^ b) == [1, 7, 9, 64]
    assert list(a - b) == [1, 9, 64]
    assert list(b - a) == [7]


@given(user_sets, user_sets, st.sampled_from(sorted(OPERATIONS)))
def test_operations_agree_with_python_sets(
    a: frozenset[int], b: frozenset[int], symbol: str
) -> None:
    bitmap_op, set_op = OPERATIONS[symbol]
    result = bitmap_op(Bitmap.from_ids(a), Bitmap.from_ids(b))
    expected = set_op(a, b)
    assert list(result) == sorted(expected)
    assert len(result) == len(expected)
    assert result == Bitmap.from_ids(expected)


@given(st.lists(user_sets, max_size=6))
def test_union_of_many_is_the_union_of_the_sets(sets: list[frozenset[int]]) -> None:
    expected = frozenset().union(*sets)
    assert list(Bitmap.union(Bitmap.from_ids(s) for s in sets)) == sorted(expected)


def test_union_of_nothing_is_empty() -> None:
    assert Bitmap.union([]) == Bitmap()


# -- the set protocol -----------------------------------------------------------------


def test_len_counts_users() -> None:
    assert len(Bitmap.from_ids(range(0, 10_000, 3))) == 3334
    assert len(Bitmap()) == 0


def test_in_answers_for_ints_only() -> None:
    bitmap = Bitmap.from_ids([0, 7, 9, 640])
    assert 0 in bitmap
    assert 640 in bitmap
    assert 8 not in bitmap
    assert 641 not in bitmap
    assert 10**12 not in bitmap
    assert -1 not in bitmap
    assert "7" not in bitmap
    assert 7.0 not in bitmap
    # True == 1 in Python, but a bool is not a user id.
    assert True not in Bitmap.from_ids([1])


def test_iteration_is_ascending() -> None:
    assert list(Bitmap.from_ids([900, 3, 64, 63, 65, 0])) == [0, 3, 63, 64, 65, 900]


def test_bool_is_false_only_for_the_empty_set() -> None:
    assert Bitmap.from_ids([12])
    assert not Bitmap.from_ids([12]) - Bitmap.from_ids([12])


def test_equality_ignores_trailing_zero_bytes() -> None:
    short = Bitmap.from_redis_bytes(b"\x80")
    long = Bitmap.from_redis_bytes(b"\x80" + bytes(40))
    assert short == long
    assert hash(short) == hash(long)
    # An intersection keeps the width of its operands but only its members count.
    wide_empty = Bitmap.from_ids([5000]) & Bitmap.from_ids([4000, 5001])
    assert wide_empty == Bitmap()
    assert hash(wide_empty) == hash(Bitmap())


def test_equal_sets_collapse_in_a_set_and_unequal_ones_do_not() -> None:
    bitmaps = {Bitmap.from_ids([1, 2]), Bitmap.from_ids([2, 1]), Bitmap.from_ids([1])}
    assert len(bitmaps) == 2
    assert Bitmap.from_ids([1]) != Bitmap.from_ids([2])
    assert Bitmap.from_ids([1]) != {1}


def test_padding_keeps_the_set() -> None:
    bitmap = Bitmap.from_ids([3, 70])
    padded = bitmap.padded(10)
    assert padded.words.size == 10
    assert padded == bitmap
    assert bitmap.padded(1) is bitmap


def test_repr_shows_the_first_members_and_the_count() -> None:
    assert repr(Bitmap.from_ids(range(10))) == "Bitmap({0, 1, 2, 3, 4, ...}, len=10)"
    assert repr(Bitmap.from_ids([4])) == "Bitmap({4}, len=1)"


# -- immutability ---------------------------------------------------------------------


def test_attributes_cannot_be_set() -> None:
    bitmap = Bitmap.from_ids([1])
    with pytest.raises(AttributeError, match="immutable"):
        bitmap._words = np.zeros(1, dtype=np.uint64)
    with pytest.raises(AttributeError):
        bitmap.anything = 1


def test_the_words_are_read_only() -> None:
    bitmap = Bitmap.from_ids([1, 100])
    with pytest.raises(ValueError, match="read-only"):
        bitmap.words[0] = np.uint64(0)
    for derived in (bitmap & bitmap, bitmap | bitmap, bitmap ^ bitmap, bitmap - bitmap):
        with pytest.raises(ValueError, match="read-only"):
            derived.words[0] = np.uint64(1)


@given(user_sets, user_sets, st.sampled_from(sorted(OPERATIONS)))
def test_operations_leave_their_operands_alone(
    a: frozenset[int], b: frozenset[int], symbol: str
) -> None:
    left, right = Bitmap.from_ids(a), Bitmap.from_ids(b)
    OPERATIONS[symbol][0](left, right)
    Bitmap.union([left, right])
    assert list(left) == sorted(a)
    assert list(right) == sorted(b)


def test_union_of_one_bitmap_or_of_a_bitmap_with_itself_is_that_set() -> None:
    bitmap = Bitmap.from_ids([3, 700])
    assert Bitmap.union([bitmap]) == bitmap
    assert Bitmap.union([bitmap, bitmap]) == bitmap
    assert Bitmap.union([Bitmap(), bitmap, Bitmap.from_ids([1])]) == Bitmap.from_ids([1, 3, 700])


@given(
    ids=st.sets(st.integers(min_value=0, max_value=2_000), max_size=300),
    start=st.integers(min_value=0, max_value=320),
    length=st.integers(min_value=0, max_value=320),
)
def test_ids_between_ranks_is_a_slice_of_the_ascending_ids(
    ids: set[int], start: int, length: int
) -> None:
    bitmap = Bitmap.from_ids(ids)
    assert bitmap.ids(start, start + length) == sorted(ids)[start : start + length]


def test_ids_refuses_negative_bounds() -> None:
    with pytest.raises(ValueError, match="-1"):
        Bitmap.from_ids([1, 2]).ids(-1, 1)


@given(rows=st.lists(st.sets(st.integers(0, 600), max_size=80), min_size=1, max_size=4))
def test_popcount_counts_every_bit_summed_in_32_or_64_bits(rows: list[set[int]]) -> None:
    words = np.stack([Bitmap.from_ids(row | {639}).words for row in rows])
    sizes = [len(row | {639}) for row in rows]
    for below in (bitmap_module._SUM_32_BELOW, 1):  # 1: every sum in 64 bits
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(bitmap_module, "_SUM_32_BELOW", below)
            assert int(popcount(words)) == sum(sizes)
            assert popcount(words, axis=1).tolist() == sizes
            assert popcount(words, axis=1).dtype == (np.uint32 if below > 1 else np.uint64)
