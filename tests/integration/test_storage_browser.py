"""The storage page in a real browser (Debian's Chromium through Playwright), served live
over a real redis-server: reached from the nav, its figures equal Redis's MEMORY USAGE."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from flask import Flask
from playwright.sync_api import Browser
from werkzeug.serving import BaseWSGIServer, make_server

from flask_bitmapist import FlaskBitmapist
from flask_bitmapist.domain import Period, TimeGroup
from flask_bitmapist.services.storage_report import format_bytes

pytestmark = pytest.mark.browser

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def live_server(redis_url: str) -> Iterator[tuple[str, Any]]:
    client = redis.Redis.from_url(redis_url)
    for days in range(20):
        for group in (TimeGroup.DAY, TimeGroup.HOUR):
            suffix = Period.containing(group, NOW - timedelta(days=days)).key_suffix
            client.setbit(f"trackist_user:paid_{suffix}", 100 + days, 1)
    app = Flask("storage-browser")
    app.config.update(
        TESTING=True, BITMAPIST_REDIS_URL=redis_url, BITMAPIST_RETENTION={"hours": 14}
    )
    FlaskBitmapist(app, clock=lambda: NOW)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", client
    finally:
        server.shutdown()
        thread.join(timeout=10)
        client.close()


def test_the_storage_page_renders_memory_usage_per_event_and_group(
    browser: Browser, live_server: tuple[str, Any]
) -> None:
    url, client = live_server
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{url}/bitmapist/")
        page.click("nav >> text=Storage")
        page.wait_for_selector("#storage-table")
        assert page.url.endswith("/bitmapist/storage")
        rows = page.eval_on_selector_all(
            "#storage-table tbody tr",
            "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))",
        )
        by_group = {row[1]: row for row in rows}
        for group, policy in (("hour", "14 days"), ("day", "forever")):
            keys = [k for k in client.scan_iter("trackist_user:paid_*") if _group(k) == group]
            size = sum(int(client.memory_usage(k, samples=0)) for k in keys)
            event, _, count, shown, *_, kept = by_group[group]
            assert (event, count, shown, kept) == (
                "user:paid",
                str(len(keys)),
                format_bytes(size),
                policy,
            )
        summary = page.inner_text("#storage-summary")
        assert "in one year:" in summary and "with hours 14 days" in summary
        assert "bytes from MEMORY USAGE of all" in summary
        assert page.get_attribute("nav a[aria-current=page]", "href") == "/bitmapist/storage"
    finally:
        context.close()
    assert errors == []


def _group(key: bytes) -> str:
    suffix = key.decode().rpartition("_")[2]
    return {2: "month", 3: "day", 4: "hour"}[len(suffix.split("-"))]
