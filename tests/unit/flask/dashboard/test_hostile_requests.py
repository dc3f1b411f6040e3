"""Hostile requests to the dashboard and the API: a 2xx or 4xx answer, soon, never a 5xx.

The fuzz test enumerates the routes from the app's URL map, so routes added later are
covered without touching it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_bitmapist import FlaskBitmapist, current_state
from flask_bitmapist.domain import MAX_EXPRESSION_DEPTH
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.bounded_json import MAX_JSON_BYTES
from tests.cohort_model import EventLog
from tests.unit.flask.dashboard.support import NOW, AppFactory
from tests.unit.flask.support import DownRepository

#: Seconds any answer may take here (the in-process store, a small log): a hostile
#: request that makes the server work for long fails the fuzz test (a chain of 10,000
#: events took 5 s before expressions were bounded; answers here take milliseconds, the
#: margin is for a loaded machine).
TIME_BOUND = 5.0
#: Query keys every view reads, plus noise.
KEYS = [
    "primary",
    "primary_expression",
    "secondary",
    "secondary_expression",
    "additional",
    "op",
    "time_group",
    "rows",
    "cols",
    "mode",
    "as_percent",
    "now",
    "json",
    "format",
    "row",
    "col",
    "page",
    "per_page",
    "q",
    "event",
    "events",
    "expr",
    "from",
    "to",
    "x",
    "first_time",
    "periods",
    "step",
    "step_event",
    "step_expression",
    "k",
    "reached",
    "dropped",
]
#: 0.1's body keys.
BODY_KEYS = [
    "primary_event",
    "secondary_event",
    "additional_events",
    "num_rows",
    "num_cols",
    "with_replacement",
    "name",
]
HOSTILE_VALUES = [
    "",
    "0",
    "-1",
    "1" * 40,
    "1e309",
    "nan",
    "0001-01-01",
    "9999-12-31T23:00-05:00",
    "-62135596800",
    "99999999999999999999",
    "(" * 250 + "a" + ")" * 250,
    "~" * 100_000 + "a",
    " | ".join(f"e{i}" for i in range(300)),
    "a & ~b",
    "~a",
    '"unclosed',
    "paid",
    "signed_up",
    "<img/src=x/onerror=alert(1)>",
    "\u202euser:paid",
    "\ud800",
    "\x00",
    "days",
    "hours",
    "years",
    "cumulative",
    "1000",
    "20000",
]


#: A valid request for every route: a cohort's fields, stickiness's expression, a
#: funnel's two steps and the trend and lifecycle drill-downs' cell (each route reads its
#: own), so a hostile value in one field gets past the others.
BASE_QUERY = [
    ("primary", "signed_up"),
    ("secondary", "paid"),
    ("rows", "3"),
    ("cols", "3"),
    ("expr", "signed_up"),
    ("step", "signed_up"),
    ("step", "paid"),
    ("series", "0"),
    ("index", "0"),
    ("status", "new"),
]
#: The fields of stickiness, funnels and their drill-downs.
ANSWER_KEYS = ["expr", "periods", "step", "step_event", "step_expression", "k", "reached"]


def routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, path) the blueprint serves, from the URL map (static files aside)."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("bitmapist.") or rule.endpoint == "bitmapist.static":
            continue
        path = re.sub(r"<[^>]+>", "1", rule.rule)  # a variable part: any value will do
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    # Every loop over the routes would pass vacuously on an empty list.
    assert any(method == "GET" for method, _ in found), "no bitmapist GET route in the URL map"
    return sorted(found)


@pytest.fixture(scope="module")
def fuzz_app(log: EventLog) -> Flask:
    """One app for every example (hypothesis wants no function-scoped fixture)."""
    app = Flask("dashboard-fuzz")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL="memory://")
    store = InMemoryRepository()
    FlaskBitmapist(app, repository_factory=lambda _settings: store, clock=lambda: NOW)
    with app.app_context():
        current_state().repository.mark(log.marks())
    return app


def send(
    client: FlaskClient,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]] | dict[str, str] = (),
    **kwargs: object,
) -> tuple[int, float]:
    """Send one request; the query string keeps lone surrogates as the bytes of their
    UTF-8 form, which no decoder accepts: the server sees what a hostile client sends."""
    pairs = query.items() if isinstance(query, dict) else query
    query_string = urlencode(list(pairs), encoding="utf-8", errors="surrogatepass")
    start = time.perf_counter()
    response = client.open(path, method=method, query_string=query_string, **kwargs)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    response.close()
    return response.status_code, elapsed


def assert_answered(status: int, elapsed: float, what: str) -> None:
    assert 200 <= status < 500, f"{what} answered {status}"
    assert elapsed < TIME_BOUND, f"{what} took {elapsed:.2f} s"


query_strings = st.lists(
    st.tuples(
        st.sampled_from(KEYS),
        st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=30)),
    ),
    max_size=6,
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.sampled_from(HOSTILE_VALUES),
        st.text(max_size=20),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from([*KEYS, *BODY_KEYS]),
            children,
            max_size=5,
        ),
    ),
    max_leaves=12,
)
bodies = st.one_of(
    json_values.map(json.dumps),
    st.sampled_from(["[" * 100_000, "{" * 50_000, "", "not json", '{"a": 1e999}']),
    st.text(max_size=50),
)


def test_the_fuzz_test_sees_every_dashboard_and_api_route(fuzz_app: Flask) -> None:
    found = routes(fuzz_app)
    paths = {path for _, path in found}
    assert {"/bitmapist/", "/bitmapist/cohort", "/bitmapist/api/events"} <= paths
    assert {"/bitmapist/api/stickiness", "/bitmapist/api/funnel"} <= paths
    assert {"/bitmapist/stickiness", "/bitmapist/funnel"} <= paths
    assert ("POST", "/bitmapist/cohort") in found
    assert len(found) >= 7


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    route=st.integers(min_value=0, max_value=10_000),
    query=query_strings,
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain"]
    ),
    form=query_strings,
    body=bodies,
)
def test_hostile_requests_to_every_route_get_2xx_or_4xx_in_time(
    fuzz_app: Flask,
    route: int,
    query: list[tuple[str, str]],
    content_type: str,
    form: list[tuple[str, str]],
    body: str,
) -> None:
    found = routes(fuzz_app)
    method, path = found[route % len(found)]
    payload: object = dict(form) if content_type.endswith("urlencoded") else body
    status, elapsed = send(
        fuzz_app.test_client(),
        method,
        path,
        query,
        data=payload,
        content_type=content_type,
    )
    assert_answered(status, elapsed, f"{method} {path}?{query!r}")


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda v: ascii(v)[:30])
def test_each_hostile_value_in_each_field_of_each_get_route(fuzz_app: Flask, value: str) -> None:
    client = fuzz_app.test_client()
    gets = [path for method, path in routes(fuzz_app) if method == "GET"]
    assert len(gets) >= 7  # the dashboard's pages and its API, not a vacuous loop
    for path in gets:
        method = "GET"
        for key in [*KEYS[:12], *ANSWER_KEYS]:
            pairs = [(k, v) for k, v in BASE_QUERY if k != key]
            status, elapsed = send(client, method, path, [*pairs, (key, value)])
            assert_answered(status, elapsed, f"GET {path} {key}={ascii(value)[:40]}")


# -- the numbered defects (issue 11) -----------------------------------------------------


@pytest.mark.parametrize(
    "now", ["0001-01-01", "9999-12-31T23:00-05:00", "-62135596800", "9999-12-31T23:59:59"]
)
def test_a_now_far_outside_the_calendar_is_a_400_naming_now(client: FlaskClient, now: str) -> None:
    response = client.get(
        f"/bitmapist/api/cohort?primary=signed_up&secondary=paid&now={quote(now)}"
    )
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["field"] == "now"
    assert "only years 1000 to 9000" in response.json["message"]


def test_a_secondary_expression_of_250_nested_parentheses_is_a_400(client: FlaskClient) -> None:
    expression = "(" * 250 + "paid" + ")" * 250
    response = client.get(
        "/bitmapist/api/cohort",
        query_string={"primary": "signed_up", "secondary_expression": expression},
    )
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["field"] == "secondary_expression"
    assert f"at most {MAX_EXPRESSION_DEPTH} levels" in response.json["message"]


def test_100k_negations_are_a_400(client: FlaskClient) -> None:
    response = client.get(
        "/bitmapist/api/cohort",
        query_string={"primary": "signed_up", "secondary_expression": "~" * 100_000 + "paid"},
    )
    assert response.status_code == 400


def test_a_post_body_of_100k_brackets_is_a_400(client: FlaskClient) -> None:
    response = client.post("/bitmapist/cohort", data="[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["field"] == "body"
    assert "levels deep" in response.json["message"]


def test_a_post_body_past_the_size_bound_is_a_400_naming_it(client: FlaskClient) -> None:
    body = json.dumps({"primary_event": "signed_up", "pad": " " * MAX_JSON_BYTES})
    response = client.post("/bitmapist/cohort", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json is not None
    assert f"{MAX_JSON_BYTES:,}" in response.json["message"]


def chain_body(events: int) -> dict[str, object]:
    return {
        "primary_event": "signed_up",
        "secondary_event": "paid",
        "additional_events": [{"name": f"event{i}", "op": "or"} for i in range(events)],
    }


def test_a_post_chain_of_10000_events_is_a_400_naming_the_limit(client: FlaskClient) -> None:
    start = time.perf_counter()
    response = client.post("/bitmapist/cohort?json=1", json=chain_body(10_000))
    assert time.perf_counter() - start < TIME_BOUND
    assert response.status_code == 400
    assert response.json is not None
    assert "BITMAPIST_MAX_EXPRESSION_TERMS" in response.json["message"]
    assert response.json["field"].startswith("additional_events")


def test_the_expression_limit_is_a_setting(make_app: AppFactory) -> None:
    client = make_app(BITMAPIST_MAX_EXPRESSION_TERMS=300).test_client()
    assert client.post("/bitmapist/cohort?json=1", json=chain_body(250)).status_code == 200
    assert client.post("/bitmapist/cohort?json=1", json=chain_body(300)).status_code == 400


@pytest.mark.parametrize(
    ("path", "field"),
    [("/bitmapist/api/stickiness", "expr"), ("/bitmapist/api/funnel", "step")],
)
def test_stickiness_and_funnels_keep_the_apps_expression_limit(
    make_app: AppFactory, path: str, field: str
) -> None:
    client = make_app(BITMAPIST_MAX_EXPRESSION_TERMS=3).test_client()
    fits, past = "signed_up | paid | x", "signed_up | paid | x | y"
    assert client.get(path, query_string=[(field, fits), ("step", "paid")]).status_code == 200
    response = client.get(path, query_string=[(field, past), ("step", "paid")])
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert "BITMAPIST_MAX_EXPRESSION_TERMS" in response.get_json()["message"]


def test_storage_down_is_the_only_5xx_and_it_is_503(make_app: AppFactory) -> None:
    client = make_app(DownRepository(), seed=False).test_client()
    for method, path in routes(client.application):
        query = [*BASE_QUERY, ("row", "0"), ("col", "0"), ("k", "1"), ("reached", "1")]
        body = json.dumps(
            {"name": "c", "users": [1]}
            if path.endswith("/saved-cohorts")
            else {"primary_event": "signed_up", "secondary_event": "paid"}
        )
        response = client.open(
            path, method=method, query_string=query, data=body, content_type="application/json"
        )
        assert response.status_code in (200, 503), (method, path, response.status_code)
