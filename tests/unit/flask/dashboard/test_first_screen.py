"""The first screen: every answer page without parameters shows an answer chosen from the
stored data, placeholders name stored events, the events page links to useful answers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient

from flask_bitmapist.domain import CohortEngine, Mark
from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.defaults import Defaults, choose_defaults
from tests.unit.flask.dashboard.support import AppFactory

PAGES = ("cohort", "trends", "lifecycle", "stickiness", "funnel")
NOW = datetime(2026, 11, 27, 15, 20, tzinfo=timezone.utc)


def shop_marks() -> list[Mark]:
    """Sign-ups once each, logins most days, payments by a few: a young shop."""
    marks = []
    for user in range(1, 41):
        joined = NOW - timedelta(days=user % 20)
        marks.append(Mark.create("signup", user, joined))
        for day in range(0, user % 20 + 1, 2):
            marks.append(Mark.create("login", user, joined + timedelta(days=day)))
        if user % 4 == 0:
            marks.append(Mark.create("pay", user, joined + timedelta(hours=1)))
    return marks


@pytest.fixture
def shop_client(make_app: AppFactory) -> FlaskClient:
    store = InMemoryRepository()
    store.mark(shop_marks())
    return make_app(store, seed=False).test_client()


def test_the_choice_reads_the_stored_data() -> None:
    store = InMemoryRepository()
    store.mark(shop_marks())
    chosen = choose_defaults(CohortEngine(store), NOW)
    assert chosen.active == ("login", "signup", "pay")
    assert chosen.first == "signup"  # done once, unlike a login
    assert chosen.activity == "login"
    assert chosen.funnel == ("signup", "login", "pay")
    assert chosen.partner("login") == "signup" and chosen.partner("pay") == "login"
    assert chosen.example("& ~") == "login & ~signup"


def test_no_data_chooses_nothing() -> None:
    chosen = choose_defaults(CohortEngine(InMemoryRepository()), NOW)
    assert chosen == Defaults() and chosen.fields("trend") == {} and chosen.example() == ""


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_with_an_answer(shop_client: FlaskClient, page: str) -> None:
    response = shop_client.get(f"/bitmapist/{page}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="result"' in html and "<svg" in html
    placeholders = re.findall(r'placeholder="([^"]*)"', html)
    named = {w for p in placeholders for w in re.findall(r"[a-z_]+:[a-z_]+|\\b[a-z]+\\b", p)}
    assert not {"user:active", "cart", "wishlist", "spam", "refunded"} & named


def test_the_cohort_json_without_primary_answers_json(
    shop_client: FlaskClient, make_app: AppFactory
) -> None:
    response = shop_client.get("/bitmapist/cohort?json=1")
    assert response.status_code == 200 and response.is_json
    assert response.get_json()["spec"]["primary"] == "signup"
    empty = make_app(seed=False).test_client().get("/bitmapist/cohort?json=1")
    assert empty.status_code == 400 and empty.get_json()["field"] == "primary"


def test_the_events_page_links_a_cohort_against_the_activity(shop_client: FlaskClient) -> None:
    html = shop_client.get("/bitmapist/").get_data(as_text=True)
    assert "primary=signup&amp;secondary=login" in html
    assert "primary=login&amp;secondary=signup" in html
    assert "primary=pay&amp;secondary=pay" not in html


# -- incomplete periods ---------------------------------------------------------------


def test_the_period_containing_now_is_dashed_and_marked(shop_client: FlaskClient) -> None:
    lifecycle = shop_client.get("/bitmapist/lifecycle").get_data(as_text=True)
    bars = re.findall(r'<rect class="bar bar-\w+ has-users( incomplete)?"', lifecycle)
    assert bars and bars.count(" incomplete") >= 1
    assert 'stroke-dasharray="4 3"' in lifecycle
    assert lifecycle.count('<span class="incomplete-mark">(incomplete)</span>') == 1
    cohort = shop_client.get("/bitmapist/cohort").get_data(as_text=True)
    # A day cohort of 14 rows: the last diagonal is today, in every column.
    assert (
        len(
            re.findall(
                r'class="num cell [^"]* incomplete" data-row="(\d+)" data-col="(\d+)"', cohort
            )
        )
        == 14
    )
    cells = re.findall(r'incomplete" data-row="(\d+)" data-col="(\d+)"', cohort)
    assert {int(i) + int(j) for i, j in cells} == {13}
