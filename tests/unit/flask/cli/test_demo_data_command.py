"""``flask bitmapist demo-data``: generated activity written into the app's storage."""

from __future__ import annotations

from datetime import datetime, timezone

from flask_bitmapist.infra import InMemoryRepository
from flask_bitmapist.services.demo_data import DemoDataSpec, generate_demo_marks
from tests.unit.flask.cli.support import NOW, Cli, assert_clean_failure, make_app


def test_demo_data_writes_every_generated_mark_into_the_store(cli: Cli) -> None:
    result = cli("demo-data", "--days", "30", "--users", "400", "--seed", "3")
    assert result.exit_code == 0, result.output
    marks = list(generate_demo_marks(DemoDataSpec.create(now=NOW, days=30, users=400, seed=3)))
    assert (
        f"Wrote {len(marks):,} events of 400 users over 30 days (2026-10-29 to 2026-11-27) "
        "into memory://." in result.stdout
    )
    october = datetime(2026, 10, 29, tzinfo=timezone.utc)
    november = cli.users("user:created", "month")
    assert sorted(cli.users("user:created", "month", october) + november) == list(range(1, 401))
    assert cli.repository.event_names() == {m.event for m in marks}
    today = sorted({m.user_id for m in marks if m.event == "user:paid" and m.moment.day == 27})
    assert cli.users("user:paid", "day") == today


def test_demo_data_warns_that_memory_storage_ends_with_the_command(cli: Cli) -> None:
    result = cli("demo-data", "--days", "2", "--users", "5")
    assert "memory:// is an in-process store" in result.stderr


def test_demo_data_asks_before_writing_into_redis() -> None:
    repository = InMemoryRepository()
    cli = Cli(
        make_app(
            repository_factory=lambda settings: repository,
            BITMAPIST_REDIS_URL="redis://:secret@cache:6379/0",
        )
    )
    refused = cli("demo-data", "--days", "2", "--users", "5", input="n\n")
    assert_clean_failure(refused, 1, "into redis://:***@cache:6379/0", "Aborted")
    assert "secret" not in refused.output
    assert repository.event_names() == frozenset()
    accepted = cli("demo-data", "--days", "2", "--users", "5", "--yes")
    assert accepted.exit_code == 0, accepted.output
    assert "user:created" in repository.event_names()


def test_bad_demo_data_arguments_are_usage_errors(cli: Cli) -> None:
    assert_clean_failure(cli("demo-data", "--days", "0"), 2, "--days", "0")
    assert_clean_failure(cli("demo-data", "--users", "many"), 2, "--users", "'many'")
    assert cli.repository.event_names() == frozenset()
