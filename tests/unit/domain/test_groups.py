"""A breakdown's groups: each bitmap counted within every group equals the size of its
intersection with the group (the set model), whatever the batches of groups."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import Bitmap, UserGroups
from flask_bitmapist.domain import groups as groups_module

ids = st.frozensets(st.integers(0, 400), max_size=40)


def disjoint(members: list[frozenset[int]]) -> tuple[list[frozenset[int]], frozenset[int]]:
    """``members`` made disjoint (a user stays in the first that holds them), and everyone
    in one of them."""
    taken: frozenset[int] = frozenset()
    found = []
    for users in members:
        found.append(users - taken)
        taken |= users
    return found, taken


@settings(max_examples=60, deadline=None)
@given(
    members=st.lists(ids, max_size=5),
    within=st.none() | ids,
    bitmaps=st.lists(ids, max_size=4),
    tiny=st.booleans(),
)
def test_counts_and_restrictions_are_the_set_models(
    members: list[frozenset[int]],
    within: frozenset[int] | None,
    bitmaps: list[frozenset[int]],
    tiny: bool,
) -> None:
    parts, taken = disjoint(members)
    groups = UserGroups(
        tuple(Bitmap.from_ids(m) for m in parts),
        within=(None if within is None else Bitmap.from_ids(within)),
    )
    everyone = frozenset(range(10_000)) if within is None else within
    expected = [users & everyone for users in parts]
    expected.append(everyone - taken)
    assert len(groups) == len(expected)
    with pytest.MonkeyPatch.context() as patch:
        if tiny:  # one group per batch, one word per block
            patch.setattr(groups_module, "_MASK_BYTES", 1)
            patch.setattr(groups_module, "_BLOCK_BYTES", 1)
        counts = groups.count([Bitmap.from_ids(b) for b in bitmaps]).tolist()
    assert counts == [[len(b & users) for b in bitmaps] for users in expected]
    for index, users in enumerate(expected):
        restricted = groups.restricted([Bitmap.from_ids(b) for b in bitmaps], index)
        assert [set(r) for r in restricted] == [set(b & users) for b in bitmaps]
