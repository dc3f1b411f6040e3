"""``flask bitmapist retention`` and ``storage`` on the in-process store (the real Redis and
cluster runs are in tests/integration/test_retention_cli_redis.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from flask_bitmapist.domain import BitmapId, Mark, Period, RetentionPolicy, TimeGroup
from flask_bitmapist.infra import InMemoryRepository
from tests.unit.flask.cli.support import NOW, Cli, make_app
from tests.unit.flask.support import FixedClock

POLICY = {"hours": 14, "days": 30}


def store_with_history() -> tuple[InMemoryRepository, list[BitmapId]]:
    """Marks written with no policy: 40 days of hours, days, weeks and months."""
    store = InMemoryRepository(clock=FixedClock(NOW))
    marks = [
        Mark.create("user:paid", 3, NOW - timedelta(days=days), hourly=True) for days in range(40)
    ]
    store.mark(marks)
    return store, [target for mark in marks for target in mark.targets()]


def test_retention_dry_run_then_apply_on_the_in_process_store() -> None:
    store, targets = store_with_history()
    cli = Cli(make_app(lambda settings: store, BITMAPIST_RETENTION=POLICY))
    policy = RetentionPolicy.create(POLICY)
    now_ms = NOW.timestamp() * 1000
    hours_and_days = {t for t in targets if t.period and t.period.group.value in ("hour", "day")}
    expired = {t for t in hours_and_days if (policy.expiry_ms(t.period) or 0) <= now_ms}

    dry = json.loads(cli("retention", "--format", "json").stdout)
    assert dry["applied"] is False
    total = dry["total"]
    assert (total["expired"], total["to_expire"]) == (len(expired), len(hours_and_days - expired))
    assert total["kept"] == len({t for t in targets}) - len(hours_and_days)
    assert len(store.snapshot()) == len(set(targets))  # nothing changed

    done = json.loads(cli("retention", "--apply", "--format", "json").stdout)
    assert done["total"] == total
    left = {bitmap_id for bitmap_id, _, _ in store.snapshot()}
    assert left == set(targets) - expired
    for bitmap_id in hours_and_days - expired:
        assert store.expiry_ms(bitmap_id) == policy.expiry_ms(bitmap_id.period)


def test_storage_on_the_in_process_store_counts_bitmap_lengths() -> None:
    store, targets = store_with_history()
    cli = Cli(make_app(lambda settings: store, BITMAPIST_RETENTION=POLICY))
    report = json.loads(cli("storage", "--format", "json").stdout)
    groups = {row["group"]: row for row in report["groups"]}
    days = {t for t in targets if t.period and t.period.group is TimeGroup.DAY}
    assert groups["day"]["keys"] == len(days) and groups["day"]["bytes"] == len(days)
    assert groups["day"]["kept_days"] == 30 and groups["month"]["kept_days"] is None
    oldest = Period.containing(TimeGroup.DAY, NOW - timedelta(days=39))
    assert groups["day"]["oldest"] == oldest.key_suffix
    assert "bitmap length" in report["note"]
    text = cli("storage").output
    assert "user:paid" in text and "in one year:" in text


def test_retention_without_a_policy_says_there_is_nothing_to_do() -> None:
    cli = Cli(make_app())
    result = cli("retention", "--apply")
    assert result.exit_code == 0
    assert "BITMAPIST_RETENTION is not set" in result.output


def test_marks_with_a_policy_drop_periods_already_past_it() -> None:
    clock = FixedClock(datetime(2026, 11, 27, tzinfo=timezone.utc))
    store = InMemoryRepository(clock=clock)
    policy = RetentionPolicy.create({"days": 5})
    store.mark([Mark.create("a", 1, clock() - timedelta(days=10), retention=policy)])
    assert {i.period.group for i, _, _ in store.snapshot() if i.period} == {
        TimeGroup.WEEK,
        TimeGroup.MONTH,
    }


def test_the_storage_page_shows_the_in_process_stores_figures() -> None:
    store, _ = store_with_history()
    app = make_app(lambda settings: store, BITMAPIST_RETENTION=POLICY)
    response = app.test_client().get("/bitmapist/storage")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="storage-table"' in html and "user:paid" in html
    assert "bitmap length" in html and "30 days" in html and 'aria-current="page"' in html
