"""The package top lists each public name once (its imports for type checkers); the lazy
loading, ``__all__`` and ``dir()`` all read that one list. Beside the layers it holds only
the API, the errors and thin public paths (0.1's modules, the testing kit's)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import flask_bitmapist


def imported_names() -> dict[str, str]:
    """Each name the package top's TYPE_CHECKING block imports, and its module."""
    tree = ast.parse(inspect.getsource(flask_bitmapist))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {
        alias.name: str(node.module)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def test_every_imported_name_is_public_and_loads_from_its_module() -> None:
    names = imported_names()
    assert {"FlaskBitmapist", "get_cohort", "get_trend", "BitmapistError"} <= set(names)
    assert flask_bitmapist.__all__ == sorted(names)
    for name, module in names.items():
        assert getattr(flask_bitmapist, name) is getattr(importlib.import_module(module), name)
    assert set(names) <= set(dir(flask_bitmapist))


def test_a_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from flask_bitmapist import *", namespace)
    assert set(flask_bitmapist.__all__) <= set(namespace)


#: What may sit at the package top beside the layers' packages (DESIGN sections 2, 7 and
#: 16): the public API, the errors, 0.1's module paths, and the testing kit's public path.
TOP_MODULES = {
    "__init__",
    "exceptions",
    "core",
    "decorators",
    "mixins",
    "utils",
    "views",
    "testing",
}
#: The layers, and 0.1's ``flask_bitmapist.extensions.flask_login``.
TOP_PACKAGES = {"domain", "infra", "services", "flask", "extensions"}
#: The modules that only give public names a path: they define nothing (a lazy
#: ``__getattr__`` forwarding to the name's home aside).
THIN = TOP_MODULES - {"__init__", "exceptions"} | {"extensions/__init__", "extensions/flask_login"}


def test_the_package_top_holds_the_api_the_errors_and_thin_public_paths() -> None:
    root = Path(inspect.getfile(flask_bitmapist)).parent
    assert {p.stem for p in root.glob("*.py")} == TOP_MODULES
    assert {p.name for p in root.iterdir() if (p / "__init__.py").is_file()} == TOP_PACKAGES
    for name in sorted(THIN):
        tree = ast.parse((root / f"{name}.py").read_text())
        defined = [
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]
        assert set(defined) <= {"__getattr__"}, (name, defined)
