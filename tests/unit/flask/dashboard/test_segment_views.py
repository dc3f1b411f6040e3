"""``segment=`` in the API, the pages, the Python functions and the CLI: each answer and
drill-down with a segment equals the same request on an app holding only the segment's
users' marks; a segment naming nothing is a 400 naming the field."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from flask_bitmapist import (
    current_state,
    get_cohort,
    get_funnel,
    get_lifecycle,
    get_stickiness,
    get_trend,
    save_cohort,
    set_property,
)
from tests.cohort_model import EventLog
from tests.unit.flask.dashboard.support import AppFactory

SEGMENT = "plan=pro & ~skip"

#: One API request per kind, and one drill-down of each.
REQUESTS = [
    ("cohort", {"primary": "signed_up", "secondary": "paid", "time_group": "week", "rows": 5}),
    ("trend", {"expr": ["signed_up", "paid"], "periods": 20, "rolling": 7}),
    ("lifecycle", {"expr": "paid", "time_group": "week", "periods": 5}),
    ("stickiness", {"expr": "paid", "periods": 14}),
    ("funnel", {"step": ["signed_up", "paid"], "periods": 20}),
]
#: Each kind's page, with its request.
PAGES = [
    (page, fields)
    for page, (_, fields) in zip(
        ("cohort", "trends", "lifecycle", "stickiness", "funnel"), REQUESTS, strict=True
    )
]
DRILLS = [
    ("cohort/cell", REQUESTS[0][1], {"row": 4, "col": 0}),
    ("trend/users", REQUESTS[1][1], {"series": 1, "index": 19}),
    ("lifecycle/users", REQUESTS[2][1], {"status": "new", "index": 4}),
    ("stickiness/users", REQUESTS[3][1], {"k": 1}),
    ("funnel/users", REQUESTS[4][1], {"reached": 2}),
]


def members(user_id: int) -> bool:
    """Who the segment holds: pro users (the even ids) except the saved cohort "skip"."""
    return user_id % 2 == 0 and user_id % 3 != 0


@pytest.fixture
def pair(make_app: AppFactory, log: EventLog) -> tuple[Flask, Flask]:
    """An app holding every mark, the plans and the cohort "skip"; and an app holding only
    the marks of the segment's users."""
    everyone = make_app()
    with everyone.app_context():
        for user_id in range(200):
            set_property(user_id, "plan", "pro" if user_id % 2 == 0 else "free")
        save_cohort("skip", [u for u in range(200) if u % 3 == 0])
    only = make_app(seed=False)
    with only.app_context():
        current_state().repository.mark(m for m in log.marks() if members(m.user_id))
    return everyone, only


def query(fields: dict[str, object], **extra: object) -> str:
    pairs: list[tuple[str, object]] = []
    for key, value in {**fields, **extra}.items():
        pairs += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
    return urlencode(pairs)


@pytest.mark.parametrize(("kind", "fields"), REQUESTS)
def test_the_api_answers_within_the_segment(
    pair: tuple[Flask, Flask], kind: str, fields: dict[str, object]
) -> None:
    everyone, only = pair
    got = everyone.test_client().get(f"/bitmapist/api/{kind}?{query(fields, segment=SEGMENT)}")
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body.pop("segment") == SEGMENT
    want = only.test_client().get(f"/bitmapist/api/{kind}?{query(fields)}").get_json()
    want.pop("warnings", None)
    body.pop("warnings", None)
    assert body == want
    plain = everyone.test_client().get(f"/bitmapist/api/{kind}?{query(fields)}").get_json()
    plain.pop("warnings", None)
    assert plain != body  # the segment changes the answer
    csv = everyone.test_client().get(
        f"/bitmapist/api/{kind}?{query(fields, segment=SEGMENT, format='csv')}"
    )
    assert (
        csv.data == only.test_client().get(f"/bitmapist/api/{kind}?{query(fields)}&format=csv").data
    )


@pytest.mark.parametrize(("route", "fields", "which"), DRILLS)
def test_a_drill_down_is_within_the_segment(
    pair: tuple[Flask, Flask], route: str, fields: dict[str, object], which: dict[str, object]
) -> None:
    everyone, only = pair
    url = f"/bitmapist/api/{route}?{query(fields, **which, per_page=1000)}"
    got = everyone.test_client().get(f"{url}&{urlencode({'segment': SEGMENT})}").get_json()
    want = only.test_client().get(url).get_json()
    assert got["user_ids"] == want["user_ids"]
    assert all(members(u) for u in got["user_ids"])
    assert got["segment"] == SEGMENT


@pytest.mark.parametrize(("kind", "fields"), REQUESTS)
def test_a_segment_naming_nothing_is_a_400_naming_the_field(
    pair: tuple[Flask, Flask], kind: str, fields: dict[str, object]
) -> None:
    everyone, _ = pair
    response = everyone.test_client().get(
        f"/bitmapist/api/{kind}?{query(fields, segment='plan=gold')}"
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == "segment"
    assert "pro" in response.get_json()["message"]


@pytest.mark.parametrize(("page", "fields"), PAGES)
def test_every_page_has_the_segment_field_and_keeps_it(
    pair: tuple[Flask, Flask], page: str, fields: dict[str, object]
) -> None:
    everyone, _ = pair
    response = everyone.test_client().get(f"/bitmapist/{page}?{query(fields, segment=SEGMENT)}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="segment"' in html
    assert urlencode({"segment": SEGMENT}) in html  # links and drill-downs keep it
    assert 'id="users-save"' in html  # "Save as cohort" on the users panel
    assert 'data-save-url="/bitmapist/api/saved-cohorts"' in html
    bad = everyone.test_client().get(f"/bitmapist/{page}?{query(fields, segment='plan=gold')}")
    assert bad.status_code == 400


def test_the_python_functions_take_a_segment(pair: tuple[Flask, Flask]) -> None:
    everyone, only = pair
    calls: list[Callable[..., object]] = [
        lambda **s: get_cohort("signed_up", "paid", time_group="weeks", num_rows=5, **s),
        lambda **s: get_trend(["signed_up", "paid"], periods=20, rolling=7, **s).series,
        lambda **s: get_lifecycle("paid", "weeks", periods=5, **s).new,
        lambda **s: get_stickiness("paid", periods=14, **s).counts,
        lambda **s: get_funnel(["signed_up", "paid"], periods=20, **s).counts,
    ]
    for call in calls:
        with everyone.app_context():
            got = call(segment=SEGMENT)
            plain = call()
        with only.app_context():
            want = call()
        assert got == want
        assert got != plain


def test_the_cli_takes_a_segment(pair: tuple[Flask, Flask]) -> None:
    everyone, only = pair
    commands = [
        ["cohort", "signed_up", "paid", "--time-group", "weeks", "--rows", "5"],
        ["trend", "signed_up", "paid", "--periods", "20", "--rolling", "7"],
        ["lifecycle", "paid", "--time-group", "weeks", "--periods", "5"],
        ["stickiness", "paid", "--periods", "14"],
        ["funnel", "signed_up", "paid", "--periods", "20"],
    ]
    for command in commands:
        args = ["bitmapist", *command, "--format", "json"]
        got = everyone.test_cli_runner().invoke(args=[*args, "--segment", SEGMENT])
        assert got.exit_code == 0, got.output
        want = only.test_cli_runner().invoke(args=args)
        answer = json.loads(got.stdout)
        assert answer.pop("segment") == SEGMENT
        answer.pop("warnings", None)
        expected = json.loads(want.stdout)
        expected.pop("warnings", None)
        assert answer == expected
    bad = everyone.test_cli_runner().invoke(
        args=["bitmapist", "trend", "paid", "--segment", "plan=gold"]
    )
    assert bad.exit_code == 2
    assert "--segment" in bad.output


#: The comparable requests, and the moment N periods before the dashboard's now.
COMPARED = [
    ("trend", REQUESTS[1][1], "2026-11-07T15:20:00+00:00"),
    ("stickiness", REQUESTS[3][1], "2026-11-13T15:20:00+00:00"),
    ("funnel", REQUESTS[4][1], "2026-11-07T15:20:00+00:00"),
]


@pytest.mark.parametrize(("kind", "fields", "before"), COMPARED)
def test_compare_previous_in_the_api_the_cli_and_python(
    pair: tuple[Flask, Flask], kind: str, fields: dict[str, object], before: str
) -> None:
    everyone, _ = pair
    client = everyone.test_client()
    got = client.get(f"/bitmapist/api/{kind}?{query(fields, compare='previous')}").get_json()
    moved = client.get(f"/bitmapist/api/{kind}?{query(fields, now=before)}").get_json()
    if kind == "trend":
        assert got["previous_dates"] == moved["dates"]
        assert [s["previous"] for s in got["series"]] == [s["counts"] for s in moved["series"]]
    else:
        assert got["previous"] == moved["counts"]
    assert any(got.get("previous") or [s["previous"] for s in got.get("series", [])])
    command = {
        "trend": ["trend", "signed_up", "paid", "--periods", "20", "--rolling", "7"],
        "stickiness": ["stickiness", "paid", "--periods", "14"],
        "funnel": ["funnel", "signed_up", "paid", "--periods", "20"],
    }[kind]
    printed = everyone.test_cli_runner().invoke(
        args=["bitmapist", *command, "--compare", "previous", "--format", "json"]
    )
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == got
    functions: dict[str, Callable[..., Any]] = {
        "trend": get_trend,
        "stickiness": get_stickiness,
        "funnel": get_funnel,
    }
    call = functions[kind]
    first: object = fields.get("expr", fields.get("step"))
    extra = {"rolling": 7} if kind == "trend" else {}
    with everyone.app_context():
        result = call(first, periods=fields["periods"], compare="previous", **extra)
        earlier = call(
            first, periods=fields["periods"], now=datetime.fromisoformat(before), **extra
        )
    assert result.previous == earlier


@pytest.mark.parametrize(("kind", "fields"), REQUESTS)
def test_breakdown_in_the_api_and_the_cli(
    pair: tuple[Flask, Flask], kind: str, fields: dict[str, object]
) -> None:
    everyone, _ = pair
    client = everyone.test_client()
    got = client.get(f"/bitmapist/api/{kind}?{query(fields, breakdown='plan')}").get_json()
    assert got["breakdown"] == "plan"
    assert got["omitted_values"] == 0
    assert [group["value"] for group in got["groups"]] == ["free", "pro", None]  # 100 each
    for group in got["groups"][:-1]:
        alone = client.get(
            f"/bitmapist/api/{kind}?{query(fields, segment='plan=' + group['value'])}"
        ).get_json()
        alone.pop("segment")
        assert {k: v for k, v in group.items() if k != "value"} == alone
    csv = client.get(f"/bitmapist/api/{kind}?{query(fields, breakdown='plan', format='csv')}")
    assert csv.status_code == 200
    assert csv.get_data(as_text=True).startswith("plan,")
    bad = client.get(f"/bitmapist/api/{kind}?{query(fields, breakdown='tier')}")
    assert bad.status_code == 400
    assert bad.get_json()["field"] == "breakdown"
    command = {
        "cohort": ["cohort", "signed_up", "paid", "--time-group", "weeks", "--rows", "5"],
        "trend": ["trend", "signed_up", "paid", "--periods", "20", "--rolling", "7"],
        "lifecycle": ["lifecycle", "paid", "--time-group", "weeks", "--periods", "5"],
        "stickiness": ["stickiness", "paid", "--periods", "14"],
        "funnel": ["funnel", "signed_up", "paid", "--periods", "20"],
    }[kind]
    printed = everyone.test_cli_runner().invoke(
        args=["bitmapist", *command, "--breakdown", "plan", "--format", "json"]
    )
    assert printed.exit_code == 0, printed.output
    shown = json.loads(printed.stdout)
    if kind == "cohort":  # the CLI's cohort has its own defaults; the groups are the same
        assert [g["totals"] for g in shown["groups"]] == [g["totals"] for g in got["groups"]]
    else:
        assert shown == got


def test_the_python_functions_break_down(pair: tuple[Flask, Flask]) -> None:
    everyone, _ = pair
    with everyone.app_context():
        by_plan = get_stickiness("paid", periods=14, breakdown="plan")
        assert list(by_plan) == ["free", "pro", None]
        assert by_plan["pro"] == get_stickiness("paid", periods=14, segment="plan=pro")
        whole = get_stickiness("paid", periods=14).counts
        assert [sum(c) for c in zip(*(s.counts for s in by_plan.values()), strict=True)] == list(
            whole
        )
        trends = get_trend("paid", periods=5, breakdown="plan", segment="~skip & plan=pro")
        assert list(trends) == ["free", "pro", None]  # groups by who holds each value
        assert trends["free"].series[0].counts == (0,) * 5  # none of them in the segment
        assert trends[None].series[0].counts == (0,) * 5
        assert list(get_lifecycle("paid", breakdown="plan")) == ["free", "pro", None]
        assert list(get_funnel(["signed_up", "paid"], breakdown="plan")) == ["free", "pro", None]


@pytest.mark.parametrize(
    ("page", "fields", "kind"),
    [
        ("trends", REQUESTS[1][1], "trend"),
        ("stickiness", REQUESTS[3][1], "stickiness"),
        ("funnel", REQUESTS[4][1], "funnel"),
    ],
)
def test_the_pages_show_the_previous_window_and_the_change(
    pair: tuple[Flask, Flask], page: str, fields: dict[str, object], kind: str
) -> None:
    everyone, _ = pair
    client = everyone.test_client()
    plain = client.get(f"/bitmapist/{page}?{query(fields)}").get_data(as_text=True)
    assert 'name="compare"' in plain and "data-previous=" not in plain
    html = client.get(f"/bitmapist/{page}?{query(fields, compare='previous')}").get_data(
        as_text=True
    )
    assert 'name="compare" value="previous" checked' in html
    answer = client.get(f"/bitmapist/api/{kind}?{query(fields, compare='previous')}").get_json()
    before = answer["series"][0]["previous"] if kind == "trend" else answer["previous"]
    shown = [int(n) for n in re.findall(r'data-previous="(\d+)"', html)]
    if kind == "trend":  # one previous column per series, row by row
        assert shown[:: len(answer["series"])] == before
        assert html.count('class="series-line line-0 previous"') == 1  # faded, dashed
    else:
        assert shown[: len(before)] == before
    assert 'class="num change' in html


@pytest.mark.parametrize(
    ("page", "fields", "kind"),
    [
        ("cohort", REQUESTS[0][1], "cohort"),
        ("trends", REQUESTS[1][1], "trend"),
        ("lifecycle", REQUESTS[2][1], "lifecycle"),
        ("stickiness", REQUESTS[3][1], "stickiness"),
        ("funnel", REQUESTS[4][1], "funnel"),
    ],
)
def test_every_page_shows_a_block_per_group(
    pair: tuple[Flask, Flask], page: str, fields: dict[str, object], kind: str
) -> None:
    everyone, _ = pair
    client = everyone.test_client()
    plain = client.get(f"/bitmapist/{page}?{query(fields)}").get_data(as_text=True)
    assert 'name="breakdown"' in plain and 'id="breakdown"' in plain
    assert 'class="card breakdown"' not in plain
    response = client.get(f"/bitmapist/{page}?{query(fields, breakdown='plan')}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    values = re.findall(r'class="breakdown-group" data-value="([^"]*)"', html)
    assert values == ["free", "pro", ""]
    assert urlencode({"breakdown": "plan"}) in html  # its downloads are the breakdown's
    bad = client.get(f"/bitmapist/{page}?{query(fields, breakdown='tier')}")
    assert bad.status_code == 400
    assert 'id="breakdown" value="tier"' in bad.get_data(as_text=True)


@pytest.mark.parametrize(("route", "fields", "which"), DRILLS)
def test_a_breakdown_groups_drill_down_in_the_api(
    pair: tuple[Flask, Flask], route: str, fields: dict[str, object], which: dict[str, object]
) -> None:
    everyone, _ = pair
    client = everyone.test_client()
    url = f"/bitmapist/api/{route}?{query(fields, **which, per_page=1000)}"
    pro = client.get(f"{url}&breakdown=plan&group=pro").get_json()
    assert pro["group"] == "pro"
    assert pro["user_ids"] == client.get(f"{url}&segment=plan%3Dpro").get_json()["user_ids"]
    rest = client.get(f"{url}&breakdown=plan&group=").get_json()
    assert rest["group"] is None and rest["user_ids"] == []  # every user has a plan
    bad = client.get(f"{url}&breakdown=plan&group=gold")
    assert (bad.status_code, bad.get_json()["field"]) == (400, "group")


@pytest.mark.parametrize(("page", "fields"), PAGES)
def test_a_breakdown_blocks_numbers_list_their_users_within_the_group(
    pair: tuple[Flask, Flask], page: str, fields: dict[str, object]
) -> None:
    everyone, _ = pair
    client = everyone.test_client()
    html = client.get(f"/bitmapist/{page}?{query(fields, breakdown='plan')}").get_data(as_text=True)
    blocks = html.split('id="breakdown-groups"', 1)[1]
    cells = re.findall(r'data-count="(\d+)" data-title="[^"]*" data-users-url="([^"]+)"', blocks)
    groups = {
        re.search(r"&group=([^&]*)", url.replace("&amp;", "&")) is not None for _, url in cells
    }
    assert cells and groups == {True}
    plans = {"free": 1, "pro": 0}
    for count, url in cells[:: max(1, len(cells) // 6)]:
        url = url.replace("&amp;", "&")
        got = client.get(f"{url}&per_page=1000").get_json()
        assert got["count"] == int(count) > 0
        assert got["group"] in plans
        assert {u % 2 for u in got["user_ids"]} == {plans[got["group"]]}


@pytest.mark.parametrize(
    ("page", "fields"), [p for p in PAGES if p[0] in ("trends", "stickiness", "funnel")]
)
def test_compared_breakdown_blocks_list_the_users_of_each_current_count(
    pair: tuple[Flask, Flask], page: str, fields: dict[str, object]
) -> None:
    # With compare=previous the tables gain previous columns: every linked number is
    # still a count of this window, and lists exactly its users.
    everyone, _ = pair
    client = everyone.test_client()
    url = f"/bitmapist/{page}?{query(fields, breakdown='plan', compare='previous')}"
    blocks = client.get(url).get_data(as_text=True).split('id="breakdown-groups"', 1)[1]
    cells = re.findall(r'data-count="([^"]*)" data-title="[^"]*" data-users-url="([^"]+)"', blocks)
    assert cells
    for count, link in cells:
        assert count.isdigit()  # a count of users, never a date or a percentage
        got = client.get(f"{link.replace('&amp;', '&')}&per_page=1000").get_json()
        assert got["count"] == int(count)
