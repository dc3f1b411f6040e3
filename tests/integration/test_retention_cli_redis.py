"""``flask bitmapist retention`` and ``flask bitmapist storage`` on a real redis-server and a
real Redis Cluster, over keys written raw (as bitmapist and other writers leave them)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

import redis
from flask import Flask
from redis.cluster import RedisCluster

from flask_bitmapist import FlaskBitmapist
from flask_bitmapist.domain import Period, RetentionPolicy, TimeGroup
from flask_bitmapist.infra.keyspace import keyspace_of
from flask_bitmapist.services.storage_report import storage_report

POLICY = {"hours": 14, "days": 400}
# Keys expire on Redis's clock: the app's clock must be the real one.
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def key(event: str, group: TimeGroup, moment: datetime) -> str:
    return f"trackist_{event}_{Period.containing(group, moment).key_suffix}"


def old_keys() -> dict[str, str]:
    """Key -> what the policy does to it: 'expired', 'expire', 'kept' or 'other'."""
    return {
        key("user:paid", TimeGroup.DAY, NOW - timedelta(days=500)): "expired",
        key("user:paid", TimeGroup.DAY, NOW - timedelta(days=10)): "expire",
        key("song played", TimeGroup.DAY, NOW - timedelta(days=401)): "expired",
        key("user:paid", TimeGroup.HOUR, NOW - timedelta(days=20)): "expired",
        key("user:paid", TimeGroup.HOUR, NOW - timedelta(days=1)): "expire",
        key("user:paid", TimeGroup.WEEK, NOW - timedelta(days=500)): "kept",
        key("user:paid", TimeGroup.MONTH, NOW - timedelta(days=500)): "kept",
        "trackist_user:paid_u": "kept",
        "trackist_notes": "other",
        "trackist_bitop_and_x_y": "other",
        "trackist_user:paid_2026-13-40": "other",
    }


def write_raw(client: Any, keys: dict[str, str]) -> dict[str, int]:
    """SETBIT each key (ids up to 80,000 so that sizes differ); MEMORY USAGE of each."""
    for index, name in enumerate(keys):
        client.setbit(name, 1000 * (index + 1) * 7, 1)
    client.set("elsewhere_user:paid_2020-1-1", b"\xff")  # another prefix: never touched
    return {name: usage(client, name) for name in keys}


def usage(client: Any, name: str | bytes) -> int:
    """Redis's MEMORY USAGE of one key."""
    return int(client.memory_usage(name, samples=0))


def app_on(url: str, *, cluster: bool = False) -> Flask:
    app = Flask("retention-cli")
    app.config.update(
        BITMAPIST_REDIS_URL=url, BITMAPIST_REDIS_CLUSTER=cluster, BITMAPIST_RETENTION=POLICY
    )
    FlaskBitmapist(app, clock=lambda: NOW)
    return app


def run_json(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["bitmapist", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def expiry_ms(name: str) -> int:
    bitmap = name.removeprefix("trackist_").rpartition("_")[2]
    parts = bitmap.split("-")
    group = TimeGroup.HOUR if len(parts) == 4 else TimeGroup.DAY
    numbers = [int(p) for p in parts] + [0]
    label = datetime(numbers[0], numbers[1], numbers[2], numbers[3], tzinfo=timezone.utc)
    at = RetentionPolicy.create(POLICY).expiry(Period.containing(group, label))
    assert at is not None
    return int(at.timestamp() * 1000)


def check_retention(app: Flask, client: Any, keys: dict[str, str], sizes: dict[str, int]) -> None:
    def total(kind: str, *, measure: bool = False) -> int:
        names = [name for name, k in keys.items() if k == kind]
        return sum(sizes[name] for name in names) if measure else len(names)

    dry = run_json(app, "retention")
    assert dry["applied"] is False
    assert dry["total"] == {
        "scanned": len(keys),
        "other": total("other"),
        "kept": total("kept"),
        "current": 0,
        "to_expire": total("expire"),
        "to_expire_bytes": total("expire", measure=True),
        "expired": total("expired"),
        "freed_bytes": total("expired", measure=True),
    }
    # A dry run changes nothing.
    assert all(client.exists(name) for name in keys)
    assert all(client.pexpiretime(name) == -1 for name in keys)

    done = run_json(app, "retention", "--apply", "--batch", "10")
    assert done["applied"] is True and done["total"] == dry["total"]
    for name, kind in keys.items():
        if kind == "expired":
            assert not client.exists(name), name
        elif kind == "expire":
            assert client.pexpiretime(name) == expiry_ms(name), name
        else:
            assert client.pexpiretime(name) == -1, name
    assert client.exists("elsewhere_user:paid_2020-1-1")

    again = run_json(app, "retention")["total"]
    assert (again["current"], again["to_expire"], again["expired"]) == (total("expire"), 0, 0)


def test_retention_counts_then_applies_the_policy_to_keys_written_raw(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = old_keys()
    sizes = write_raw(client, keys)
    app = app_on(redis_url)
    check_retention(app, client, keys, sizes)
    text = app.test_cli_runner().invoke(args=["bitmapist", "retention"])
    assert text.exit_code == 0 and "Dry run" in text.output and "hours 14 days" in text.output
    client.close()


def test_retention_applies_on_every_primary_of_a_cluster(redis_cluster_url: str) -> None:
    client = RedisCluster.from_url(redis_cluster_url)
    keys = old_keys()
    sizes = write_raw(client, keys)
    app = app_on(redis_cluster_url, cluster=True)
    check_retention(app, client, keys, sizes)
    nodes = run_json(app, "retention")["nodes"]
    assert len(nodes) == 3 and sum(node["scanned"] for node in nodes) > 0
    client.close()


def test_retention_without_a_policy_changes_nothing(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = old_keys()
    write_raw(client, keys)
    app = Flask("no-policy")
    app.config.update(BITMAPIST_REDIS_URL=redis_url)
    FlaskBitmapist(app)
    result = app.test_cli_runner().invoke(args=["bitmapist", "retention", "--apply"])
    assert result.exit_code == 0 and "BITMAPIST_RETENTION is not set" in result.output
    assert all(client.exists(name) and client.pexpiretime(name) == -1 for name in keys)
    client.close()


# -- the storage report ---------------------------------------------------------------------


def report_data(client: Any) -> dict[tuple[str, str], list[str]]:
    """Write a small history (hours, days, weeks, months, lifetime) and return its keys by
    (event, group)."""
    by_group: dict[tuple[str, str], list[str]] = defaultdict(list)
    for event, users in (("user:paid", 300), ("page:viewed", 5000)):
        for days in range(0, 45, 3):
            moment = NOW - timedelta(days=days)
            for group in (TimeGroup.HOUR, TimeGroup.DAY, TimeGroup.WEEK, TimeGroup.MONTH):
                name = key(event, group, moment)
                client.setbit(name, users + days, 1)
                if name not in by_group[(event, group.value)]:
                    by_group[(event, group.value)].append(name)
        client.setbit(f"trackist_{event}_u", users, 1)
        by_group[(event, "lifetime")].append(f"trackist_{event}_u")
    return by_group


def test_the_storage_report_equals_memory_usage_on_small_data(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    by_group = report_data(client)
    client.set("trackist_notes", b"x" * 100)
    app = app_on(redis_url)
    report = run_json(app, "storage")
    assert report["complete"] is True and report["sampled"] is False
    groups = {(g["event"], g["group"]): g for g in report["groups"]}
    for (event, group), names in by_group.items():
        row = groups[(event, group)]
        assert row["keys"] == len(names)
        assert row["bytes"] == sum(usage(client, n) for n in names)
        assert row["kept_days"] == {"hour": 14, "day": 400}.get(group)
    assert groups[("", "other")]["keys"] == 1
    days = sorted(
        (Period.containing(TimeGroup.DAY, NOW - timedelta(days=d)) for d in range(0, 45, 3)),
        key=lambda p: p.start,
    )
    assert (groups[("user:paid", "day")]["oldest"], groups[("user:paid", "day")]["newest"]) == (
        days[0].key_suffix,
        days[-1].key_suffix,
    )
    everything = sum(usage(client, k) for k in client.scan_iter("trackist_*"))
    assert report["total"]["bytes"] == everything
    recent = sum(
        usage(client, name)
        for names in by_group.values()
        for name in names
        if name.endswith("_u") is False and _start(name) >= NOW - timedelta(days=30)
    )
    assert report["growth_per_day_bytes"] == round(recent / 30)
    projection = report["projected_one_year_bytes"]
    assert projection["with_policy"] < projection["without_policy"]
    text = app.test_cli_runner().invoke(args=["bitmapist", "storage"])
    assert text.exit_code == 0 and "bytes from MEMORY USAGE of all" in text.output
    csv = app.test_cli_runner().invoke(args=["bitmapist", "storage", "--format", "csv"])
    assert csv.output.splitlines()[0] == "event,group,keys,bytes,oldest,newest,with expiry,policy"
    client.close()


def _start(name: str) -> datetime:
    suffix = name.rpartition("_")[2]
    if suffix.startswith("W"):
        year, week = (int(p) for p in suffix[1:].split("-"))
        monday = datetime.fromisocalendar(year, week, 1)
        return monday.replace(tzinfo=timezone.utc)
    numbers = [int(p) for p in suffix.split("-")]
    year, month, day, hour = (numbers + [1, 0][len(numbers) - 2 :])[:4]  # month: day 1, hour 0
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def test_a_report_past_its_sample_limit_and_budget_says_so(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    report_data(client)
    app = app_on(redis_url)
    with app.app_context():
        keyspace = keyspace_of(app.extensions["bitmapist"].repository, "trackist_")
        assert keyspace is not None
        ticks = iter(range(1000))
        report = storage_report(
            keyspace,
            RetentionPolicy.create(POLICY),
            zone=timezone.utc,
            now=NOW,
            sample_limit=10,
            batch=20,
            budget=1.5,
            timer=lambda: float(next(ticks)),  # each batch "takes" a second
        )
    assert report.sampled and not report.complete
    assert report.measured_keys < report.keys
    assert "bytes sampled: MEMORY USAGE of" in report.note()
    assert "stopped at the 1.5 s budget" in report.note()
    client.close()


def test_the_storage_report_on_a_cluster_is_per_node(redis_cluster_url: str) -> None:
    client = RedisCluster.from_url(redis_cluster_url)
    report_data(client)
    app = app_on(redis_cluster_url, cluster=True)
    report = run_json(app, "storage")
    assert len(report["nodes"]) == 3
    assert sum(node["keys"] for node in report["nodes"]) == report["total"]["keys"]
    assert all(node["keys"] > 0 and node["complete"] for node in report["nodes"])
    client.close()
