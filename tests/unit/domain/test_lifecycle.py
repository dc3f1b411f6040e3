"""Lifecycle specs refuse what has no lifecycle, naming the field; a worked example."""

from __future__ import annotations

from datetime import datetime

import pytest

from flask_bitmapist.domain import (
    InvalidAnswerSpec,
    LifecycleEngine,
    LifecycleSpec,
    LifecycleStatus,
    Mark,
    parse_expression,
)
from flask_bitmapist.infra import InMemoryRepository

NOW = datetime(2026, 11, 27, 12)


@pytest.mark.parametrize("text", ["a & b", "a & ~b", "a | (b & c)"])
def test_only_an_event_or_an_or_of_events_has_a_lifecycle(text: str) -> None:
    with pytest.raises(InvalidAnswerSpec, match="only an event or an OR of events") as caught:
        LifecycleSpec.create(parse_expression(text), now=NOW)
    assert caught.value.field == "expr"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"periods": 1001}, "periods"), ({"time_group": "eons"}, "time_group"), ({"now": 3}, "now")],
)
def test_out_of_bounds_fields_are_refused_by_name(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"now": NOW, **kwargs}
    with pytest.raises(InvalidAnswerSpec) as caught:
        LifecycleSpec.create(parse_expression("a"), **arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_lifecycle_over_three_days() -> None:
    repository = InMemoryRepository()

    def day(d: int) -> datetime:
        return datetime(2026, 11, d, 10)

    repository.mark(
        [
            Mark.create("a", 1, datetime(2026, 3, 1)),  # seen in March, back on the 25th
            Mark.create("a", 1, day(25)),
            Mark.create("a", 2, day(24)),  # there on the 24th and the 25th, gone after
            Mark.create("a", 2, day(25)),
            Mark.create("a", 3, day(25)),  # new on the 25th, back on the 27th
            Mark.create("a", 3, day(27)),
            Mark.create("a", 4, day(26)),  # new on the 26th, returning on the 27th
            Mark.create("a", 4, day(27)),
        ]
    )
    spec = LifecycleSpec.create(parse_expression("a"), now=NOW, periods=3)
    engine = LifecycleEngine(repository)
    lifecycle = engine.compute(spec)
    assert lifecycle.new == (1, 1, 0)
    assert lifecycle.returning == (1, 0, 1)
    assert lifecycle.resurrecting == (1, 0, 1)
    assert lifecycle.dormant == (0, 3, 0)
    assert list(engine.users(spec, "resurrecting", 0)) == [1]
    assert list(engine.users(spec, LifecycleStatus.DORMANT, 1)) == [1, 2, 3]


def test_an_unknown_status_is_refused_by_name() -> None:
    spec = LifecycleSpec.create(parse_expression("a"), now=NOW, periods=3)
    with pytest.raises(InvalidAnswerSpec, match="unknown status 'gone'") as caught:
        LifecycleEngine(InMemoryRepository()).users(spec, "gone", 0)
    assert caught.value.field == "status"
