"""The release: the sdist and the wheel built from it, their metadata checked as PyPI
would, and the wheel installed without extras into a clean virtualenv, where the core
marks, reads and computes a cohort on ``memory://`` and the dashboard renders from the
templates and static files inside it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "flask_bitmapist" / "flask" / "dashboard"

# Runs in the clean virtualenv, from a directory outside the repository.
SCRIPT = textwrap.dedent(
    """
    import hashlib
    import json
    import sys
    from datetime import datetime, timezone
    from importlib import metadata

    from flask import Flask

    import flask_bitmapist
    from flask_bitmapist import (
        FlaskBitmapist, MissingExtra, get_cohort, get_event_data, mark, mark_event,
    )

    report = {"module": flask_bitmapist.__file__}
    report["installed"] = sorted(d.metadata["Name"].lower() for d in metadata.distributions())

    app = Flask("installed")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL="memory://")
    FlaskBitmapist().init_app(app)

    @app.route("/current-user")
    @mark("page:viewed")
    def current_user():
        return "ok"

    now = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
    yesterday = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)
    with app.app_context():
        for user in (1, 2, 3):
            mark_event("user:signed_up", user, now=yesterday)
        for user in (2, 3, 4):
            mark_event("user:active", user, now=now)
        report["read"] = sorted(get_event_data("user:active", "days", now=now))
        cohort, _, totals = get_cohort(
            "user:signed_up", "user:active", time_group="days", num_rows=2, num_cols=2, now=now
        )
        report["cohort"] = [cohort, totals]

    client = app.test_client()
    page = client.get("/bitmapist/cohort")
    report["page"] = [page.status_code, page.get_data(as_text=True)]
    report["static"] = {}
    for name in ("dashboard.css", "dashboard.js"):
        response = client.get(f"/bitmapist/static/bitmapist/{name}")
        report["static"][name] = [
            response.status_code, hashlib.sha256(response.get_data()).hexdigest()
        ]
        response.close()

    try:
        client.get("/current-user")
    except MissingExtra as exc:
        report["@mark"] = str(exc)
    try:
        flask_bitmapist.Bitmapistable
    except MissingExtra as exc:
        report["Bitmapistable"] = str(exc)

    meta = metadata.metadata("flask-bitmapist")
    report["metadata"] = {key: meta.get_all(key) for key in set(meta.keys())}
    report["files"] = sorted(str(f) for f in metadata.distribution("flask-bitmapist").files)
    print(json.dumps(report))
    """
)


def run(*command: str | Path, cwd: Path = ROOT) -> str:
    """Run ``command``; its stdout, or a failure showing its output."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, as `make dist` builds them (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    [wheel] = dist.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the script above saw in a clean virtualenv holding the wheel and no extras."""
    place = tmp_path_factory.mktemp("clean")
    venv = place / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", wheel)
    report: dict[str, Any] = json.loads(run(python, "-c", SCRIPT, cwd=place))
    return report


def test_the_metadata_is_valid_for_pypi(dist: Path) -> None:
    artifacts = sorted(dist.iterdir())
    assert sorted(path.suffix for path in artifacts) == [".gz", ".whl"]
    output = run(sys.executable, "-m", "twine", "check", "--strict", *artifacts)
    assert output.count("PASSED") == 2, output


def test_the_wheel_is_installed_without_any_extra(installed: dict[str, Any]) -> None:
    assert "/venv/" in installed["module"]  # not this checkout
    assert "flask-bitmapist" in installed["installed"]
    for extra in ("flask-login", "sqlalchemy", "bitmapist", "fakeredis"):
        assert extra not in installed["installed"]


def test_the_core_marks_reads_and_computes_a_cohort(installed: dict[str, Any]) -> None:
    assert installed["read"] == [2, 3, 4]
    cohort, totals = installed["cohort"]
    assert totals == [3, 0]
    assert cohort == [[0, 2], [None, None]]


def test_the_dashboard_renders_from_the_installed_templates_and_static_files(
    installed: dict[str, Any],
) -> None:
    status, html = installed["page"]
    assert status == 200
    assert "<h1>Cohorts</h1>" in html
    assert "/bitmapist/static/bitmapist/dashboard.css" in html
    for name, (status, digest) in installed["static"].items():
        assert status == 200, name
        source = DASHBOARD / "static" / "bitmapist" / name
        assert digest == hashlib.sha256(source.read_bytes()).hexdigest(), name


def test_the_integrations_name_their_missing_extras(installed: dict[str, Any]) -> None:
    assert "pip install 'flask-bitmapist[login]'" in installed["@mark"]
    assert "pip install 'flask-bitmapist[sqlalchemy]'" in installed["Bitmapistable"]


def test_the_metadata_says_what_pyproject_declares(installed: dict[str, Any]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    meta: dict[str, list[str]] = installed["metadata"]
    assert meta["Name"] == ["flask-bitmapist"]
    assert meta["Version"] == [project["version"]]
    assert meta["License-Expression"] == ["MIT"]
    assert meta["Author"] == ["Flask-Bitmapist contributors"]
    assert meta["Requires-Python"] == [">=3.10"]
    assert set(meta["Provides-Extra"]) >= {"login", "sqlalchemy", "all", "test", "dev"}
    core = [r for r in meta["Requires-Dist"] if "extra ==" not in r]
    assert sorted(core) == sorted(project["dependencies"])
    assert not any(r.lower().startswith("bitmapist") for r in core)
    urls = {url.split(",")[0] for url in meta["Project-URL"]}
    assert {"Documentation", "Changelog", "Issues"} <= urls
    assert "Programming Language :: Python :: 3.11" in meta["Classifier"]
    assert any(path.endswith("licenses/LICENSE") for path in installed["files"])
    templates = [f for f in installed["files"] if "/dashboard/templates/bitmapist/" in f]
    assert len(templates) == len(list((DASHBOARD / "templates" / "bitmapist").iterdir()))
