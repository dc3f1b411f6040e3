"""The answer pipeline: every kind through one door, with the app's calendar, the read
budget checked before any read, ``complete`` flags and warnings for names without data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flask_bitmapist.domain import (
    NO_RETENTION,
    Bitmap,
    BitmapId,
    Mark,
    Period,
    PeriodsExpired,
    RetentionPolicy,
    TimeGroup,
)
from flask_bitmapist.exceptions import InvalidRequest, ReadBudgetExceeded
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.answers import KINDS, Answers, ReadBudget

NOW = datetime(2026, 11, 27, 13, 45, tzinfo=timezone.utc)


class CountingRepository(InMemoryRepository):
    """The in-process store, counting the calls that read bitmaps or their lengths."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches = 0
        self.size_calls = 0

    def fetch(self, ids: Sequence[BitmapId], *, max_bytes: int | None = None) -> list[Bitmap]:
        self.fetches += 1
        return super().fetch(ids, max_bytes=max_bytes)

    def sizes(self, ids: Sequence[BitmapId]) -> list[int]:
        self.size_calls += 1
        return super().sizes(ids)


def answers_over(
    repository: InMemoryRepository,
    *,
    budget: ReadBudget | None = None,
    zone: Any = timezone.utc,
    retention: RetentionPolicy = NO_RETENTION,
) -> Answers:
    return Answers(
        repository,
        kinds=KINDS,
        zone=zone,
        clock=lambda: NOW,
        max_user_id=2**20,
        budget=budget,
        retention=retention,
    )


def marked(marks: Iterable[tuple[str, int, int]]) -> CountingRepository:
    """A store holding ``(event, user, days before NOW)`` marks."""
    repository = CountingRepository()
    repository.mark(Mark.create(e, u, NOW - timedelta(days=d)) for e, u, d in marks)
    repository.fetches = repository.size_calls = 0
    return repository


STORE = [("paid", 1, 0), ("paid", 2, 1), ("viewed", 1, 2), ("viewed", 3, 0), ("paid", 3, 3)]
TERMS_100 = " | ".join(f"e{i}" for i in range(100))

#: The measured cases of issue 20, each with the field its 400 names.
HEAVY = [
    ("trend", {"expr": [TERMS_100] * 10, "periods": 1000, "rolling": 366}, "periods"),
    ("funnel", {"step": [TERMS_100] * 10, "periods": 1000}, "periods"),
    ("trend", {"expr": TERMS_100, "time_group": "hour", "periods": 8760}, "periods"),
]


@pytest.mark.parametrize(("kind", "fields", "field"), HEAVY)
def test_a_request_past_the_key_budget_is_refused_before_any_read(
    kind: str, fields: dict[str, object], field: str
) -> None:
    repository = marked(STORE)
    with pytest.raises(ReadBudgetExceeded, match="BITMAPIST_MAX_READ_KEYS") as caught:
        answers_over(repository, budget=ReadBudget()).answer(kind, {**fields, "now": NOW})
    assert caught.value.field == field
    assert f"shrink {field}" in str(caught.value)
    assert (repository.fetches, repository.size_calls) == (0, 0)


def test_a_request_past_the_byte_budget_is_refused_after_asking_lengths_only() -> None:
    repository = marked([("paid", 8 * 1024 * 100, 0), ("paid", 1, 1)])  # ~100 KiB keys
    answers = answers_over(repository, budget=ReadBudget(keys=100, bytes=50 * 1024))
    with pytest.raises(ReadBudgetExceeded, match="BITMAPIST_MAX_READ_BYTES") as caught:
        answers.answer("trend", {"expr": "paid", "periods": 7, "rolling": 7})
    assert caught.value.field == "periods"
    assert (repository.fetches, repository.size_calls) == (0, 1)
    # The same answer over a window that holds only the small key is read.
    small = answers.answer("trend", {"expr": "paid", "periods": 1, "now": NOW - timedelta(1)})
    assert small.result.series[0].counts == (1,)


def test_bytes_past_the_largest_user_id_are_not_counted() -> None:
    # Another writer's huge id: the read stops at BITMAPIST_MAX_USER_ID's byte, and so
    # does the budget's count.
    repository = marked([("paid", 2**24, 0), ("paid", 1, 0)])
    answers = Answers(
        repository,
        kinds=KINDS,
        zone=timezone.utc,
        clock=lambda: NOW,
        max_user_id=1000,
        budget=ReadBudget(keys=10, bytes=200),
    )
    assert answers.answer("trend", {"expr": "paid", "periods": 1}).result.series[0].counts == (1,)


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("cohort", {"primary": "paid", "secondary": "viewed", "rows": 3, "cols": 3}),
        ("trend", {"expr": ["paid", "viewed"], "periods": 3}),
        ("lifecycle", {"expr": "paid", "periods": 3}),
        ("stickiness", {"expr": "paid", "periods": 3}),
        ("funnel", {"step": ["viewed", "paid"], "periods": 3}),
    ],
)
def test_every_kind_answers_within_the_budget_with_its_flags(
    kind: str, fields: dict[str, object]
) -> None:
    repository = marked(STORE)
    answer = answers_over(repository).answer(kind, fields)
    document = answer.to_dict()
    assert repository.size_calls == 1  # the budget asked lengths once
    assert "warnings" not in document
    if kind in ("trend", "lifecycle"):
        assert document["complete"] == [True, True, False]
    elif kind == "cohort":
        # Per column, its cell on the last diagonal: all in today's period.
        assert document["complete"] == [False, False, False]
    else:
        assert "complete" not in document  # no dates to align with
    assert answer.csv().startswith(answer.kind.csv_rows(answer.result, {})[0][0])  # type: ignore[arg-type]
    assert "now 2026-11-27T13:45:00+00:00 (UTC)" in answer.table()


def test_a_name_without_data_is_a_warning_not_silent_zeros() -> None:
    answer = answers_over(marked(STORE)).answer("trend", {"expr": ["paid", "piad | viewed"]})
    assert answer.warnings == ("no data for event 'piad'",)
    assert answer.to_dict()["warnings"] == ["no data for event 'piad'"]


def test_the_last_period_before_now_is_complete_when_now_is_pinned_earlier() -> None:
    answers = answers_over(marked(STORE))
    answer = answers.answer("trend", {"expr": "paid", "periods": 2, "now": "2026-11-20T00:00"})
    assert answer.to_dict()["complete"] == [True, False]
    assert answer.spec.now == datetime(2026, 11, 20, tzinfo=timezone.utc)


def test_text_fields_are_read_in_the_apps_zone() -> None:
    la = ZoneInfo("America/Los_Angeles")
    answers = answers_over(marked(STORE), zone=la)
    spec = answers.spec("stickiness", {"expr": "paid", "periods": "2", "now": "2026-11-27T01:00"})
    assert spec.now == datetime(2026, 11, 27, 1, tzinfo=la)
    assert spec.window.last == Period.containing(TimeGroup.DAY, spec.now)
    assert answers.now() == NOW.astimezone(la)


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("trend", {"expr": []}, "expr"),
        ("trend", {"expr": "paid", "periods": "many"}, "periods"),
        ("lifecycle", {"expr": ["a", "b"]}, "expr"),
        ("stickiness", {"expr": "paid", "now": "yesterday"}, "now"),
        ("funnel", {"step": ["a"]}, "step"),
        ("cohort", {"primary": "a", "secondary": "b", "rows": 0}, "rows"),
    ],
)
def test_bad_fields_name_themselves(kind: str, fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError) as caught:
        answers_over(marked(STORE)).answer(kind, fields)
    assert getattr(caught.value, "field", None) == field


def test_an_unknown_kind_is_a_request_error() -> None:
    with pytest.raises(InvalidRequest, match="unknown answer kind 'retention'"):
        answers_over(marked(STORE)).answer("retention", {})


def test_drill_downs_go_through_the_budget_too() -> None:
    repository = marked(STORE)
    answers = answers_over(repository, budget=ReadBudget(keys=5))
    with pytest.raises(ReadBudgetExceeded):
        answers.drill("trend", {"expr": "paid", "periods": 30, "index": 0})
    drill = answers.drill("trend", {"expr": "paid", "periods": 3, "index": 2})
    assert list(drill.users) == [1] and drill.about["date"] == "2026-11-27T00:00:00+00:00"


#: Each kind's request over ten days, and the field a window past the retention policy
#: names (a drill-down is refused before its own fields are read).
TEN_DAYS = [
    ("cohort", {"primary": "paid", "secondary": "viewed", "rows": 10, "cols": 3}, "rows"),
    ("trend", {"expr": "paid", "periods": 10}, "periods"),
    ("lifecycle", {"expr": "paid", "periods": 10}, "periods"),
    ("stickiness", {"expr": "paid", "periods": 10}, "periods"),
    ("funnel", {"step": ["viewed", "paid"], "periods": 10}, "periods"),
]


@pytest.mark.parametrize(("kind", "fields", "field"), TEN_DAYS)
def test_a_window_past_the_retention_policy_is_refused_once_for_every_front_end(
    kind: str, fields: dict[str, object], field: str
) -> None:
    repository = marked(STORE)
    answers = answers_over(repository, retention=RetentionPolicy.create({"days": 3}))
    with pytest.raises(PeriodsExpired, match="days are kept 3 days") as answered:
        answers.answer(kind, fields)
    with pytest.raises(PeriodsExpired) as drilled:
        answers.drill(kind, fields)
    assert answered.value.field == drilled.value.field == field
    assert (repository.fetches, repository.size_calls) == (0, 0)  # refused before reading
    shorter = {**fields, "rows" if kind == "cohort" else "periods": 2}
    assert answers.answer(kind, shorter).result is not None
