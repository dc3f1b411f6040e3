"""The stickiness and funnel pages, their JSON/CSV API and drill-downs, against the set model."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from flask_bitmapist.domain import EventRef, TimeGroup, parse_expression
from tests.cohort_model import EventLog
from tests.stores import FetchCounting
from tests.unit.domain.set_model import SetModel, funnel_reached, row_starts, stickiness
from tests.unit.flask.dashboard.support import NOW, XSS_EVENT, AppFactory
from tests.unit.flask.support import DownRepository


def model_of(log: EventLog) -> SetModel:
    return SetModel(log.entries)


def stickiness_url(path: str = "/bitmapist/api/stickiness", **params: object) -> str:
    return f"{path}?{urlencode({'expr': 'paid', 'periods': 14, **params})}"


def funnel_url(
    steps: Sequence[str] = ("signed_up", "paid", "refunded"),
    path: str = "/bitmapist/api/funnel",
    **params: object,
) -> str:
    pairs = [("step", step) for step in steps] + [(k, str(v)) for k, v in params.items()]
    return f"{path}?{urlencode(pairs)}"


# -- stickiness API ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "group", "periods"),
    [
        ("paid", "day", 14),
        ("paid | refunded", "day", 30),
        ("signed_up", "week", 8),
        ("paid", "hour", 48),
    ],
)
def test_the_stickiness_api_answers_as_the_model(
    client: FlaskClient, log: EventLog, expr: str, group: str, periods: int
) -> None:
    body = client.get(stickiness_url(expr=expr, time_group=group, periods=periods)).get_json()

    time_group = TimeGroup.parse(group)
    users_in = model_of(log).users_of(parse_expression(expr), time_group)
    assert body == {"periods": periods, "counts": stickiness(users_in, time_group, NOW, periods)}
    assert sum(body["counts"]) > 0


def test_stickiness_as_csv(client: FlaskClient, log: EventLog) -> None:
    response = client.get(stickiness_url(format="csv"))

    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    counts = stickiness(
        model_of(log).users_of(EventRef("paid"), TimeGroup.DAY), TimeGroup.DAY, NOW, 14
    )
    assert rows[0] == ["days", "users", "percent"]
    assert [int(row[1]) for row in rows[1:-1]] == counts
    assert [int(row[0]) for row in rows[1:-1]] == list(range(1, 15))
    assert rows[-1][:2] == ["total", str(sum(counts))]


def test_stickiness_drills_down_to_the_users_of_each_k(client: FlaskClient, log: EventLog) -> None:
    users_in = model_of(log).users_of(EventRef("paid"), TimeGroup.DAY)
    seen: dict[int, int] = {}
    for start in row_starts(TimeGroup.DAY, NOW, 14):
        for user in users_in(start):
            seen[user] = seen.get(user, 0) + 1
    for k in (1, 2, 3):
        body = client.get(stickiness_url("/bitmapist/api/stickiness/users", k=k)).get_json()
        expected = sorted(u for u, n in seen.items() if n == k)
        assert body["user_ids"] == expected
        assert body["count"] == len(expected) and body["k"] == k


# -- funnel API --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "group", "periods"),
    [
        (("signed_up", "paid"), "day", 30),
        (("signed_up", "paid", "refunded"), "day", 14),
        (("paid", "signed_up"), "day", 40),  # the order matters
        (("signed_up", "paid | refunded", "refunded & ~paid"), "week", 6),
    ],
)
def test_the_funnel_api_answers_as_the_model(
    client: FlaskClient, log: EventLog, steps: tuple[str, ...], group: str, periods: int
) -> None:
    body = client.get(funnel_url(steps, time_group=group, periods=periods)).get_json()

    time_group = TimeGroup.parse(group)
    model = model_of(log)
    reached = funnel_reached(
        [model.users_of(parse_expression(s), time_group) for s in steps], time_group, NOW, periods
    )
    assert body == {"steps": list(steps), "counts": [len(users) for users in reached]}


def test_a_funnel_of_reversed_steps_counts_fewer(client: FlaskClient) -> None:
    forward = client.get(funnel_url(("signed_up", "paid"), periods=40)).get_json()["counts"]
    backward = client.get(funnel_url(("paid", "signed_up"), periods=40)).get_json()["counts"]

    # Everyone signs up before paying: reversed, only those who did both in one day remain.
    assert backward[1] < forward[1]


def test_funnel_as_csv_with_conversions(client: FlaskClient) -> None:
    counts = client.get(funnel_url()).get_json()["counts"]
    response = client.get(funnel_url(format="csv"))

    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert response.mimetype == "text/csv"
    assert rows[0] == ["step", "expression", "users", "from previous %", "from first %", "dropped"]
    assert [row[1] for row in rows[1:]] == ["signed_up", "paid", "refunded"]
    assert [int(row[2]) for row in rows[1:]] == counts
    assert rows[2][3] == f"{100 * counts[1] / counts[0]:.2f}"
    assert rows[3][4] == f"{100 * counts[2] / counts[0]:.2f}"
    assert rows[1][5] == str(counts[0] - counts[1])


def test_funnel_csv_does_not_let_a_spreadsheet_run_a_step_name(make_app: AppFactory) -> None:
    client = make_app(seed=False).test_client()

    text = client.get(funnel_url(("=cmd", "@a"), format="csv")).get_data(as_text=True)

    rows = list(csv.reader(io.StringIO(text)))
    assert [row[1] for row in rows[1:]] == ["'=cmd", "'@a"]


def test_funnel_drills_down_to_reached_and_dropped_users(
    client: FlaskClient, log: EventLog
) -> None:
    model = model_of(log)
    steps = ("signed_up", "paid", "refunded")
    reached = funnel_reached(
        [model.users_of(EventRef(s), TimeGroup.DAY) for s in steps], TimeGroup.DAY, NOW, 30
    )
    for k in (1, 2, 3):
        body = client.get(funnel_url(steps, "/bitmapist/api/funnel/users", reached=k)).get_json()
        assert body["user_ids"] == sorted(reached[k - 1])
    for k in (1, 2):
        body = client.get(funnel_url(steps, "/bitmapist/api/funnel/users", dropped=k)).get_json()
        assert body["user_ids"] == sorted(reached[k - 1] - reached[k])
        assert body["dropped"] == k


# -- bad input and storage trouble ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (stickiness_url(expr=""), "expr"),
        (stickiness_url(expr="paid &"), "expr"),
        (stickiness_url(expr="~paid"), "expr"),
        (stickiness_url(periods=0), "periods"),
        (stickiness_url(periods=1001), "periods"),
        (stickiness_url(periods="ten"), "periods"),
        (stickiness_url(time_group="fortnight"), "time_group"),
        (stickiness_url(now="yesterday"), "now"),
        (stickiness_url(format="xml"), "format"),
        (stickiness_url("/bitmapist/api/stickiness/users", k=15), "k"),
        (stickiness_url("/bitmapist/api/stickiness/users"), "k"),
        (funnel_url(("paid",)), "step"),
        (funnel_url(["paid"] * 11), "step"),
        (funnel_url(("paid", "(refunded")), "step"),
        (funnel_url(periods=-1), "periods"),
        (funnel_url(format="pdf"), "format"),
        (funnel_url(path="/bitmapist/api/funnel/users"), "reached"),
        (funnel_url(path="/bitmapist/api/funnel/users", reached=4), "reached"),
        (funnel_url(path="/bitmapist/api/funnel/users", dropped=3), "dropped"),
        (funnel_url(path="/bitmapist/api/funnel/users", reached=1, page=0), "page"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client: FlaskClient, url: str, field: str) -> None:
    response = client.get(url)

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad_request"
    assert body["field"] == field
    assert body["message"]


def test_a_bad_funnel_step_says_which(client: FlaskClient) -> None:
    body = client.get(funnel_url(("paid", "refunded", "(x"))).get_json()

    assert body["message"].startswith("step 3:")


ANSWER_ROUTES = [
    stickiness_url(),
    stickiness_url(format="csv"),
    stickiness_url("/bitmapist/api/stickiness/users", k=1),
    stickiness_url("/bitmapist/stickiness"),
    funnel_url(),
    funnel_url(format="csv"),
    funnel_url(path="/bitmapist/api/funnel/users", reached=1),
    funnel_url(path="/bitmapist/funnel"),
]


@pytest.mark.parametrize("url", ANSWER_ROUTES)
def test_storage_down_is_a_503(make_app: AppFactory, url: str) -> None:
    client = make_app(DownRepository(), seed=False).test_client()

    response = client.get(url)

    assert response.status_code == 503
    if "/api/" in url:
        assert response.get_json()["error"] == "storage_unavailable"
    else:
        assert "Storage unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", [*ANSWER_ROUTES, "/bitmapist/stickiness", "/bitmapist/funnel"])
def test_without_permission_every_new_route_is_403(make_app: AppFactory, url: str) -> None:
    client = make_app(TESTING=False).test_client()

    assert client.get(url).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        stickiness_url(periods=1000),
        funnel_url(periods=1000),
        stickiness_url("/bitmapist/api/stickiness/users", k=2),
        funnel_url(path="/bitmapist/api/funnel/users", dropped=1),
    ],
)
def test_an_answer_reads_storage_once(make_app: AppFactory, url: str) -> None:
    store = FetchCounting()
    client = make_app(store).test_client()
    store.fetches = 0

    assert client.get(url).status_code == 200
    assert store.fetches == 1


# -- the pages -----------------------------------------------------------------------------


def test_the_stickiness_page_draws_a_bar_per_k_that_has_users(client: FlaskClient) -> None:
    counts = client.get(stickiness_url()).get_json()["counts"]
    html = client.get(stickiness_url("/bitmapist/stickiness")).get_data(as_text=True)

    assert html.count('<rect class="bar"') == sum(1 for c in counts if c)
    for k, count in enumerate(counts, start=1):
        assert f'data-k="{k}" data-count="{count}"' in html
        if count:
            assert (
                f"/bitmapist/api/stickiness/users?expr=paid&amp;time_group=day&amp;periods=14&amp;k={k}"
                in html
            )
    assert 'id="download-csv"' in html and 'id="users-panel"' in html


def test_the_funnel_page_shows_steps_conversions_and_drop_offs(client: FlaskClient) -> None:
    counts = client.get(funnel_url()).get_json()["counts"]
    page = funnel_url(path="/bitmapist/funnel")
    html = client.get(page).get_data(as_text=True)

    for k, count in enumerate(counts, start=1):
        assert f'data-step="{k}" data-count="{count}"' in html
        assert f"reached={k}" in html
    assert f'data-count="{counts[0] - counts[1]}"' in html
    assert "dropped=1" in html and "dropped=2" in html and "dropped=3" not in html
    assert f"{100 * counts[1] / counts[0]:.1f}% of prev." in html
    assert f"{100 * counts[2] / counts[0]:.1f}% of first" in html


def test_the_funnel_page_reads_steps_chosen_from_the_list_or_typed(client: FlaskClient) -> None:
    pairs = [
        ("step_event", "signed_up"),
        ("step_expression", ""),
        ("step_event", "paid"),
        ("step_expression", "paid | refunded"),
        ("step_event", ""),
        ("step_expression", ""),
    ]
    html = client.get(f"/bitmapist/funnel?{urlencode(pairs)}").get_data(as_text=True)
    api = client.get(funnel_url(("signed_up", "paid | refunded"))).get_json()

    for k, count in enumerate(api["counts"], start=1):
        assert f'data-step="{k}" data-count="{count}"' in html
    # The typed expression won over the chosen event; one blank row is offered for a third.
    assert 'value="paid | refunded"' in html
    assert html.count('class="step-row"') == 3


def test_page_errors_are_shown_in_the_form_with_a_400(client: FlaskClient) -> None:
    for url in (
        stickiness_url("/bitmapist/stickiness", periods=0),
        funnel_url(("paid",), path="/bitmapist/funnel"),
    ):
        response = client.get(url)
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert 'role="alert"' in html
        assert 'id="result"' not in html


def test_an_empty_store_shows_an_empty_form(make_app: AppFactory) -> None:
    client = make_app(seed=False).test_client()
    for url in ("/bitmapist/stickiness", "/bitmapist/funnel"):
        html = client.get(url).get_data(as_text=True)
        assert 'class="card empty-state"' in html and 'id="result"' not in html


def test_event_names_are_escaped_on_the_new_pages(client: FlaskClient) -> None:
    for url in (
        stickiness_url("/bitmapist/stickiness", expr=f'"{XSS_EVENT}"'),
        funnel_url((f'"{XSS_EVENT}"', "paid"), path="/bitmapist/funnel"),
    ):
        html = client.get(url).get_data(as_text=True)
        assert XSS_EVENT not in html
        assert "&lt;img/src=x/onerror=alert(1)&gt;" in html


def test_the_navigation_links_the_new_pages(client: FlaskClient) -> None:
    html = client.get("/bitmapist/").get_data(as_text=True)

    assert 'href="/bitmapist/stickiness"' in html and 'href="/bitmapist/funnel"' in html
