"""POST /bitmapist/api/saved-cohorts: ids or a drill-down URL saved under a name, behind
the dashboard permission and a JSON content type."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_bitmapist import get_saved_cohorts, get_segment, mark_event
from flask_bitmapist.domain import Period, TimeGroup
from tests.cohort_model import EventLog
from tests.unit.flask.dashboard.support import NOW, AppFactory

URL = "/bitmapist/api/saved-cohorts"
CELL = "/bitmapist/api/cohort/cell?" + urlencode(
    {"primary": "signed_up", "secondary": "paid", "time_group": "week", "rows": "6", "cols": "4"}
)


def saved(app: Flask) -> dict[str, list[object]]:
    with app.app_context():
        return {name: list(users) for name, users in get_saved_cohorts().items()}


def test_ids_are_saved_under_the_name(app: Flask, client: FlaskClient) -> None:
    response = client.post(URL, json={"name": "beta_testers", "users": [3, 1, 2]})
    assert response.status_code == 201
    assert response.get_json() == {"name": "beta_testers", "count": 3}
    assert saved(app) == {"beta_testers": [1, 2, 3]}


def test_a_drill_down_is_saved_whole_not_a_page(
    app: Flask, client: FlaskClient, log: EventLog
) -> None:
    periods = [Period.containing(TimeGroup.WEEK, NOW).shift(i - 5) for i in range(6)]
    expected = sorted(log.users("signed_up", periods[5]) & log.users("paid", periods[5]))
    assert len(expected) >= 2
    url = f"{CELL}&row=5&col=0&per_page=1&page=2"
    response = client.post(URL, json={"name": "week_payers", "from": url})
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"name": "week_payers", "count": len(expected)}
    assert saved(app) == {"week_payers": expected}
    with app.app_context():
        assert list(get_segment("week_payers")) == expected


def test_a_drill_down_url_may_name_this_host(app: Flask, client: FlaskClient) -> None:
    url = f"http://localhost{CELL}&row=5&col=0"
    assert client.post(URL, json={"name": "c", "from": url}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "a b", "users": [1]}, "name", "saved cohort name 'a b'"),
        ({"users": [1]}, "name", "must be a str"),
        ({"name": "c"}, "users", "either"),
        ({"name": "c", "users": [1], "from": CELL}, "from", "either"),
        ({"name": "c", "users": "1,2"}, "users", "list of user ids"),
        ({"name": "c", "users": [1, "2"]}, "users", "must be an int"),
        ({"name": "c", "users": [-1]}, "users", "out of range"),
        ({"name": "c", "from": "http://evil.example/bitmapist/api/cohort/cell"}, "from", "host"),
        ({"name": "c", "from": "/elsewhere"}, "from", "no GET route"),
        ({"name": "c", "from": "/bitmapist/"}, "from", "not a drill-down"),
        ({"name": "c", "from": URL}, "from", "no GET route"),
        ({"name": "c", "from": f"{CELL}&row=99&col=0"}, "from", "row"),
        ({"name": "c", "from": 7}, "from", "drill-down URL"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_saves_nothing(
    app: Flask, client: FlaskClient, body: dict[str, object], field: str, message: str
) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == 400
    data = response.get_json()
    assert data["field"] == field
    assert message in data["message"]
    assert saved(app) == {}


def test_a_form_post_is_refused_so_no_other_site_can_send_one(
    app: Flask, client: FlaskClient
) -> None:
    response = client.post(URL, data={"name": "c", "users": "1"})
    assert response.status_code == 400
    assert response.get_json()["field"] == "body"
    assert saved(app) == {}


def test_without_the_dashboard_permission_it_is_403(make_app: AppFactory) -> None:
    app = make_app(TESTING=False, BITMAPIST_DASHBOARD_PERMISSION=lambda: False)
    response = app.test_client().post(URL, json={"name": "c", "users": [1]})
    assert response.status_code == 403
    assert saved(app) == {}


def test_with_the_permission_it_saves(make_app: AppFactory) -> None:
    app = make_app(TESTING=False, BITMAPIST_DASHBOARD_PERMISSION=lambda: True)
    assert app.test_client().post(URL, json={"name": "c", "users": [1]}).status_code == 201


def test_mapped_ids_are_mapped(make_app: AppFactory) -> None:
    app = make_app(seed=False, BITMAPIST_MAP_IDS=True)
    with app.app_context():
        mark_event("signed_up", "alice", NOW)
    response = app.test_client().post(URL, json={"name": "c", "users": ["bob", "alice"]})
    assert response.status_code == 201
    assert saved(app) == {"c": ["alice", "bob"]}


def test_a_drill_down_url_of_an_app_mounted_below_a_path(app: Flask, client: FlaskClient) -> None:
    url = f"/app{CELL}&row=5&col=0"
    response = client.post(
        URL, json={"name": "c", "from": url}, environ_overrides={"SCRIPT_NAME": "/app"}
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["count"] >= 2


WINDOW = "time_group=week&periods=6"


@pytest.mark.parametrize(
    "drill_down",
    [
        f"/bitmapist/api/trend/users?expr=paid&{WINDOW}&series=0&index=5",
        f"/bitmapist/api/lifecycle/users?expr=paid&{WINDOW}&status=returning&index=5",
        f"/bitmapist/api/stickiness/users?expr=paid&{WINDOW}&k=1",
        f"/bitmapist/api/funnel/users?step=signed_up&step=paid&{WINDOW}&reached=2",
    ],
)
def test_every_kinds_drill_down_is_saved_whole(
    app: Flask, client: FlaskClient, drill_down: str
) -> None:
    listed = client.get(f"{drill_down}&per_page=1000").get_json()
    assert listed["count"] >= 2, listed
    response = client.post(URL, json={"name": "drilled", "from": f"{drill_down}&per_page=1"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"name": "drilled", "count": listed["count"]}
    assert saved(app) == {"drilled": listed["user_ids"]}
