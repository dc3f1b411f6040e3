"""Flask-Login and SQLAlchemy are extras: the core works without them, and using an
integration whose extra is missing raises an error naming the extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from flask_bitmapist import BitmapistError, MissingExtra
from flask_bitmapist.flask.extras import import_extra, is_missing

# A fresh interpreter in which Flask-Login and SQLAlchemy cannot be imported, as when
# `pip install flask-bitmapist` installed no extra.
SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import sys

    BLOCKED = {"flask_login", "sqlalchemy", "flask_sqlalchemy"}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())

    from flask import Flask

    import flask_bitmapist
    from flask_bitmapist import FlaskBitmapist, MissingExtra, get_event_data, mark, mark_event

    try:
        flask_bitmapist.Bitmapistable
    except MissingExtra as exc:
        print("Bitmapistable:", exc)

    app = Flask("no-extras")
    app.config.update(TESTING=True, BITMAPIST_REDIS_URL="memory://")
    FlaskBitmapist().init_app(app)

    @app.route("/someone")
    @mark("page:viewed", 7)
    def someone():
        return "ok"

    @app.route("/current-user")
    @mark("page:viewed")
    def current_user():
        return "ok"

    client = app.test_client()
    print("with an id:", client.get("/someone").status_code)
    try:
        client.get("/current-user")
    except MissingExtra as exc:
        print("@mark:", exc)
    with app.app_context():
        mark_event("page:viewed", 8)
        print("read:", sorted(get_event_data("page:viewed", "days")))
    print("loaded:", sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED))
    """
)


@pytest.fixture(scope="module")
def without_extras() -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines())


def test_bitmapistable_without_sqlalchemy_names_the_extra(without_extras: dict[str, str]) -> None:
    assert without_extras["Bitmapistable"] == (
        "Bitmapistable needs sqlalchemy, which is not installed: "
        "pip install 'flask-bitmapist[sqlalchemy]'"
    )


def test_mark_without_an_id_and_without_flask_login_names_the_extra(
    without_extras: dict[str, str],
) -> None:
    assert without_extras["@mark"] == (
        "@mark without a uuid (it marks the current Flask-Login user) needs flask_login, "
        "which is not installed: pip install 'flask-bitmapist[login]'"
    )


def test_the_core_marks_and_reads_without_the_extras(without_extras: dict[str, str]) -> None:
    # init_app connected no login signals, @mark with an id and mark_event both wrote.
    assert without_extras["with an id"] == "200"
    assert without_extras["read"] == "[7, 8]"
    assert without_extras["loaded"] == "[]"


def test_missing_extra_is_an_import_error_of_the_package() -> None:
    assert issubclass(MissingExtra, BitmapistError)
    assert issubclass(MissingExtra, ImportError)


def test_a_package_that_fails_while_importing_is_not_called_missing() -> None:
    # Only "no module named X" means the extra is missing; anything else is re-raised.
    assert is_missing(
        ModuleNotFoundError("No module named 'sqlalchemy'", name="sqlalchemy"), "sqlalchemy"
    )
    assert is_missing(ModuleNotFoundError("x", name="sqlalchemy.orm"), "sqlalchemy")
    assert not is_missing(ModuleNotFoundError("x", name="greenlet"), "sqlalchemy")
    assert not is_missing(ImportError("cannot import name 'x'", name="sqlalchemy"), "sqlalchemy")


def test_an_installed_extra_is_imported() -> None:
    assert import_extra("flask_login", "login", "the test").__name__ == "flask_login"
    with pytest.raises(MissingExtra, match=r"pip install 'flask-bitmapist\[demo\]'"):
        import_extra("flask_bitmapist_no_such_module", "demo", "the test")
