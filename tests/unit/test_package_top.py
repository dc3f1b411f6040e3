"""The package top lists each public name once (its imports for type checkers); the lazy
loading, ``__all__`` and ``dir()`` all read that one list."""

from __future__ import annotations

import ast
import importlib
import inspect

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
