"""The demo shop: the four ways to register events, generated data, a local dashboard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from examples import demo_app
from examples.demo_app import create_app, generate_demo_data
from flask_bitmapist import current_state
from flask_bitmapist.domain import EventRef, Period, TimeGroup
from tests.integration.servers import find_free_port

USERS = 200


@pytest.fixture
def app() -> Flask:
    return create_app({"TESTING": False, "DEMO_USERS": USERS, "DEMO_DAYS": 30})


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def today(app: Flask, event: str) -> list[int]:
    with app.app_context():
        state = current_state()
        period = Period.containing(TimeGroup.DAY, state.now())
        return list(state.engine.users(EventRef(event), period))


def month_or_earlier(app: Flask, event: str) -> set[int]:
    with app.app_context():
        state = current_state()
        month = Period.containing(TimeGroup.MONTH, state.now())
        months = [month.shift(-1), month]
        users = state.engine.users_by_period(EventRef(event), months)
        return set().union(*(set(bitmap) for bitmap in users.values()))


def test_the_app_starts_with_generated_history(app: Flask) -> None:
    assert app.config["DEMO_GENERATED"] > USERS
    assert month_or_earlier(app, "user:created") == set(range(1, USERS + 1))
    with app.app_context():
        names = current_state().repository.event_names()
    assert {"user:created", "user:logged_in", "user:logged_out", "user:paid"} <= names


def test_storage_that_already_has_the_demo_data_is_not_filled_again(app: Flask) -> None:
    with app.app_context():
        assert generate_demo_data() == 0


def test_signing_up_marks_created_through_the_mixin_and_logged_in_through_flask_login(
    app: Flask, client: FlaskClient
) -> None:
    response = client.post("/signup", data={"name": "ada"})
    assert response.status_code == 302
    new_id = USERS + 1
    assert new_id in today(app, "user:created")
    assert new_id in today(app, "user:logged_in")
    page = client.get("/").get_data(as_text=True)
    assert f"Hello ada (user {new_id}, plan free)" in page


def test_paying_marks_paid_through_the_decorator_and_updated_through_the_mixin(
    app: Flask, client: FlaskClient
) -> None:
    client.post("/signup", data={"name": "ada"})
    assert USERS + 1 not in today(app, "user:paid")
    client.post("/pay")
    assert USERS + 1 in today(app, "user:paid")
    assert USERS + 1 in today(app, "user:updated")


def test_a_refund_is_marked_by_the_function_only_after_a_payment(
    app: Flask, client: FlaskClient
) -> None:
    client.post("/signup", data={"name": "ada"})
    client.post("/refund")
    assert USERS + 1 not in today(app, "user:refunded")
    client.post("/pay")
    client.post("/refund")
    assert USERS + 1 in today(app, "user:refunded")


def test_logging_out_and_in_again_is_marked(app: Flask, client: FlaskClient) -> None:
    client.post("/signup", data={"name": "ada"})
    client.post("/logout")
    assert USERS + 1 in today(app, "user:logged_out")
    client.post("/signup", data={"name": "bob"})
    client.post("/logout")
    client.post("/login", data={"name": "ada"})
    assert "Hello ada" in client.get("/").get_data(as_text=True)
    assert client.post("/login", data={"name": "nobody"}).status_code == 302
    assert "No user called &#39;nobody&#39;" in client.get("/").get_data(as_text=True)


def test_the_dashboard_is_served_to_this_machine_only(app: Flask, client: FlaskClient) -> None:
    assert client.get("/bitmapist/cohort").status_code == 200
    remote = client.get("/bitmapist/cohort", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403


def test_main_serves_on_loopback_and_prints_the_cohort_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: dict[str, object] = {}
    monkeypatch.setenv("PORT", "5123")
    monkeypatch.setenv("DEMO_USERS", "50")
    monkeypatch.setenv("DEMO_DAYS", "10")
    monkeypatch.setattr(Flask, "run", lambda self, **kwargs: served.update(kwargs))
    demo_app.main()
    assert served["host"] == "127.0.0.1"
    assert served["port"] == 5123
    out = capsys.readouterr().out
    assert "Cohort page: http://127.0.0.1:5123/bitmapist/cohort\n" in out
    assert f"An example:  http://127.0.0.1:5123{demo_app.EXAMPLE_COHORT}\n" in out
    assert "of 50 users over 10 days in memory://." in out


def test_the_example_cohort_shows_weekly_retention_of_sign_ups(client: FlaskClient) -> None:
    page = client.get(demo_app.EXAMPLE_COHORT)
    assert page.status_code == 200
    assert "10 week cohorts" in page.get_data(as_text=True)
    query = demo_app.EXAMPLE_COHORT.split("?", 1)[1]
    data = client.get(f"/bitmapist/api/cohort?{query}").get_json()
    assert len(data["totals"]) == 10
    # Every generated user logs in on the day they sign up, so week 0 holds the whole row.
    recent = [(t, row) for t, row in zip(data["totals"], data["cells"], strict=True) if t][-4:]
    assert len(recent) == 4
    assert all(row[0] == total for total, row in recent)


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_main_refuses_a_bad_port(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    monkeypatch.setenv("PORT", port)
    with pytest.raises(SystemExit, match=f"PORT must be a TCP port number .* got '{port}'"):
        demo_app.main()


def test_a_bad_number_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_USERS", "lots")
    with pytest.raises(ValueError, match="DEMO_USERS must be a whole number, got 'lots'"):
        create_app()


def test_generated_history_ends_today() -> None:
    app = create_app({"DEMO_USERS": 30, "DEMO_DAYS": 3})
    # 30 sign-ups over 3 days: about ten of them today, the last ids.
    assert today(app, "user:created")[-1] == 30


def test_with_its_redis_down_the_demo_still_starts_and_its_cli_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"redis://127.0.0.1:{find_free_port()}/0"
    app = create_app({"BITMAPIST_REDIS_URL": url})
    assert app.config["DEMO_GENERATED"] == 0
    assert app.test_client().get("/").status_code == 200
    result = app.test_cli_runner().invoke(args=["bitmapist", "events"])
    assert result.exit_code == 1
    assert f"Error: storage at {url} is unavailable" in result.output
    monkeypatch.setenv("BITMAPIST_REDIS_URL", url)
    with pytest.raises(
        SystemExit, match=r"Start that Redis \(or repair that file\), or unset BITMAPIST_REDIS_URL"
    ):
        demo_app.main()


def test_on_its_file_the_demo_generates_once_and_its_cli_reads_the_dashboards_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BITMAPIST_REDIS_URL")  # the demo's default: sqlite:///demo.db
    monkeypatch.delenv("DEMO_DATABASE_URL")  # and its shop in sqlite:///shop.db
    config = {"DEMO_USERS": 60, "DEMO_DAYS": 10}
    first = create_app(config, instance_path=str(tmp_path))
    assert first.config["DEMO_GENERATED"] > 60
    assert (tmp_path / "demo.db").is_file()
    assert (tmp_path / "shop.db").is_file()  # the shop's users are kept too
    dashboard = first.test_client().get("/bitmapist/api/trend?expr=user:created&periods=10")
    assert dashboard.status_code == 200, dashboard.text
    # A restart, or the CLI in another process: the same file, no new data.
    again = create_app(config, instance_path=str(tmp_path))
    assert again.config["DEMO_GENERATED"] == 0
    result = again.test_cli_runner().invoke(
        args=["bitmapist", "trend", "user:created", "--periods", "10", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert sum(json.loads(result.stdout)["series"][0]["counts"]) == 60
    assert sum(dashboard.get_json()["series"][0]["counts"]) == 60


def test_main_on_its_file_prints_cli_commands_that_read_the_same_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BITMAPIST_REDIS_URL", f"sqlite:///{tmp_path}/demo.db")
    monkeypatch.setenv("DEMO_DATABASE_URL", f"sqlite:///{tmp_path}/shop.db")
    monkeypatch.setenv("DEMO_USERS", "20")
    monkeypatch.setenv("DEMO_DAYS", "3")
    monkeypatch.setattr(Flask, "run", lambda self, **kwargs: None)
    demo_app.main()
    out = capsys.readouterr().out
    assert f"in sqlite:///{tmp_path}/demo.db." in out
    assert "  flask --app examples.demo_app bitmapist events\n" in out


def test_the_server_and_the_cli_use_one_instance_folder_whatever_the_import_name() -> None:
    # `python -m examples.demo_app` names the app __main__, `flask --app` examples.demo_app:
    # Flask's default instance folders differ, and the CLI would read another file.
    root = Path(demo_app.__file__).resolve().parents[1]
    assert create_app().instance_path == str(root / "instance") == demo_app.DEMO_INSTANCE
