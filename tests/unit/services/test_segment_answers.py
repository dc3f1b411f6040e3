"""``segment=`` on every answer: the answer restricted to a segment equals the same
answer computed on the marks of the segment's users only (the brute-force model: drop
everyone else's marks), drill-downs and first-ever history included, in zones on both
sides of UTC."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_bitmapist.domain import Bitmap, Mark
from flask_bitmapist.domain.segments import UserSetId
from flask_bitmapist.exceptions import InvalidRequest, InvalidSegment, ReadBudgetExceeded
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.answers import ReadBudget
from tests.segment_answers_support import (
    NOW,
    REQUESTS,
    ZONES,
    Marks,
    Moves,
    answers_over,
    check_moves_leave_each_user_in_one_group,
    marked,
    marks_strategy,
    moves_strategy,
)
from tests.segment_model import World, segments, store, worlds
from tests.stores import FetchCounting


def plain(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "segment"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marks=marks_strategy(), world=worlds(), data=st.data())
@pytest.mark.parametrize(("kind", "fields", "drills"), REQUESTS)
def test_a_segment_answer_is_the_answer_on_its_users_marks(
    kind: str,
    fields: dict[str, Any],
    drills: list[dict[str, Any]],
    marks: Marks,
    world: World,
    data: st.DataObject,
) -> None:
    text, users = data.draw(segments(world))
    zone = data.draw(st.sampled_from(ZONES))
    everyone = marked(marks)
    store(everyone, world)
    only = marked(m for m in marks if m[1] in users)

    got = answers_over(everyone, zone).answer(kind, fields, segment=text, warn=False)
    want = answers_over(only, zone).answer(kind, fields, warn=False)
    assert got.segment == text
    assert got.to_dict()["segment"] == text
    assert plain(got.to_dict()) == want.to_dict()
    assert got.csv() == want.csv()
    for drill in drills:
        within = {**fields, **drill, "segment": text}
        restricted = answers_over(everyone, zone).drill(kind, within)
        assert restricted.users == answers_over(only, zone).drill(kind, {**fields, **drill}).users
        assert restricted.about["segment"] == text


def test_the_segment_comes_from_the_fields_or_the_keyword() -> None:
    repository = marked([("a", 1, 0), ("a", 2, 0), ("a", 3, 30)])
    store(repository, ({"plan": {1: "pro", 3: "pro", 2: "free"}}, {"vip": frozenset({2})}))
    answers = answers_over(repository)
    fields = {"expr": "a", "periods": 2}
    assert answers.answer("trend", fields).to_dict()["series"][0]["counts"] == [1, 2]
    by_field = answers.answer("trend", {**fields, "segment": "plan=pro"}).to_dict()
    assert by_field["series"][0]["counts"] == [1, 1]
    by_keyword = answers.answer("trend", fields, segment="plan=pro | vip").to_dict()
    assert by_keyword["series"][0]["counts"] == [1, 2]
    assert "segment" not in answers.answer("trend", {**fields, "segment": "  "}).to_dict()


def test_a_segment_answers_table_names_the_segment_above_it() -> None:
    repository = marked([("a", 1, 0)])
    store(repository, ({"plan": {1: "pro"}}, {}))
    answers = answers_over(repository)
    plain = answers.answer("trend", {"expr": "a", "periods": 2}).table()
    within = answers.answer("trend", {"expr": "a", "periods": 2}, segment="plan=pro").table()
    assert within.splitlines() == ["segment: plan=pro", *plain.splitlines()]


def test_a_segment_naming_nothing_is_refused_naming_the_field() -> None:
    repository = marked([("a", 1, 0)])
    store(repository, ({"plan": {1: "pro"}}, {"vip": frozenset({1})}))
    answers = answers_over(repository)
    with pytest.raises(InvalidSegment) as error:
        answers.answer("trend", {"expr": "a"}, segment="plan=gold")
    assert error.value.field == "segment"
    assert "pro" in str(error.value)
    with pytest.raises(InvalidRequest) as wrong:
        answers.answer("trend", {"expr": "a", "segment": 3})
    assert wrong.value.field == "segment"


def test_the_segments_sets_count_toward_the_read_budget() -> None:
    repository = marked([("a", 1, 0)])
    store(repository, ({"plan": {1: "pro"}}, {"vip": frozenset({1})}))
    answers = answers_over(repository, budget=ReadBudget(keys=2))
    fields = {"expr": "a", "periods": 2}
    assert answers.answer("trend", fields).to_dict()["series"][0]["counts"] == [0, 1]
    with pytest.raises(ReadBudgetExceeded):
        answers.answer("trend", fields, segment="plan=pro & vip")


# -- compare="previous" ---------------------------------------------------------------------

#: Each comparable request, with the moment N periods before NOW written out by hand.
COMPARED: list[tuple[str, dict[str, Any], datetime]] = [
    ("trend", {"expr": ["a", "a & ~b"], "periods": 10, "rolling": 3}, NOW - timedelta(days=10)),
    ("trend", {"expr": "b", "time_group": "week", "periods": 3}, NOW - timedelta(weeks=3)),
    ("stickiness", {"expr": "a | b", "periods": 14}, NOW - timedelta(days=14)),
    ("stickiness", {"expr": "a", "time_group": "month", "periods": 1}, NOW.replace(month=10)),
    ("funnel", {"step": ["a", "b"], "periods": 20}, NOW - timedelta(days=20)),
    ("funnel", {"step": ["b", "a"], "time_group": "month", "periods": 2}, NOW.replace(month=9)),
]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marks=marks_strategy(), world=worlds(), data=st.data())
@pytest.mark.parametrize(("kind", "fields", "before"), COMPARED)
def test_the_previous_window_is_the_answer_with_now_moved_back(
    kind: str,
    fields: dict[str, Any],
    before: datetime,
    marks: Marks,
    world: World,
    data: st.DataObject,
) -> None:
    repository = marked(marks)
    store(repository, world)
    answers = answers_over(repository)
    text = data.draw(st.none() | segments(world).map(lambda built: built[0]))
    got = answers.answer(kind, fields, compare="previous", segment=text, warn=False)
    moved = answers.answer(kind, {**fields, "now": before}, segment=text, warn=False)
    assert got.previous == moved.result
    plain = answers.answer(kind, fields, segment=text, warn=False).to_dict()
    answer = got.to_dict()
    if kind == "trend":
        assert answer["previous_dates"] == moved.to_dict()["dates"]
        for series, earlier in zip(answer["series"], moved.to_dict()["series"], strict=True):
            assert series.pop("previous") == earlier["counts"]
        del answer["previous_dates"]
    else:
        assert answer.pop("previous") == moved.to_dict()["counts"]
    assert answer == plain


@pytest.mark.parametrize("kind", ["cohort", "lifecycle"])
def test_compare_is_refused_where_it_has_no_meaning(kind: str) -> None:
    fields = {"primary": "a", "secondary": "b", "expr": "a"}
    with pytest.raises(InvalidRequest) as error:
        answers_over(marked([])).answer(kind, {**fields, "compare": "previous"})
    assert error.value.field == "compare"
    with pytest.raises(InvalidRequest) as wrong:
        answers_over(marked([])).answer("trend", {"expr": "a", "compare": "last year"})
    assert wrong.value.field == "compare"
    assert "'last year'" in str(wrong.value)


# -- breakdown=P ------------------------------------------------------------------------------


def add_up(answers: list[dict[str, Any]]) -> list[int]:
    """The groups' counts added (the first series of a trend)."""
    counts = [a["series"][0]["counts"] if "series" in a else a["counts"] for a in answers]
    return [sum(column) for column in zip(*counts, strict=True)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marks=marks_strategy(), world=worlds(), data=st.data())
@pytest.mark.parametrize(("kind", "fields", "drills"), REQUESTS)
def test_breakdown_groups_partition_the_answer_each_the_segment_answer(
    kind: str,
    fields: dict[str, Any],
    drills: list[dict[str, Any]],
    marks: Marks,
    world: World,
    data: st.DataObject,
) -> None:
    del drills
    repository = marked(marks)
    store(repository, world)
    zone = data.draw(st.sampled_from(ZONES))
    # Up to three values: a cap of 1 counts them before reading those kept, 2 and 3 read all.
    cap = data.draw(st.integers(1, 3))
    answers = answers_over(repository, zone, max_breakdown_groups=cap)
    built = data.draw(st.none() | segments(world))
    text, users = (None, None) if built is None else built
    found = answers.breakdown(kind, fields, breakdown="plan", segment=text, warn=False)
    plans = world[0]["plan"]
    holders = {value: {u for u, v in plans.items() if v == value} for value in set(plans.values())}
    values = [value for value, _ in found.groups]
    assert values[-1] is None
    assert len(values) == min(cap, len(holders)) + 1
    assert found.omitted == max(0, len(holders) - cap)
    sizes = [len(holders[value]) for value in values[:-1] if value is not None]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes == sorted((len(h) for h in holders.values()), reverse=True)[:cap]
    for value, answer in found.groups[:-1]:
        both = f"plan={value}" if text is None else f"plan={value} & ({text})"
        alone = answers.answer(kind, fields, segment=both, warn=False)
        assert answer.result == alone.result
    chosen = set().union(*(holders[value] for value in values[:-1] if value is not None))
    rest = answers_over(
        marked(m for m in marks if m[1] not in chosen and (users is None or m[1] in users)), zone
    )
    assert found.groups[-1][1].result == rest.answer(kind, fields, warn=False).result
    whole = answers.answer(kind, fields, segment=text, warn=False).to_dict()
    parts = [answer.to_dict() for _, answer in found.groups]
    if kind in ("trend", "stickiness", "funnel"):
        assert add_up(parts) == add_up([whole])
    if kind == "cohort":
        assert [sum(t) for t in zip(*(p["totals"] for p in parts), strict=True)] == whole["totals"]
    as_json = found.to_dict()
    assert as_json["breakdown"] == "plan"
    assert as_json["omitted_values"] == found.omitted
    assert [g["value"] for g in as_json["groups"]] == values
    assert all(set(g) - {"value"} == set(p) for g, p in zip(as_json["groups"], parts, strict=True))
    assert list(found.results) == values


@settings(max_examples=40, deadline=None)
@given(moves=moves_strategy())
def test_users_moved_between_values_are_each_in_exactly_one_group(moves: Moves) -> None:
    check_moves_leave_each_user_in_one_group(InMemoryRepository(), moves)


def test_a_breakdowns_values_count_toward_the_read_budget() -> None:
    repository = marked([("a", 1, 0)])
    store(repository, ({"plan": {1: "pro", 2: "free", 3: "team"}}, {}))
    fields = {"expr": "a", "periods": 2}
    assert (
        answers_over(repository, budget=ReadBudget(keys=5))
        .breakdown("trend", fields, breakdown="plan")
        .groups
    )
    with pytest.raises(ReadBudgetExceeded) as error:
        answers_over(repository, budget=ReadBudget(keys=4)).breakdown(
            "trend", fields, breakdown="plan"
        )
    assert "5 bitmaps" in str(error.value)


class UserSetsRead(InMemoryRepository):
    """The in-process store, keeping every user set it was asked to read (``read``) and to
    count (``counted``: counting is checked on every store by the contract tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[UserSetId] = []
        self.counted: list[UserSetId] = []

    def fetch_user_sets(
        self, ids: Sequence[UserSetId], *, max_bytes: int | None = None
    ) -> list[Bitmap]:
        self.read += ids
        return super().fetch_user_sets(ids, max_bytes=max_bytes)

    def count_user_sets(
        self, ids: Sequence[UserSetId], *, max_bytes: int | None = None
    ) -> list[int]:
        self.counted += ids
        return [len(users) for users in super().fetch_user_sets(ids, max_bytes=max_bytes)]


def test_a_breakdown_past_the_cap_reads_only_the_values_it_keeps() -> None:
    repository = UserSetsRead()
    repository.mark(Mark.create("a", user, NOW) for user in range(500))
    # Value v{k} is held by the k + 1 users from k * (k + 1) / 2 on: v29 is the largest.
    plans = {u: f"v{k}" for k in range(30) for u in range(k * (k + 1) // 2, (k + 1) * (k + 2) // 2)}
    store(repository, ({"plan": plans}, {}))
    repository.read.clear()
    fields = {"expr": "a", "periods": 1}
    # One day's bitmap and the three values kept: 4 reads, not 31.
    answers = answers_over(repository, max_breakdown_groups=3, budget=ReadBudget(keys=4))
    found = answers.breakdown("trend", fields, breakdown="plan")
    assert [value for value, _ in found.groups] == ["v29", "v28", "v27", None]
    assert found.omitted == 27
    assert sorted(str(item) for item in repository.read) == ["plan=v27", "plan=v28", "plan=v29"]
    assert len(repository.counted) == 30
    counts = [answer.result.series[0].counts for _, answer in found.groups]
    assert counts == [(30,), (29,), (28,), (500 - 87,)]
    with pytest.raises(ReadBudgetExceeded) as error:
        answers_over(repository, max_breakdown_groups=3, budget=ReadBudget(keys=3)).breakdown(
            "trend", fields, breakdown="plan"
        )
    assert "4 bitmaps" in str(error.value)
    # Up to twice the cap, reading every value costs less than counting them first.
    repository.read.clear()
    repository.counted.clear()
    found = answers_over(repository, max_breakdown_groups=15).breakdown(
        "trend", fields, breakdown="plan"
    )
    assert [value for value, _ in found.groups][:2] == ["v29", "v28"]
    assert (len(repository.read), len(repository.counted)) == (30, 0)


def test_both_windows_of_a_comparison_count_toward_the_read_budget() -> None:
    repository = marked([("a", 1, 0)])
    fields = {"expr": "a", "periods": 3}
    answers = answers_over(repository, budget=ReadBudget(keys=5))
    assert answers.answer("trend", fields).to_dict()["series"][0]["counts"] == [0, 0, 1]
    with pytest.raises(ReadBudgetExceeded) as error:
        answers.answer("trend", fields, compare="previous")
    assert "6 bitmaps" in str(error.value)


def test_a_breakdown_by_no_property_names_the_field() -> None:
    repository = marked([("a", 1, 0)])
    store(repository, ({"plan": {1: "pro"}}, {"vip": frozenset({1})}))
    with pytest.raises(InvalidRequest) as error:
        answers_over(repository).breakdown("trend", {"expr": "a", "breakdown": "tier"})
    assert error.value.field == "breakdown"
    assert "plan" in str(error.value)


def test_a_breakdown_csv_has_the_value_first() -> None:
    repository = marked([("a", 1, 0), ("a", 2, 0), ("a", 3, 0)])
    store(repository, ({"plan": {1: "pro", 2: "pro", 3: "free"}}, {"vip": frozenset({1})}))
    found = answers_over(repository).breakdown(
        "stickiness", {"expr": "a", "periods": 2}, breakdown="plan"
    )
    lines = found.csv().splitlines()
    assert lines[0].split(",")[:2] == ["plan", "days"]
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["pro", "1", "2"],
        ["pro", "2", "0"],
        ["pro", "total", "2"],
        ["free", "1", "1"],
        ["free", "2", "0"],
        ["free", "total", "1"],
        ["", "1", "0"],
        ["", "2", "0"],
        ["", "total", "0"],
    ]


@pytest.mark.parametrize(("kind", "fields", "drills"), REQUESTS)
def test_a_breakdown_reads_the_answers_bitmaps_once(
    kind: str, fields: dict[str, Any], drills: list[dict[str, Any]]
) -> None:
    del drills
    repository = FetchCounting()
    repository.mark(
        Mark.create(event, user, NOW - timedelta(days=day))
        for event in ("a", "b")
        for user in range(30)
        for day in range(0, 40, 1 + user % 5)
    )
    store(repository, ({"plan": {u: ("free", "pro", "team")[u % 3] for u in range(30)}}, {}))
    repository.fetches = 0
    answers_over(repository).answer(kind, fields, warn=False)
    plain = repository.fetches
    repository.fetches = 0
    found = answers_over(repository).breakdown(kind, fields, breakdown="plan", warn=False)
    assert len(found.groups) == 4
    assert repository.fetches == plain


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marks=marks_strategy(), world=worlds(), data=st.data())
@pytest.mark.parametrize(("kind", "fields", "drills"), REQUESTS)
def test_a_breakdown_groups_drill_down_is_within_the_group(
    kind: str,
    fields: dict[str, Any],
    drills: list[dict[str, Any]],
    marks: Marks,
    world: World,
    data: st.DataObject,
) -> None:
    repository = marked(marks)
    store(repository, world)
    answers = answers_over(repository, max_breakdown_groups=2)
    found = answers.breakdown(kind, fields, breakdown="plan", warn=False)
    value = data.draw(st.sampled_from([v for v, _ in found.groups]))
    plans = world[0]["plan"]
    chosen = {u for u, v in plans.items() if v in {g for g, _ in found.groups[:-1]}}
    for drill in drills:
        asked = {**fields, **drill, "breakdown": "plan", "group": value or ""}
        got = answers.drill(kind, asked)
        assert got.about["group"] == value
        everyone = answers.drill(kind, {**fields, **drill}).users
        if value is None:
            assert set(got.users) == set(everyone) - chosen
        else:
            assert (
                got.users
                == answers.drill(kind, {**fields, **drill, "segment": f"plan={value}"}).users
            )
    with pytest.raises(InvalidRequest) as error:
        answers.drill(kind, {**fields, **drills[0], "breakdown": "plan", "group": "gold"})
    assert error.value.field == "group"
