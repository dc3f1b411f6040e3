"""0.1's module paths keep working (DESIGN section 7): each 0.1 module is a thin module at
the package top that re-exports its names from their home and says so.

0.1's own tests import ``from flask_bitmapist.mixins import Bitmapistable``, the only way
0.1 offered the mixin; each import runs here in a fresh interpreter, as 0.1 code would.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from flask import Flask

import flask_bitmapist
from flask_bitmapist import FlaskBitmapist

PACKAGE = Path(flask_bitmapist.__file__).parent

#: 0.1's module, the names in it, and the module they live in now.
MODULES = {
    "flask_bitmapist.core": (["FlaskBitmapist"], "flask_bitmapist.flask.extension"),
    "flask_bitmapist.decorators": (["mark"], "flask_bitmapist.flask.tracking"),
    "flask_bitmapist.mixins": (["Bitmapistable"], "flask_bitmapist.flask.mixins"),
    "flask_bitmapist.utils": (
        ["get_event_data", "get_cohort", "chain_events"],
        "flask_bitmapist.flask.query",
    ),
    "flask_bitmapist.views": (["bitmapist_bp"], "flask_bitmapist.flask.dashboard.views"),
    "flask_bitmapist.extensions.flask_login": (
        ["mark_login", "mark_logout"],
        "flask_bitmapist.flask.signals",
    ),
}


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_name_imports_from_its_0_1_module_in_a_fresh_interpreter(module: str) -> None:
    names, home = MODULES[module]
    result = run(
        f"""
        import importlib
        from {module} import {", ".join(names)}
        home = importlib.import_module({home!r})
        for name in {names!r}:
            assert globals()[name] is getattr(home, name), name
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_0_1_modules_are_thin_re_exports_that_say_so() -> None:
    for module, (names, home) in MODULES.items():
        path = PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")
        tree = ast.parse(path.read_text())
        docstring = ast.get_docstring(tree) or ""
        assert "re-exports" in docstring and home in docstring, module
        body = tree.body[1:]  # after the docstring
        imports = [node for node in body if isinstance(node, ast.ImportFrom)]
        others = [node for node in body if not isinstance(node, ast.ImportFrom | ast.Assign)]
        assert others == [], module
        assert {node.module for node in imports} == {"__future__", home}, module
        exported = [alias.name for node in imports if node.module == home for alias in node.names]
        assert sorted(exported) == sorted(names), module


def test_the_mixins_module_without_sqlalchemy_names_the_extra() -> None:
    result = run(
        """
        import importlib.abc, sys

        class Blocker(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "sqlalchemy":
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, Blocker())
        from flask_bitmapist.exceptions import MissingExtra
        try:
            from flask_bitmapist.mixins import Bitmapistable
        except MissingExtra as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'flask-bitmapist[sqlalchemy]'" in result.stdout


def test_0_1_blueprint_serves_an_app_that_registers_it_itself() -> None:
    from flask_bitmapist.views import bitmapist_bp

    app = Flask("registers-0-1-blueprint")
    app.config.update(
        TESTING=True, BITMAPIST_REDIS_URL="memory://", BITMAPIST_DISABLE_BLUEPRINT=True
    )
    FlaskBitmapist(app)
    app.register_blueprint(bitmapist_bp, url_prefix="/admin/bitmapist")
    client = app.test_client()
    assert client.get("/bitmapist/").status_code == 404
    response = client.get("/admin/bitmapist/api/cohort?primary=a&secondary=b")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json is not None and "cells" in response.json
