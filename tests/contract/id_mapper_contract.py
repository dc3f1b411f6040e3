"""What every IdMapper promises, as one suite run against each implementation.

Subclass :class:`IdMapperContract` and give it an ``id_mapper`` fixture that yields an
empty map; pytest collects the inherited tests for that backend.
"""

from __future__ import annotations

import random
import threading
import uuid

import pytest

from flask_bitmapist.domain import InvalidUserId, InvalidUserIdType
from flask_bitmapist.domain.ids import IdMapper

__all__ = ["IdMapperContract"]

ALICE = "alice@example.com"
UUID_A = uuid.UUID("6f1c2d9e-8a43-4b1f-9c55-2e7d0b3a9f10")
UUID_B = uuid.UUID("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")


class IdMapperContract:
    """The id map port's behaviour; subclasses provide the ``id_mapper`` fixture."""

    def test_new_ids_get_dense_ints_in_the_order_first_seen(self, id_mapper: IdMapper) -> None:
        assert id_mapper.assign([ALICE, UUID_A, "bob"]) == [0, 1, 2]
        assert id_mapper.assign(["carol"]) == [3]
        assert id_mapper.count() == 4

    def test_an_id_keeps_its_int(self, id_mapper: IdMapper) -> None:
        first = id_mapper.assign([ALICE, UUID_A])
        assert id_mapper.assign([UUID_A, "new", ALICE, UUID_A]) == [first[1], 2, first[0], first[1]]
        assert id_mapper.count() == 3

    def test_an_id_repeated_in_one_call_gets_one_int(self, id_mapper: IdMapper) -> None:
        assert id_mapper.assign(["x", "y", "x", "x", "y"]) == [0, 1, 0, 0, 1]
        assert id_mapper.count() == 2

    def test_a_uuid_and_its_canonical_text_are_one_user(self, id_mapper: IdMapper) -> None:
        [n] = id_mapper.assign([UUID_A])
        assert id_mapper.assign([str(UUID_A)]) == [n]
        assert id_mapper.find([str(UUID_A), UUID_A]) == [n, n]
        # Upper case is another str: ids are compared as text, not parsed.
        assert id_mapper.find([str(UUID_A).upper()]) == [None]

    def test_an_int_and_its_decimal_text_are_one_user(self, id_mapper: IdMapper) -> None:
        assert id_mapper.assign([42, "42", 7]) == [0, 0, 1]

    def test_originals_come_back_with_the_type_first_seen(self, id_mapper: IdMapper) -> None:
        ints = id_mapper.assign([UUID_A, ALICE, 42, str(UUID_B)])
        assert id_mapper.originals(ints) == [UUID_A, ALICE, 42, str(UUID_B)]
        originals = id_mapper.originals(list(reversed(ints)))
        assert [type(o) for o in originals] == [str, int, str, uuid.UUID]

    def test_an_int_never_given_out_has_no_original(self, id_mapper: IdMapper) -> None:
        id_mapper.assign(["only"])
        assert id_mapper.originals([0, 1, 999, 2**32 - 1]) == ["only", None, None, None]
        assert id_mapper.originals([]) == []

    def test_find_assigns_nothing(self, id_mapper: IdMapper) -> None:
        id_mapper.assign([ALICE])
        assert id_mapper.find([ALICE, "stranger", UUID_B]) == [0, None, None]
        assert id_mapper.count() == 1
        assert id_mapper.assign(["stranger"]) == [1]

    def test_unicode_and_odd_text_ids_round_trip(self, id_mapper: IdMapper) -> None:
        ids = ["ünïcødé", "with space", "a:b", "s:x", "{braces}", "0", "-1", "x" * 256]
        ints = id_mapper.assign(ids)
        assert ints == list(range(len(ids)))
        assert id_mapper.originals(ints) == ids

    def test_many_ids_in_one_call(self, id_mapper: IdMapper) -> None:
        ids = [f"user-{i}" for i in range(12_345)]
        assert id_mapper.assign(ids) == list(range(12_345))
        assert id_mapper.find(ids[-3:]) == [12_342, 12_343, 12_344]
        assert id_mapper.originals([12_344, 0]) == ["user-12344", "user-0"]

    @pytest.mark.parametrize(
        ("bad", "error", "message"),
        [
            (3.5, InvalidUserIdType, "got 3.5 .float."),
            (True, InvalidUserIdType, "got True .bool."),
            (None, InvalidUserIdType, "got None"),
            (b"bytes", InvalidUserIdType, "got b'bytes'"),
            ("", InvalidUserId, "empty"),
            ("y" * 257, InvalidUserId, "257 characters"),
        ],
    )
    def test_a_bad_id_is_refused_before_anything_is_mapped(
        self, id_mapper: IdMapper, bad: object, error: type[Exception], message: str
    ) -> None:
        with pytest.raises(error, match=message):
            id_mapper.assign(["good", bad])  # type: ignore[list-item]
        assert id_mapper.count() == 0
        assert id_mapper.find(["good"]) == [None]

    def test_concurrent_writers_agree_on_every_new_id(self, id_mapper: IdMapper) -> None:
        ids = [f"user-{i}" for i in range(600)] + [uuid.UUID(int=i) for i in range(600)]
        results: list[dict[object, int]] = []
        barrier = threading.Barrier(6)

        def writer(seed: int) -> None:
            order = list(ids)
            random.Random(seed).shuffle(order)
            barrier.wait()
            mapping: dict[object, int] = {}
            for start in range(0, len(order), 50):
                batch = order[start : start + 50]
                mapping.update(zip(batch, id_mapper.assign(batch), strict=True))
            results.append(mapping)

        threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 6
        assert all(result == results[0] for result in results)
        assert sorted(results[0].values()) == list(range(len(ids)))
        assert id_mapper.count() == len(ids)
