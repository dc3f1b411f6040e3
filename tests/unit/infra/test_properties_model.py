"""Properties against a brute-force model: any sequence of assignments, in batches, leaves
each user in at most one value of each property, the value last given (unless refused by
the cap), on the in-process store and on Redis (fakeredis)."""

from __future__ import annotations

import fakeredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import BitmapRepository
from flask_bitmapist.domain.segments import PropertyAssignment, PropertyValue
from flask_bitmapist.infra import InMemoryRepository, RedisRepository

NAMES = ("plan", "channel")
VALUES = ("free", "pro", "team", "gold")
ASSIGNMENTS = st.builds(
    PropertyAssignment.create,
    st.integers(0, 40),
    st.sampled_from(NAMES),
    st.one_of(st.none(), st.sampled_from(VALUES)),
)
BATCHES = st.lists(st.lists(ASSIGNMENTS, max_size=12), max_size=6)

Model = dict[str, dict[int, str]]


def apply(model: Model, batch: list[PropertyAssignment], max_values: int) -> list[int]:
    """The model's result of one batch; the positions of the assignments refused."""
    refused = []
    for position, item in enumerate(batch):
        users = model.setdefault(item.name, {})
        others = {v for u, v in users.items() if u != item.user_id}
        if item.value is not None and item.value not in others and len(others) >= max_values:
            refused.append(position)
            continue
        if item.value is None:
            users.pop(item.user_id, None)
        else:
            users[item.user_id] = item.value
    return refused


def make(kind: str) -> BitmapRepository:
    if kind == "memory":
        return InMemoryRepository()
    return RedisRepository(fakeredis.FakeRedis(server=fakeredis.FakeServer()))


@pytest.mark.parametrize("kind", ["memory", "fakeredis"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=BATCHES, max_values=st.integers(1, 4))
def test_assignments_leave_each_user_in_the_value_last_given(
    kind: str, batches: list[list[PropertyAssignment]], max_values: int
) -> None:
    repository = make(kind)
    model: Model = {}
    for batch in batches:
        refused = apply(model, batch, max_values)
        assert repository.set_properties(batch, max_values=max_values) == refused
    expected = {name: frozenset(users.values()) for name, users in model.items() if users}
    assert repository.property_values() == expected
    ids = [PropertyValue(name, value) for name in NAMES for value in VALUES]
    for item, bitmap in zip(ids, repository.fetch_user_sets(ids), strict=True):
        holders = {u for u, v in model.get(item.name, {}).items() if v == item.value}
        assert set(bitmap) == holders, item
