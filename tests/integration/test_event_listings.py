"""Event listings bounded whatever another writer stored, on a real redis-server (issue 19,
item 3; DESIGN section 12): the events page and ``/api/events`` page through names, most
recently active first, with a search; the answer forms' pickers list no names; every count
reads at most up to ``BITMAPIST_MAX_USER_ID``'s byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from flask_bitmapist import FlaskBitmapist, current_state
from flask_bitmapist.domain import DEFAULT_MAX_USER_ID
from flask_bitmapist.infra import RedisRepository
from flask_bitmapist.infra.transports import Command
from flask_bitmapist.services import event_listing

NOW = datetime(2026, 12, 6, 13, 45, tzinfo=timezone.utc)
#: Enough names that a listing needs several SCAN replies and a page is a small part.
NAMES = 5_000
#: Each name is marked on one of this many days ending today.
DAYS = 40


def name_of(index: int) -> str:
    return f"feature:{index:05d}"


def day_of(index: int) -> datetime:
    """The day ``name_of(index)`` was marked: today for 0, 40, 80...; yesterday for 1..."""
    return NOW - timedelta(days=index % DAYS)


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A client writing as another bitmapist writer would: SETBIT through a pipeline."""
    with redis.Redis.from_url(redis_url) as client:
        pipe = client.pipeline(transaction=False)
        for index in range(NAMES):
            day = day_of(index).date()
            iso_year, iso_week, _ = day.isocalendar()
            for suffix in (
                f"{day.year}-{day.month}",
                f"W{iso_year}-{iso_week}",
                f"{day.year}-{day.month}-{day.day}",
            ):
                pipe.setbit(f"trackist_{name_of(index)}_{suffix}", index % 100, 1)
        pipe.execute()
        yield client


@pytest.fixture
def app(redis_url: str, raw: redis.Redis) -> Flask:
    app = Flask("listings")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL=redis_url, BITMAPIST_SOCKET_TIMEOUT=5.0)
    FlaskBitmapist(app, clock=lambda: NOW)
    return app


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


def most_recent_first() -> list[str]:
    """The model: the names marked on the latest day first, then by name."""
    return sorted((name_of(i) for i in range(NAMES)), key=lambda n: (int(n[-5:]) % DAYS, n))


def api(web: FlaskClient, **args: object) -> dict[str, Any]:
    response = web.get(f"/bitmapist/api/events?{urlencode(args)}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def test_the_api_pages_through_every_name_most_recently_active_first(web: FlaskClient) -> None:
    first = api(web)
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 50, 5000, 100)
    assert first["complete"] is True
    assert first["keys_read"] == 3 * NAMES

    pages = [api(web, page=n, per_page=200)["events"] for n in range(1, 26)]
    listed = [event["name"] for page in pages for event in page]
    assert listed == most_recent_first()
    assert [e["name"] for e in first["events"]] == listed[:50]
    newest = [event["newest"] for page in pages for event in page]
    assert newest[0] == "2026-12-06T00:00:00" and newest[-1] == "2026-10-28T00:00:00"
    assert api(web, page=26, per_page=200)["events"] == []


def test_the_page_counts_its_events_in_each_period(web: FlaskClient) -> None:
    events = api(web, per_page=3)["events"]

    assert [e["name"] for e in events] == ["feature:00000", "feature:00040", "feature:00080"]
    assert [(e["day"], e["week"], e["month"], e["year"]) for e in events] == [(1, 1, 1, 1)] * 3


def test_a_search_finds_the_names_containing_it_in_any_case(web: FlaskClient) -> None:
    found = api(web, q="FEATURE:0012", per_page=200)
    expected = [n for n in most_recent_first() if "feature:0012" in n]

    assert [e["name"] for e in found["events"]] == expected
    assert found["total"] == 10 and found["q"] == "FEATURE:0012"
    assert api(web, q="nothing like it")["events"] == []

    page = web.get("/bitmapist/?q=feature:0012").get_data(as_text=True)
    assert re.findall(r'<tr data-name="([^"]*)">', page) == expected
    assert 'value="feature:0012"' in page


def test_the_events_page_shows_one_page_with_links_to_the_others(web: FlaskClient) -> None:
    html = web.get("/bitmapist/?page=2").get_data(as_text=True)

    assert re.findall(r'<tr data-name="([^"]*)">', html) == most_recent_first()[50:100]
    assert "51\u2013100 of 5,000, page 2 of 100" in html
    assert 'href="/bitmapist/?page=1"' in html and 'href="/bitmapist/?page=3"' in html
    assert "cut short" not in html
    assert len(html) < 200_000


def test_suggestions_are_a_few_names_and_no_counts(web: FlaskClient) -> None:
    response = web.get("/bitmapist/api/events/names?q=feature:001&limit=5")
    body = response.get_json()

    assert body["names"] == [n for n in most_recent_first() if "feature:001" in n][:5]
    assert body["total"] == 100 and body["complete"] is True
    assert len(web.get("/bitmapist/api/events/names").get_json()["names"]) == 20


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=201", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=x", "page"),
        (f"q={'x' * 201}", "q"),
    ],
)
def test_a_page_larger_than_the_bound_is_refused_naming_the_field(
    web: FlaskClient, query: str, field: str
) -> None:
    for url in ("/bitmapist/api/events", "/bitmapist/"):
        response = web.get(f"{url}?{query}", headers={"Accept": "application/json"})
        assert response.status_code == 400, url
        assert response.get_json()["field"] == field, url
    limit = web.get("/bitmapist/api/events/names?limit=201")
    assert limit.status_code == 400 and limit.get_json()["field"] == "limit"


def test_a_listing_cut_short_says_so(web: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # One SCAN reply looks at 10,000 keys: a budget of 1,000 stops after the first.
    monkeypatch.setattr(event_listing, "LISTING_MAX_KEYS", 1_000)

    body = api(web)
    html = web.get("/bitmapist/").get_data(as_text=True)

    assert body["complete"] is False
    assert 1_000 <= body["keys_read"] < 3 * NAMES
    assert 0 < body["total"] < NAMES
    assert "The listing was cut short" in html
    assert f"it read the first {body['keys_read']:,} keys" in html


@pytest.mark.parametrize(
    "url",
    [
        "/bitmapist/cohort?"
        + urlencode({"primary": "feature:00007", "secondary": "feature:00008"}),
        "/bitmapist/funnel?" + urlencode([("step_event", "feature:00007")] * 2),
        "/bitmapist/trends?" + urlencode({"expr": "feature:00007"}),
        "/bitmapist/lifecycle?" + urlencode({"expr": "feature:00007"}),
        "/bitmapist/stickiness?" + urlencode({"expr": "feature:00007"}),
    ],
)
def test_answer_forms_do_not_list_every_name(web: FlaskClient, url: str) -> None:
    response = web.get(url)
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    # The asked names, and the two most active ones in the placeholders' example.
    shown = set(re.findall(r"feature:\d{5}", html)) - {"feature:00007", "feature:00008"}
    placeholders = " ".join(re.findall(r'placeholder="([^"]*)"', html))
    assert len(shown) <= 2 and all(name in placeholders for name in shown)
    assert '<datalist id="event-suggestions"></datalist>' in html
    assert 'data-suggest-url="/bitmapist/api/events/names"' in html


def test_names_no_one_may_list_are_left_out(raw: redis.Redis, web: FlaskClient) -> None:
    for key in (
        b"trackist_bad\x00name_2026-12-6",
        b"trackist_\xff\xfe_2026-12-6",
        b"trackist_bitop_and_x_2026-12-6",
        b"trackist__2026-12-6",
        b"trackist_not a period_2026-12-6x",
    ):
        raw.setbit(key, 1, 1)
    raw.setbit("trackist_song played_2026-12-6", 1, 1)

    names = api(web, per_page=200)["events"]

    assert [e["name"] for e in names][:2] == ["feature:00000", "feature:00040"]
    assert "song played" in [e["name"] for e in names]
    assert api(web)["total"] == NAMES + 1


# -- counts read at most up to the cap's byte ------------------------------------------------


def test_counts_read_only_up_to_the_caps_byte_of_a_huge_key(
    raw: redis.Redis, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another writer's id far past the cap: a 64 MiB key today (the cap's keys are 8 MiB).
    huge = 2**29
    for user in (1, 2, 3, huge):
        raw.setbit("trackist_big_2026-12-6", user, 1)
    with app.app_context():
        repository = current_state().repository
    assert isinstance(repository, RedisRepository)
    sent: list[Command] = []
    pipeline = repository.transport.pipeline

    def recorded(commands: Sequence[Command], **kwargs: Any) -> list[Any]:
        sent.extend(commands)
        return pipeline(commands, **kwargs)

    monkeypatch.setattr(repository.transport, "pipeline", recorded)

    events = api(app.test_client(), q="big")["events"]

    assert [(e["name"], e["day"], e["at_least"]) for e in events] == [("big", 3, ["day"])]
    counts = [command for command in sent if command[0] == "BITCOUNT"]
    assert counts, sent
    assert all(command[2:] == (0, DEFAULT_MAX_USER_ID // 8) for command in counts), counts
    # The year, the union of its months, is read as bitmaps: as far as the cap's byte too.
    reads = [command for command in sent if command[0] in ("GET", "GETRANGE")]
    assert reads, sent
    assert {(command[0], *command[2:]) for command in reads} == {
        ("GETRANGE", 0, DEFAULT_MAX_USER_ID // 8)
    }


def test_event_names_look_for_a_keys_first_user_without_counting_it_whole(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with redis.Redis.from_url(redis_url) as client:
        for user in (1, 2**29):  # a 64 MiB key whose first user is in its first byte
            client.setbit("trackist_big_2026-12-6", user, 1)
        client.setbit("trackist_emptied_2026-12-6", 9, 0)  # a key with nobody in it
    repository = RedisRepository.from_url(redis_url)
    sent: list[Command] = []
    pipeline = repository.transport.pipeline

    def recorded(commands: Sequence[Command], **kwargs: Any) -> list[Any]:
        sent.extend(commands)
        return pipeline(commands, **kwargs)

    monkeypatch.setattr(repository.transport, "pipeline", recorded)

    assert repository.event_names() == frozenset({"big"})
    assert sorted((command[0], command[2]) for command in sent) == [("BITPOS", 1), ("BITPOS", 1)]
    repository.close()
